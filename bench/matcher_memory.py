"""Memory of a serving bot's matcher: every language prepared, as ``run`` does before it serves.

In a fresh process (and a fresh data dir, so no content cache): load the shipped content,
build the matcher, ``prepare()`` every language's index, vectors and classifier, and answer
one question in each language; then print the process's peak RSS and the time taken.

    .venv/bin/python bench/matcher_memory.py [--runs 3] [--root DIR]

``--root`` runs another checkout's ``bot`` (e.g. a worktree of an older commit) with this
interpreter, for before/after figures; run both in the same minutes.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import resource, time
from bot.content import load_content
from bot.matching import Matcher
start = time.perf_counter()
matcher = Matcher(load_content())
matcher.prepare()
for lang in matcher.indexes:
    matcher.match("wie widerspreche ich bei instagram?", lang)
elapsed = time.perf_counter() - start
print(elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def run_once(root: Path) -> tuple[float, float]:
    """Seconds to prepare and peak RSS (MiB) of one fresh process."""
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "PYTHONPATH": str(root), "BOT_DATA_DIR": data}
        out = subprocess.run(
            [sys.executable, "-c", CHILD],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
        ).stdout.split()
    return float(out[0]), int(out[1]) / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout whose bot to run")
    args = parser.parse_args()
    runs = [run_once(args.root) for _ in range(args.runs)]
    print(f"root: {args.root}")
    print(
        "every language prepared and one question each: "
        f"peak RSS {min(r for _, r in runs):.1f}-{max(r for _, r in runs):.1f} MiB, "
        f"{min(t for t, _ in runs):.2f}-{max(t for t, _ in runs):.2f} s "
        f"({args.runs} fresh processes)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
