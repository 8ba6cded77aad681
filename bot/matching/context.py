"""Follow-ups: short messages that only make sense with the answer just given.

"warum?", "und bei Instagram?", "und in der Schweiz?", "ist das beschlossen?", "why?",
"and on Instagram?": read alone they name no topic or the wrong one. Read with the node the
user is at (its title joins the question) and with that node and the topics it offers
ranked up a little, they land on the right neighbour. A node may name its answer to "why?"
(``why`` in the content), which then decides.

A short message that names nothing of its own ("bist du sicher?", "welche denn?", "who did
it?", "really not?") can only be about the page just read. Names nothing: at most
``BARE_WORDS`` words, none of which (small words aside) is a word the content names a topic
with (the nodes' titles and one-word keywords: "Köln", "Formular", "Instagram"; the names of
the bot's commands: "Hilfe") or a word the content never uses (an unknown word names
something it does not know), no number, and it is no yes or no ("nein" answers).
Where nothing else answers it (the matcher would say it did not understand), the page does,
unless it is an off-topic request (:func:`off_topic_reading`: "und das Wetter?", "what's the
time?", "tell me a joke"), which takes its meaning (without the dense signal, the rule does
not apply); the engine then shows the page's details when it has them. Not at
the menu, at a page a fallback only suggested, or at a checklist question: there is no page
that was read. A reading of its own (a neighbour, a clarifying question) comes first: "wie
lange haben die Zeit?" names nothing either and asks about the next page.

The session state is the context: the engine passes the node the user is at; nothing here
keeps state of its own.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from bot import lang as lang_data
from bot.content.models import Content
from bot.matching.answers import apps
from bot.matching.clauses import SENTENCE
from bot.matching.lexical import OFF_TOPIC_CLOSE
from bot.matching.text import Lexicon, content_words, fold, stem, words

_LANGUAGES = lang_data.languages()
_MAX_WORDS = 7
"""Longer messages say what they ask about themselves."""
_MAX_TOPICAL = 3
"""A follow-up names at most this many topical words ("und bei Instagram" names one)."""
WHY_BOOST = 2.0
"""Ranking bonus of the node and its neighbours for "warum?": they decide among themselves."""
CONTEXT_BOOST = 0.6
"""Ranking bonus of the node the user is at and of the topics it offers (the best node
scores about 4): enough to decide between neighbours, too little to beat a clear topic."""
PARENT_WEIGHT = 0.9
"""How much a page that offers the one the user is at counts for a short message, against
the page itself and its options (1)."""
SIBLING_WEIGHT = 0.8
"""How much another option of such a page counts."""
NEAR_WORDS = 9
"""A message of at most this many words may lean on the page the user is at ("wie
widerspreche ich denn?", "and do I have to give a reason?")."""
NEAR_COVERED = 0.75
"""A short message whose words the best node explains less than this share of ...
"""
NEAR_DENSE_OFF = -0.035
"""... and whose meaning is (almost) as close to the off-topic requests as to the best node
(the cosine of the off-topic class minus the node's, from this on) is not read in context."""
NEAR_SCORE = 2.2
"""The ranking score (the best node scores about 4 to 5) from which a neighbour's own words
answer a short message on their own: "Grund" names the form's reason field."""
BARE_WORDS = 6
"""A message of at most this many words that names nothing of its own ("bist du sicher?",
"who did it?", "und was heißt das für mich?") is about the page just read."""
OPTION_SURE = 0.4
"""A follow-up whose best reading is a topic the page just read offers needs only this
confidence (the bar is 0.7 or more): the page already pointed there ("y si les pido q lo
borren ellos?" after the page on deleting posts asks for the right to erasure)."""
NEAR_AHEAD = 0.85
"""How far the next neighbour must stay behind (a share of the best one's score): where two
neighbours fit about as well, the words do not say which one is meant."""


@dataclass(frozen=True)
class FollowUp:
    """A follow-up read in context: the text to rank and the ranking bonus per node id."""

    text: str
    boost: dict[str, float]
    why: str | None = None
    """The node the content names as the answer to "why?" here, if the follow-up asks that."""
    here: str | None = None
    """The node that answers it whatever the ranking says: the page itself for "und bei
    Instagram?" after a page about all of Meta's apps."""
    only_here: bool = False
    """Whether only the context can say what it asks ("warum?" alone is about anything)."""
    sure: bool = True
    """Whether the page's neighbours may answer it on little evidence; if not, it is
    answered only by a page it gives a bonus to, and only when the ranking is sure."""


def _opens(ws: list[str], data: lang_data.Language) -> int:
    """How many words of ``ws`` open it as a follow-up ("und", "what about"), 0 if none."""
    if ws and ws[0] in data.follow_up_starts:
        return 1
    for size in (4, 3, 2):
        if " ".join(ws[:size]) in data.follow_up_phrases:
            return size
    return 0


def is_conditional(text: str, lang: str) -> bool:
    """Whether ``text`` asks about a case of the topic just read ("und wenn sie schon 16
    sind?", "what if I don't?"): a condition word among its first three words."""
    data = _LANGUAGES.get(lang)
    if data is None:
        return False
    ws = words(text)
    # A condition word may be elided into two words: "et s'ils refusent ?" ("s", "ils").
    said = [words(c) for c in data.condition_words]
    return any(ws[i : i + len(c)] == c for c in said for i in range(3))


def is_follow_up(text: str, lang: str) -> bool:
    """Whether ``text`` reads as a follow-up: short, and it starts like one ("und ...",
    "and ...", "what about ..."), asks only "why", asks about a case ("und wenn ...?") or
    points back ("ist das beschlossen?")."""
    data = _LANGUAGES.get(lang)
    ws = words(text)
    if data is None or not ws or len(ws) > _MAX_WORDS:
        return False
    small = data.reference_words | _instead_words(data) | data.condition_words | data.negations
    topical = [w for w in content_words(text, lang) if w not in small]
    if len(topical) > _MAX_TOPICAL:
        return False
    if is_why(text, lang) or is_conditional(text, lang):
        return True
    pointing = bool(_opens(ws, data)) or any(w in data.reference_words for w in ws)
    return pointing or _asks_instead(ws, data)


def _asks_instead(ws: list[str], data: lang_data.Language) -> bool:
    """Whether the words ``ws`` ask for another way ("stattdessen", "any other way")."""
    return any(w in data.instead_words for w in ws) or bool(_phrases_in(ws, data.instead_phrases))


def _phrases_in(ws: list[str], phrases: frozenset[str]) -> list[str]:
    """The ``phrases`` the words ``ws`` say, each as whole words ("por qué" in "y por qué")."""
    joined = f" {' '.join(ws)} "
    return [p for p in phrases if f" {p} " in joined]


def _instead_words(data: lang_data.Language) -> frozenset[str]:
    """The words that ask for another way, those of its phrases too."""
    return data.instead_words | frozenset(w for p in data.instead_phrases for w in p.split())


def is_why(text: str, lang: str) -> bool:
    """Whether ``text`` only asks why ("warum?", "und wieso?", "why though", "mit welcher
    Begründung?")."""
    data = _LANGUAGES.get(lang)
    if data is None:
        return False
    ws = words(text)
    asks_reason = any(w in data.reason_words for w in ws) and any(
        w in data.reason_questions for w in ws
    )
    phrased = _phrases_in(ws, data.why_phrases)
    if not asks_reason and not phrased and not any(w in data.why_words for w in ws):
        return False
    said = {w for p in phrased for w in p.split()}
    rest = [
        w
        for w in ws
        if w not in said
        and w not in data.follow_up_starts
        and w not in data.reference_words
        and w not in data.why_words
        and w not in data.reason_words
        and w not in data.reason_questions
        and w not in data.negations  # "warum nicht?"
    ]
    return len(content_words(" ".join(rest), lang)) <= 1


def follow_up(content: Content, node_id: str | None, text: str, lang: str) -> FollowUp | None:
    """``text`` read as a follow-up to node ``node_id``; ``None`` when it is none (or the
    user is at the menu, where there is nothing to follow up).

    "warum?" stays with the node and the topics it offers (``WHY_BOOST``): a generic "why
    does Meta do this" is not what was asked. "und bei Instagram?" moves on to a neighbour:
    the node itself gets no bonus, and the apps its title names make way for the one asked
    about.
    "und wenn ...?" asks about a case of the page: read with it."""
    node = content.nodes.get(node_id or "")
    data = _LANGUAGES.get(lang)
    if node is None or data is None or node.id == content.meta.root:
        return None
    if node.how in content.nodes and _only_how(text, data):
        # "how?", "ok how", "und wie?" after a page that says what to do: how to do it.
        return FollowUp(text, {}, here=node.how)
    if not is_follow_up(text, lang):
        return None
    neighbours = [o.to for o in node.options if o.to != content.meta.root]
    title = node.title.get(lang, "")
    if is_why(text, lang):
        boost = dict.fromkeys([node.id, *neighbours], WHY_BOOST)
        return FollowUp(f"{text} {title}", boost, node.why, only_here=True)
    ws = words(text)
    if _asks_instead(ws, data):
        # "was kann ich stattdessen tun?": another way than the page; the one its authors
        # name, else the best fit among what it offers, read with its title ("stattdessen"
        # of what), never the page again. "kann ich stattdessen widersprechen?" names the
        # way: read by its own words, with the pages around ahead.
        if _names_a_way(text, lang):
            around = neighbourhood(content, node.id)
            boost = {n: CONTEXT_BOOST * w for n, w in around.items()} | {node.id: -CONTEXT_BOOST}
            # Without its "instead": that points back, it does not say which way ("opt-out
            # instead of opt-in, allowed?" asks about the legal basis).
            pointer = _instead_words(data)
            return FollowUp(" ".join(w for w in ws if w not in pointer) or text, boost)
        if node.instead in content.nodes:
            return FollowUp(text, {}, here=node.instead)
        boost = dict.fromkeys(neighbours, WHY_BOOST) | {node.id: -WHY_BOOST}
        return FollowUp(f"{text} {title}", boost, only_here=True)
    unnamed = (
        data.reference_words | data.condition_words | data.question_words | data.follow_up_starts
    )
    named = [w for w in content_words(text, lang) if w not in unnamed]
    staying = FollowUp(
        f"{text} {title}", dict.fromkeys(neighbours, CONTEXT_BOOST) | {node.id: CONTEXT_BOOST}
    )
    if node.if_not in content.nodes and _asks_if_not(content, node.id, text, lang):
        return FollowUp(text, {}, here=node.if_not)
    if (
        node.how is not None
        and node.how in content.nodes
        and _asks_how(content, node.how, text, lang)
    ):
        return FollowUp(text, {}, here=node.how)
    if is_conditional(text, lang):
        # "und wenn sie schon 16 sind?" after the page on children: a case of that page,
        # answered by it if its words fit, else not understood ("what if I don't?" is no
        # question for the page's neighbours).
        return FollowUp(staying.text, {node.id: 0.0}, sure=False)
    moves_on = bool(_opens(ws, data)) and bool(named)
    settled = _app_page(content, node.id, named, lang) if moves_on else None
    if settled is not None:
        return FollowUp(text, {}, here=settled)
    if moves_on and _title_names(title, named, lang):
        # "what about my whole account?" after "Delete posts or your account?": the page's
        # own title names what it asks about.
        return staying
    if moves_on:
        # "und die Hamburger?" after the Irish authority: something else than this page,
        # read by its own words (the page's title would pull it back here).
        # Any page around it may be meant ("und in der Schweiz?" after the page on countries
        # outside the EU: the Swiss page, which the page on countries offers), the closer
        # the more.
        around = neighbourhood(content, node.id)
        boost = {n: CONTEXT_BOOST * w for n, w in around.items()} | {node.id: -CONTEXT_BOOST}
        # "what about ...?" is as often a new question as a follow-up: the neighbours answer
        # it only when its words fit them, not on the context alone.
        return FollowUp(text, boost, sure=ws[0] in data.follow_up_starts)
    return staying


def _names_a_way(text: str, lang: str) -> bool:
    """Whether ``text``, asking for another way ("stattdessen"), names which one ("kann ich
    stattdessen widersprechen?"): a word that is no small word, question word, verb a
    question starts with or word for doing something ("was kann ich stattdessen tun?")."""
    vague = _vague_words(_LANGUAGES[lang])
    return any(w not in vague for w in content_words(text, lang))


def _vague_words(data: lang_data.Language) -> frozenset[str]:
    """Words that name nothing a page is about: small words (:func:`_small_words`), question
    words, the verbs a question starts with and words for doing ("kann", "tun", "what")."""
    return _small_words(data) | data.question_words | data.question_starters | data.doing_words


def _asks_if_not(content: Content, node_id: str, text: str, lang: str) -> bool:
    """Whether ``text`` asks what happens without doing what the page ``node_id`` explains
    ("what if I don't?", "und wenn ich das nicht mache?", "und wenn ich nicht widerspreche?"):
    a condition with a negation that names nothing else than the doing itself, in the words
    of the page's title or of the page the content names for it ("und wenn das Formular
    nicht lädt?" asks about the form)."""
    data = _LANGUAGES[lang]
    ws = words(text)
    if not is_conditional(text, lang) or not any(w in data.negations for w in ws):
        return False
    small = data.condition_words | data.negations | data.reference_words | data.question_words
    rest = [w for w in content_words(text, lang) if w not in small]
    if len(rest) > 1:
        return False
    node, target = content.nodes[node_id], content.nodes[content.nodes[node_id].if_not or ""]
    said = " ".join(
        [node.title.get(lang, ""), target.title.get(lang, ""), *target.questions.get(lang, [])]
    )
    known = {stem(w, lang) for w in words(said)}
    return all(stem(w, lang) in known for w in rest)


def asks_how_after_story(content: Content, node_id: str, text: str, lang: str) -> bool:
    """Whether the long message ``text`` tells what the page ``node_id`` speaks of and then
    only asks how to do it ("Meine Tochter sagt, Meta nimmt unsere Fotos für die KI und man
    muss widersprechen. Wie geht das?", "... et qu'il faut dire non. Je fais comment ?"):
    its last question (or last sentence), or that sentence's last part after a comma, asks
    as "wie mache ich das?" does after the page (:func:`_asks_how`), here without pointing
    back: the story before it is what it asks about."""
    target = how_page(content, node_id)
    if target is None or lang not in _LANGUAGES:
        return False
    sentences = [s for s in SENTENCE.findall(text) if words(s)]
    asking = [i for i, s in enumerate(sentences) if "?" in s]
    # The last question, not a "thanks" after it.
    at = asking[-1] if asking else len(sentences) - 1
    if at < 1:
        return False
    last = sentences[at]
    # A doing word or one that points back: "Waar of niet?" (true or not) asks no "where".
    said = _LANGUAGES[lang].doing_words | _LANGUAGES[lang].reference_words
    for part in dict.fromkeys((last, last.rsplit(",", 1)[-1])):
        ws = words(part)
        if (
            len(ws) <= _MAX_WORDS
            and any(w in said for w in ws)
            and _asks_how(content, target, part, lang, pointing=False)
        ):
            return True
    return False


def how_page(content: Content, node_id: str) -> str | None:
    """The page that says how to do what the page ``node_id`` speaks of: its ``how``, or the
    page itself where it is some page's ``how`` (the steps to object)."""
    node = content.nodes.get(node_id)
    if node is None:
        return None
    if node.how in content.nodes:
        return node.how
    return node_id if any(n.how == node_id for n in content.nodes.values()) else None


_OK = frozenset({"ok", "okay", "oke", "oké", "okej", "okey"})
""""ok" in the spellings of the seven languages: "ok, how?" asks only how."""


def _only_how(text: str, data: lang_data.Language) -> bool:
    """Whether ``text`` asks only how or where ("how?", "ok, how?", "und wie?", "wie
    denn?"): a word of ``how_words`` and nothing but the words that open a follow-up, point
    back, say please or yes."""
    ws = words(text)
    filler = (
        data.follow_up_starts
        | data.reference_words
        | data.please_words
        | {w for w in data.yes_words if " " not in w}
        | _OK
    )
    return any(w in data.how_words for w in ws) and all(
        w in data.how_words or w in filler for w in ws
    )


def _asks_how(
    content: Content, target: str, text: str, lang: str, *, pointing: bool = True
) -> bool:
    """Whether ``text`` asks how or where to do what the page ``target`` gives the steps
    for ("wie mache ich das?", "where do I do that?", "how do I stop that?"): a question
    word of ``how_words`` that points back (where ``pointing``) and names nothing else than
    the doing, in the words of ``target`` ("how do I ask for the reasons there?" names
    more)."""
    data = _LANGUAGES[lang]
    ws = words(text)
    if not any(w in data.how_words for w in ws):
        return False
    if pointing and not any(w in data.reference_words for w in ws):
        return False
    if is_conditional(text, lang):
        return False
    small = (
        data.condition_words
        | data.negations
        | data.reference_words
        | data.question_words
        | data.question_starters
        | data.doing_words
    )
    rest = [w for w in content_words(text, lang) if w not in small]
    if len(rest) > 1:
        return False
    page = content.nodes[target]
    said = " ".join([page.title.get(lang, ""), *page.questions.get(lang, [])])
    known = {stem(w, lang) for w in words(said)}
    return all(stem(w, lang) in known for w in rest)


def names_of_page(content: Content, node_id: str, text: str, lang: str) -> bool:
    """Whether ``text`` names something and only what the page ``node_id`` speaks of (in its
    title, text, example questions or keywords): "und Jugendliche?" of the page on children,
    unlike "wie mache ich das?", which names nothing."""
    data = _LANGUAGES.get(lang)
    node = content.nodes.get(node_id)
    if data is None or node is None:
        return False
    small = data.condition_words | data.negations | data.reference_words | data.question_words
    named = [w for w in content_words(text, lang) if w not in small]
    if not named:
        return False
    more = node.more.get(lang, "") if node.more is not None else ""
    said = " ".join(
        [
            node.title.get(lang, ""),
            node.text.get(lang, ""),
            more,
            *node.questions.get(lang, []),
            *node.keywords.get(lang, []),
        ]
    )
    known = {stem(w, lang) for w in words(said)}
    return all(stem(w, lang) in known for w in named)


TITLED_AT_MOST = 3
"""How many titles of a language a word may name to point to one of them: "form" names three
(the forms for third parties, questions about the form, a form that does not open), "AI" six."""

_TITLE_WORDS: weakref.WeakKeyDictionary[Content, dict[str, dict[str, int]]] = (
    weakref.WeakKeyDictionary()
)
"""Per content tree and language, in how many titles each stem is (made on first need)."""


def titled_option(content: Content, node_id: str, text: str, lang: str) -> str | None:
    """The one topic the page ``node_id`` offers whose title names a word of ``text`` that the
    page's own title does not and that few titles name (:data:`TITLED_AT_MOST`): "is there a
    form for that?" after the page on photos others post asks for the third-party form."""
    data = _LANGUAGES.get(lang)
    node = content.nodes.get(node_id)
    if data is None or node is None:
        return None
    per_lang = _TITLE_WORDS.setdefault(content, {})
    counts = per_lang.get(lang)
    if counts is None:
        counts = {}
        for n in content.nodes.values():
            for w in {stem(w, lang) for w in words(n.title.get(lang, ""))}:
                counts[w] = counts.get(w, 0) + 1
        per_lang[lang] = counts
    vague = _vague_words(data)
    named = [
        w
        for w in content_words(text, lang)
        if w not in vague and counts.get(stem(w, lang), 0) <= TITLED_AT_MOST
    ]
    if not named or _title_names(node.title.get(lang, ""), named, lang):
        return None
    offered = [o.to for o in node.options if o.to in content.nodes]
    own = [n for n in offered if _title_names(content.nodes[n].title.get(lang, ""), named, lang)]
    return own[0] if len(set(own)) == 1 else None


def _title_names(title: str, named: list[str], lang: str) -> bool:
    """Whether ``title`` names one of the words ``named`` (up to its stem), other than Meta
    and its apps, which many titles name."""
    said = {stem(w, lang) for w in words(title) if w not in lang_data.common().meta_words}
    return any(stem(w, lang) in said for w in named)


def _app_page(content: Content, node_id: str, named: list[str], lang: str) -> str | None:
    """The page a follow-up naming only apps ("und bei Instagram?", "and for insta?") asks
    about, if the page ``node_id`` settles it: the one topic it offers whose title names that
    app (after the page on private accounts, "und bei Facebook?" asks how to limit old
    Facebook posts), else the page itself where its title names no app (it is about all of
    them) and its text says what holds for that app. ``None`` where the page does not settle
    it: "und WhatsApp?" after a page that does not speak of WhatsApp moves on."""
    asked = apps(" ".join(named))
    if not asked or any(not apps(w) for w in named):
        return None
    node = content.nodes[node_id]
    own = [
        o.to
        for o in node.options
        if o.to in content.nodes and apps(content.nodes[o.to].title.get(lang, "")) & asked
    ]
    if own:
        return own[0] if len(own) == 1 else None
    if apps(node.title.get(lang, "")):
        return None
    more = node.more.get(lang, "") if node.more is not None else ""
    return node_id if asked <= apps(f"{node.text.get(lang, '')} {more}") else None


def neighbourhood(content: Content, node_id: str | None) -> dict[str, float]:
    """The nodes a short message at ``node_id`` may be about, each with how close it is: the
    node itself and the topics it offers (1), the pages that offer it (its parents,
    :data:`PARENT_WEIGHT`) and what those offer too (its siblings, :data:`SIBLING_WEIGHT`:
    "und muss ich einen Grund angeben?" after the e-mail field asks about the next field of
    the same form). Empty at the menu, at a checklist question or without a node."""
    node = content.nodes.get(node_id or "")
    root = content.meta.root
    if node is None or node.id == root or any(o.assign for o in node.options):
        # At a checklist question, typed text answers it (the engine reads "ja", "nö",
        # app names) or it is asked again: the pages around it are no answer.
        return {}
    parents = [
        n.id
        for n in content.nodes.values()
        if n.id != root and any(o.to == node.id for o in n.options)
    ]
    siblings = [o.to for p in parents for o in content.nodes[p].options]
    found: dict[str, float] = {}
    for ids, weight in (
        ([node.id, *(o.to for o in node.options)], 1.0),
        (parents, PARENT_WEIGHT),
        (siblings, SIBLING_WEIGHT),
    ):
        for n in ids:
            if n != root and n in content.nodes:
                found.setdefault(n, weight)
    return found


def nearest_neighbour(
    node_ids: list[str], scores: np.ndarray, related: tuple[int, ...], hood: dict[str, float]
) -> str | None:
    """The neighbour whose own words answer a short message, if one clearly does: the best
    of ``hood`` by ``scores`` (the message ranked without context) times its closeness,
    sharing a word with the message (``related``), from :data:`NEAR_SCORE` on and clearly
    ahead of the next neighbour (:data:`NEAR_AHEAD`)."""
    position = {n: i for i, n in enumerate(node_ids)}
    ranked = sorted(
        ((float(scores[position[n]]) * weight, n) for n, weight in hood.items() if n in position),
        key=lambda pair: -pair[0],
    )
    if not ranked:
        return None
    best, node = ranked[0]
    second = ranked[1][0] if len(ranked) > 1 else 0.0
    if best < NEAR_SCORE or second > NEAR_AHEAD * best or position[node] not in related:
        return None
    return node


_NAMES: weakref.WeakKeyDictionary[Content, dict[str, frozenset[str]]] = weakref.WeakKeyDictionary()
"""Per content tree and language, the stems of :func:`topic_names` (made on first need)."""


def topic_names(content: Content, lexicon: Lexicon) -> frozenset[str]:
    """The stems (synonyms as their group's) of the words the content names its topics with:
    the words of the nodes' titles and their one-word keywords ("Köln", "Stories") and the
    names of the bot's commands ("Hilfe"), small words aside. The examples and answers use
    many words that name nothing ("sicher", "enough"); a title or a keyword says what a
    topic is about."""
    lang = lexicon.lang
    per_lang = _NAMES.setdefault(content, {})
    found = per_lang.get(lang)
    if found is None:
        texts = [n.title.get(lang, "") for n in content.nodes.values()]
        # A command's name, aliases and one-word description ("hilfe", "language"): asking
        # for one of the bot's commands is no question about a page.
        named = [
            *(k for n in content.nodes.values() for k in n.keywords.get(lang, ())),
            *(c.description.get(lang, "") for c in content.meta.commands.values()),
        ]
        texts += [t for t in named if len(lexicon.content_words(t)) == 1]
        texts += list(content.meta.commands)
        texts += [a for c in content.meta.commands.values() for a in c.aliases.get(lang, ())]
        data = _LANGUAGES.get(lang)
        small = _small_words(data) if data is not None else frozenset()
        found = frozenset(
            lexicon.stem(w) for t in texts for w in lexicon.content_words(t) if w not in small
        )
        per_lang[lang] = found
    return found


def _small_words(data: lang_data.Language) -> frozenset[str]:
    """Words that point, ask or join but name nothing: question words, negations, reference
    and condition words, follow-up openings and why-words."""
    return (
        data.question_words
        | data.negations
        | data.reference_words
        | data.condition_words
        | data.follow_up_starts
        | data.why_words
        | _instead_words(data)
    )


ASKED_HERE_WORDS = 10
"""Longer messages tell more than a question about the page just read."""
_ASKED_STEMS: weakref.WeakKeyDictionary[Content, dict[tuple[str, str], frozenset[str]]] = (
    weakref.WeakKeyDictionary()
)
"""Per content tree, node and language, the stems :func:`asked_here` compares with (made on
first need: they are the same for every message typed at that page)."""


def asked_here(content: Content, node_id: str, text: str, lexicon: Lexicon) -> bool:
    """Whether ``text`` asks one of the page ``node_id``'s follow-ups (:attr:`Node.follow_ups
    <bot.content.models.Node.follow_ups>`) in its own words ("geht das auch online?" after a
    country's complaint route): short, and every word it names (small words, question words
    and the verbs questions start with aside) is a word of those follow-ups, but for one
    among several that names no topic ("my email changed since then tho"; "und in Österreich
    online?" asks about another page)."""
    node = content.nodes.get(node_id)
    asked = node.follow_ups.get(lexicon.lang) if node is not None else None
    data = _LANGUAGES.get(lexicon.lang)
    if not asked or data is None or len(words(text)) > ASKED_HERE_WORDS:
        return False
    lang = lexicon.lang

    def named(said: str) -> list[str]:
        return _named_words(said, lexicon, data)

    def stem_of(word: str) -> str:
        # Folded: "wyslac zwykla poczta" is "wysłać zwykłą pocztą" typed on a phone.
        return lexicon.stem(fold(word, lang))

    per_page = _ASKED_STEMS.setdefault(content, {})
    known = per_page.get((node_id, lang))
    if known is None:
        known = per_page[(node_id, lang)] = frozenset(
            stem_of(w) for question in asked for w in named(question)
        )
    said = named(text)
    unknown = [w for w in said if stem_of(w) not in known]
    if not said or len(unknown) > 1:
        return False
    return not unknown or (
        len(said) >= 2 and lexicon.stem(unknown[0]) not in topic_names(content, lexicon)
    )


def one_topic_word(content: Content, text: str, lexicon: Lexicon) -> bool:
    """Whether ``text`` names one thing only, and that with a word the content names a topic
    with (:func:`topic_names`): "how do I object?", "c'est gratuit ?" but not "liest Meta
    sonst alles mit in der Gruppe?"."""
    data = _LANGUAGES.get(lexicon.lang)
    if data is None:
        return False
    named = _named_words(text, lexicon, data)
    return len(named) == 1 and lexicon.stem(named[0]) in topic_names(content, lexicon)


def _named_words(text: str, lexicon: Lexicon, data: lang_data.Language) -> list[str]:
    """The words of ``text`` that name something: vague words (:func:`_vague_words`) aside."""
    vague = _vague_words(data)
    return [w for w in lexicon.content_words(text) if w not in vague]


def names_nothing(content: Content, text: str, lexicon: Lexicon) -> bool:
    """Whether ``text`` is short (:data:`BARE_WORDS`) and names nothing of its own: none of
    its words, small words aside, is a word the content names a topic with
    (:func:`topic_names`), it has no number ("und Artikel 17?" names an article), and it is
    no yes or no ("nein", "weiß nicht")."""
    data = _LANGUAGES.get(lexicon.lang)
    ws = words(text)
    if data is None or not ws or len(ws) > BARE_WORDS:
        return False
    if any(ch.isdigit() for w in ws for ch in w):
        return False
    if " ".join(ws) in data.yes_words | data.no_words | data.unsure_words:
        return False  # "nein", "weiß nicht": an answer, not a question about the page
    names = topic_names(content, lexicon)
    small = _small_words(data)
    return not any(lexicon.stem(w) in names for w in lexicon.content_words(text) if w not in small)


def small_words_only(text: str, lexicon: Lexicon) -> bool:
    """Whether ``text`` has no word but small words that point or ask ("what?", "welche
    denn?", "y eso?"): a question only the page just read can give a meaning."""
    data = _LANGUAGES.get(lexicon.lang)
    if data is None:
        return False
    small = _small_words(data)
    return all(w in small for w in lexicon.content_words(text))


def off_topic_reading(words_off: float, covered: float, dense_off: float) -> bool:
    """Whether a message that names nothing reads as an off-topic request: its words are (almost)
    as close to the off-topic requests as to any topic (``words_off``, the ranking's share,
    from :data:`~bot.matching.lexical.OFF_TOPIC_CLOSE` on), or its meaning is closer to one of
    them than to any topic (``dense_off`` above 0: the closest off-topic request's cosine
    minus the closest topic text's), or about as close (:data:`NEAR_DENSE_OFF`) while the
    best topic explains few of its words (:data:`NEAR_COVERED`), as a short message the
    neighbours would answer is read."""
    if words_off >= OFF_TOPIC_CLOSE:
        return True
    return dense_off > 0 or (covered < NEAR_COVERED and dense_off > NEAR_DENSE_OFF)


def boost_array(node_ids: list[str], boost: dict[str, float]) -> np.ndarray:
    """The bonus per node position of an index."""
    return np.array([boost.get(n, 0.0) for n in node_ids])
