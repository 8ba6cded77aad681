"""Write each language's frequent words for language detection: ``bot/lang/frequent/<code>.txt``.

A short message often has no word of the hand-written lists (``detect_words`` and the other
word lists of ``bot/lang/<code>.yaml``): "bot stores my msgs?", "privat insta enough?". The
frequent words of each language tell these apart: a word counts for a language when it is
among that language's :data:`TOP` most frequent words and at least :data:`RATIO` times as
frequent there as in each other language of ``bot/lang`` ("stores" is English, "welke"
Dutch; "data" is frequent in several and counts for none of them). Words of fewer than
:data:`SHORTEST` letters are left to the hand-written lists.

The frequencies are those of wordfreq (https://github.com/rspeer/wordfreq, its data under
CC BY-SA 4.0), which the bot does not need to run: install it to write the files again.

    pip install wordfreq && .venv/bin/python bench/frequent_words.py --write
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))

from bot import lang as lang_data  # noqa: E402
from bot.language_detect import fold  # noqa: E402

TOP = 20_000
"""How many of a language's most frequent words are looked at."""
RATIO = 5.0
"""How many times as frequent in its language as in every other a word must be."""
SHORTEST = 3
"""Letters a word needs: shorter ones ("de", "en", "la") are everybody's."""
HEADER = (
    "# The frequent words of this language that other languages of bot/lang seldom use, for\n"
    "# language detection only (bot/language_detect.py), folded (lower case, no accents).\n"
    "# Written by bench/frequent_words.py from wordfreq's frequencies (wordfreq by Robyn\n"
    "# Speer et al., data under CC BY-SA 4.0, https://github.com/rspeer/wordfreq); this\n"
    "# list is shared under the same licence.\n"
)


def frequent(codes: list[str]) -> dict[str, list[str]]:
    """Each language's distinctive frequent words, folded, in order of frequency."""
    from wordfreq import top_n_list, word_frequency

    out: dict[str, list[str]] = {}
    for code in codes:
        seen: set[str] = set()
        words = []
        for word in top_n_list(code, TOP):
            if len(word) < SHORTEST or not word.isalpha():
                continue
            share = word_frequency(word, code)
            if all(
                share >= RATIO * word_frequency(word, other) for other in codes if other != code
            ):
                folded = fold(word)
                if folded not in seen:
                    seen.add(folded)
                    words.append(folded)
        out[code] = words
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="write the files")
    args = parser.parse_args()
    codes = sorted(lang_data.languages())
    lists = frequent(codes)
    for code, words in lists.items():
        text = HEADER + "\n".join(words) + "\n"
        path = lang_data.FREQUENT_DIR / f"{code}.txt"
        if args.write:
            path.parent.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8")
        print(f"{code}: {len(words)} words{' written to ' + str(path) if args.write else ''}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
