"""Content checks that need the matcher's view of words (``python -m bot check``)."""

from __future__ import annotations

from collections import Counter

from bot.content.loader import Problem
from bot.content.models import Content, Node
from bot.matching.lexical import _answer_texts, _example_texts
from bot.matching.text import Lexicon, words

COMMON_SHARE = 0.5
"""Words used by at least half the nodes, each and together, tell no node apart."""


def generic_examples(content: Content) -> list[tuple[Node, str, str]]:
    """Example questions made only of words that many nodes use, each of them and all of
    them together (``node, lang, question``).

    Such an example ("Fragen an Meta AI") matches any question with those words and pulls
    it to its node; ``python -m bot check`` warns about them. Words that are common each
    may still name a topic together: "Wie widerspreche ich bei Facebook?" once most nodes
    speak of Facebook and of objecting, but only some of both.
    """
    out: list[tuple[Node, str, str]] = []
    nodes = [n for n in content.nodes.values() if n.id != content.meta.root]
    for lang in content.languages:
        lex = Lexicon(lang, content.meta.synonyms.get(lang, ()))
        used: list[set[str]] = []
        for n in nodes:
            texts = _example_texts(n, lang) + _answer_texts(n, lang)
            used.append({lex.stem(w) for t in texts for w in lex.content_words(t)})
        df = Counter(s for stems in used for s in stems)
        common = {s for s, c in df.items() if c >= COMMON_SHARE * len(nodes)}
        for n in nodes:
            title = n.title.get(lang, "").strip().lower()
            for q in n.questions.get(lang, ()):
                stems = {lex.stem(w) for w in lex.content_words(q)}
                if stems <= common and q.strip().lower() != title:
                    together = sum(1 for u in used if stems <= u)
                    if together >= COMMON_SHARE * len(nodes):
                        out.append((n, lang, q))
    return out


def shared_examples(content: Content) -> list[tuple[Node, str, str, Node]]:
    """Example questions that a node shares word for word with an earlier node
    (``node, lang, question, earlier node``).

    A message typed like such an example is said by neither node alone, so it is ranked like
    any other and may land on either: ``python -m bot check`` warns about them.
    """
    out: list[tuple[Node, str, str, Node]] = []
    for lang in content.languages:
        first: dict[tuple[str, ...], Node] = {}
        for n in content.nodes.values():
            for q in n.questions.get(lang, ()):
                key = tuple(words(q))
                earlier = first.setdefault(key, n)
                if earlier is not n and key:
                    out.append((n, lang, q, earlier))
    return out


def generic_example_problems(content: Content) -> list[Problem]:
    """Warnings for :func:`generic_examples` and :func:`shared_examples`, for
    ``python -m bot check``."""
    shared = [
        Problem(
            node.file,
            node.line,
            f"node '{node.id}': example question ({lang}) {question!r} is also an example of"
            f" '{other.id}', so a question typed like it goes to either",
            "keep it on the node whose answer it asks for",
            level="warning",
        )
        for node, lang, question, other in shared_examples(content)
    ]
    return shared + [
        Problem(
            node.file,
            node.line,
            f"node '{node.id}': example question ({lang}) {question!r} has only words that"
            " many nodes use, so it pulls unrelated questions to this node",
            "add a word that only this topic uses, or drop the example",
            level="warning",
        )
        for node, lang, question in generic_examples(content)
    ]
