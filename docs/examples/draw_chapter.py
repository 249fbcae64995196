"""Draw the chapter's 2-2-2 network with its initial weights w1..w8 and biases b1, b2.

    python docs/examples/draw_chapter.py [--out DIR]

Writes DIR/explain_chapter.png (default DIR: docs/, where docs/explain.md shows it).
tests/explain/test_draw.py runs this script into a temporary folder.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import minibp

DOCS = Path(__file__).resolve().parent.parent


def main(out: Path = DOCS) -> Path:
    model = minibp.examples.chapter_network()
    return minibp.explain.draw(model, Path(out) / "explain_chapter.png")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DOCS, help="folder to write into")
    print(main(parser.parse_args().out))
