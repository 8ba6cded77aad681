"""Which of the content's languages a message is written in, short messages included.

People type "¿y en España?", "i co teraz?" or "und in der Schweiz?": three words, no
sentence for a statistical model to lean on. What tells these apart is what a reader
notices first, and it is data, per language in ``bot/lang/<code>.yaml``:

- frequent words (``detect_words``, and every stop word, question word and negation the
  matcher knows): "y", "co", "und", "et", "en", "e";
- letters and letter groups (``detect_marks``): "ñ", "¿", "ł", "ß", "ij";
- frequent words that other languages seldom use (``bot/lang/frequent/<code>.txt``, from
  word frequencies) for a word no hand-written list has: "stores", "enough", "welke";
- optionally the content's own vocabulary (a word the content uses in that language);
- word endings (``detect_endings``) for a word none of these has: "-ción", "-zione", "-ość".

Each piece of evidence is shared among the declared languages that have it: "in" (German,
English, Italian, Dutch) gives each a quarter, "und" gives German a whole point. Only the
content's declared languages compete. Where the message alone leaves two or more languages
level, the session's current language and then the platform's language (Telegram's
``language_code``) decide, and both weigh a little on a close call. A message with less
evidence than one word of a single language ("ok", "ja", "no": words several languages
share) keeps the conversation in the language it is in. A message with no evidence at all
("👍", "2") gives ``None``: the caller keeps the language it has.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache

from bot import lang as lang_data

_WORD = re.compile(r"[^\W\d_]+")
_META_AI = re.compile(r"\bmeta[\s-]*ai\b")
_UNFOLDED = str.maketrans({"ß": "ss", "ł": "l", "ø": "o", "œ": "oe", "æ": "ae"})

SWITCH = 1.0
"""How much more evidence than the session's current language another needs to take over a
message that has some of the current one: about a word of its own ("kun je weer Nederlands
praten?" in a German chat moves to Dutch; "was is die DSB", whose "was", "is" and "die" are
Dutch as well as German, stays German)."""
MARK_WEIGHT = 1.0
"""Evidence of a letter or letter group of one language ("ñ"), once per message."""
ENDING_WEIGHT = 0.5
"""Evidence of a typical ending, for a word that none of the word lists has."""
FREQUENT_WEIGHT = 0.5
"""Evidence of a frequent word of that language (and no hand-written list has it): the lists
are long and made from counts, so a word there weighs less than one a person chose."""
KNOWN_WEIGHT = 0.5
"""Evidence of a word the content uses in that language (and no word list has)."""
STAY = 0.25
"""Lean towards the session's current language, when the message has some of it."""
LEAN = 0.2
"""Lean towards the platform's language (its ``locale``), when the message has some of it."""
CLEAR = 1.0
"""Evidence a message needs for one language (a word of its own, say) to move a
conversation out of its current language; below it, the conversation stays."""
_MIN_STEM = 2
"""Letters a word keeps before an ending for the ending to count ("-ción" in "opción")."""


@lru_cache(maxsize=16384)
def fold(word: str) -> str:
    """``word`` in lower case without accents ("España" -> "espana", "włoch" -> "wloch")."""
    decomposed = unicodedata.normalize("NFD", word.lower().translate(_UNFOLDED))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _by_item(sets: Mapping[str, Iterable[str]]) -> dict[str, tuple[str, ...]]:
    """Invert ``{language: items}`` to ``{item: languages}``."""
    owners: dict[str, list[str]] = defaultdict(list)
    for code, items in sets.items():
        for item in set(items):
            owners[item].append(code)
    return {item: tuple(codes) for item, codes in owners.items()}


KnownWord = Callable[[str, str], bool]
"""``known(language, word)``: whether the content uses ``word`` in ``language``."""


