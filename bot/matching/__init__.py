"""Match a free-text question to the node that answers it, or abstain.

The parts, each in its own module:

- :mod:`bot.matching.text`: words, stems, synonyms and the language data (``bot/lang``);
- :mod:`bot.matching.clauses`: what a long message asks, platforms it says are not used;
- :mod:`bot.matching.tables` and :mod:`bot.matching.lexical`: the lexical index (BM25 over
  words and character n-grams, tf-idf over single examples, typos and compounds);
- :mod:`bot.matching.semantic`: the dense signal (an abstract :class:`Embedder`, the
  multilingual-e5 implementation and the on-disk embedding cache);
- :mod:`bot.matching.classifier`: the node classifier over the dense signal's vectors, and
  when each is read, fitted or fitted in the background;
- :mod:`bot.matching.decision`: the fused ranking and the calibrated answer / clarify /
  fallback decision, its fitted parameters stored as data;
- :mod:`bot.matching.named_pages`: pages offered one per app or per country, picked by the
  app or place a question names ("hab nur insta, wo widersprech ich?");
- :mod:`bot.matching.context`: follow-ups ("warum?", "und bei Instagram?") read with the node
  the user is at;
- :mod:`bot.matching.matcher`: :class:`Matcher`, which ties them together.
"""

from bot.matching.checks import generic_example_problems, generic_examples, shared_examples
from bot.matching.clauses import asking_parts, without_denied_platforms
from bot.matching.decision import CONFIDENCE_FEATURES, THRESHOLD, confidence
from bot.matching.matcher import Matcher, MatchResult
from bot.matching.text import STOPWORDS, Lexicon, content_words, fold, stem, words

__all__ = [
    "CONFIDENCE_FEATURES",
    "STOPWORDS",
    "THRESHOLD",
    "Lexicon",
    "MatchResult",
    "Matcher",
    "asking_parts",
    "confidence",
    "content_words",
    "fold",
    "generic_example_problems",
    "generic_examples",
    "shared_examples",
    "stem",
    "without_denied_platforms",
    "words",
]