class LanguageDetector:
    """Tell the declared languages apart in a message; built once per content tree."""

    def __init__(
        self,
        languages: Iterable[str],
        *,
        known: KnownWord | None = None,
        data: Mapping[str, lang_data.Language] | None = None,
        frequent: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        """``languages``: the codes to choose from (the content's declared languages);
        ``known``: the content's vocabulary, if any; ``data``: the word lists (default: the
        files in ``bot/lang``); ``frequent``: each language's frequent words, folded
        (default: :func:`bot.lang.frequent_words`). A language without a word list competes
        on ``known`` only."""
        self.languages = tuple(languages)
        self._known = known
        lists = lang_data.languages() if data is None else data
        own = {c: lists[c] for c in self.languages if c in lists}
        self._words = _by_item(
            {
                code: {
                    fold(w)
                    for w in d.detect_words
                    | d.stopwords
                    | d.question_words
                    | d.negations
                    | d.denials
                    | d.topic_words
                }
                for code, d in own.items()
            }
        )
        # Kept per language and asked per word: inverting some 100,000 words would cost a
        # start-up a tenth of a second.
        self._frequent = {
            code: lang_data.frequent_words(code)
            if frequent is None
            else lang_data.WordList(frequent[code])
            for code in self.languages
            if frequent is None or code in frequent
        }
        self._marks = _by_item({code: d.detect_marks for code, d in own.items()})
        self._endings = _by_item(
            {code: {fold(e) for e in d.detect_endings} for code, d in own.items()}
        )
        self._ending_lengths = sorted({len(e) for e in self._endings}, reverse=True)
        common = lang_data.common()
        # Names are the same in every language: "WhatsApp" is no English "wh".
        self._names = common.meta_words | common.other_parties

    def scores(self, text: str) -> dict[str, float]:
        """Evidence for each declared language in ``text`` (see the module docstring)."""
        scores = dict.fromkeys(self.languages, 0.0)
        # "e-mail" is one word, not an Italian "e" and a "mail"; "Meta AI" is a name in
        # every language, not an English "AI".
        lowered = unicodedata.normalize("NFKC", text).lower().replace("e-mail", "email")
        lowered = _META_AI.sub("meta", lowered)
        kept = [w for w in _WORD.findall(lowered) if w not in self._names]
        for word in kept:
            folded = fold(word)
            owners = self._words.get(folded)
            weight = 1.0
            if owners is None:
                owners = tuple(c for c, ws in self._frequent.items() if folded in ws) or None
                weight = FREQUENT_WEIGHT
            if owners is None and self._known is not None:
                owners = tuple(c for c in self.languages if self._known(c, word)) or None
                weight = KNOWN_WEIGHT
            if owners is None:
                owners = self._ending_owners(folded)
                weight = ENDING_WEIGHT
            for code in owners or ():
                scores[code] += weight / len(owners or ())
        # Marks are looked for in the words kept and in the punctuation ("¿").
        marked = " ".join(kept) + "".join(c for c in lowered if not (c.isalnum() or c.isspace()))
        for mark, owners in self._marks.items():
            if mark in marked:
                for code in owners:
                    scores[code] += MARK_WEIGHT / len(owners)
        return scores

    def _ending_owners(self, folded: str) -> tuple[str, ...] | None:
        # The longest typical ending decides: "-zione" is Italian even though "-ione" is not.
        for size in self._ending_lengths:
            if len(folded) >= size + _MIN_STEM:
                owners = self._endings.get(folded[-size:])
                if owners:
                    return owners
        return None

    def detect(
        self, text: str, *, current: str | None = None, locale: str | None = None
    ) -> str | None:
        """The declared language ``text`` is most likely written in, or ``None`` when it
        shows none. ``current``: the session's language; ``locale``: the platform's
        language tag ("pl", "de-AT", "pt_BR"); both decide where the message is level."""
        scores = self.scores(text)
        best = max(scores.values(), default=0.0)
        if best == 0:
            return None
        if best < CLEAR and current in scores:
            # "ok", "ja", "no": words several languages share, nothing of one alone.
            return current
        if current is not None and scores.get(current, 0.0) > 0 and best < scores[current] + SWITCH:
            # "was is die DSB", "is des legal" in a German chat: Austrian "is" and "des" are
            # Dutch and French words too, but German ones are there as well.
            return current
        platform = (locale or "").replace("_", "-").split("-")[0].lower() or None
        for code, lean in ((current, STAY), (platform, LEAN)):
            if code is not None and scores.get(code, 0.0) > 0:
                scores[code] += lean
        best = max(scores.values())
        level = [code for code, score in scores.items() if score >= best - 1e-9]
        if len(level) == 1:
            return level[0]
        for code in (current, platform):
            if code in level:
                return code
        return None
