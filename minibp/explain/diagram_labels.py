"""Where each edge's label sits along its edge: a small greedy search that keeps the labels
off each other and off the circles. Pure Python; lengths in inches.

Each label tries PLACES (fractions of its edge, from the source) and takes the one whose box
overlaps least the boxes already there; equal overlaps go to the place nearest the preferred
one, so an uncrowded diagram keeps a regular pattern. Boxes are estimated from the text at
draw's label font (6.5 pt), which is all the search needs: it compares, it does not measure.
"""

from __future__ import annotations

CHAR_WIDTH, LINE_HEIGHT, PAD = 0.05, 0.11, 0.06   # inches, at 6.5 pt with a small margin
PLACES = [0.15 + 0.05 * step for step in range(15)]  # 0.15, 0.20, ..., 0.85 along an edge

Box = tuple[float, float, float, float]  # centre x, centre y, width, height


def label_box(x: float, y: float, text: str) -> Box:
    """The estimated box of ``text`` centred at (x, y)."""
    lines = text.split("\n")
    return (x, y, CHAR_WIDTH * max(len(line) for line in lines) + PAD,
            LINE_HEIGHT * len(lines) + PAD)


def overlap(a: Box, b: Box) -> float:
    """The area two boxes share (0 when apart)."""
    width = min(a[0] + a[2] / 2, b[0] + b[2] / 2) - max(a[0] - a[2] / 2, b[0] - b[2] / 2)
    height = min(a[1] + a[3] / 2, b[1] + b[3] / 2) - max(a[1] - a[3] / 2, b[1] - b[3] / 2)
    return max(width, 0.0) * max(height, 0.0)


def place(segments, texts, preferred, obstacles) -> list[tuple[float, float]]:
    """The centre of each edge's label.

    segments: (x0, y0, x1, y1) per edge; texts: its label ("" places nothing, at the
    preferred place); preferred: a fraction of the edge per label; obstacles: boxes to keep
    clear of (the circles). Labels are placed in the order given.
    """
    taken = list(obstacles)
    centres = []
    for (x0, y0, x1, y1), text, wanted in zip(segments, texts, preferred):
        if not text:
            centres.append((x0 + wanted * (x1 - x0), y0 + wanted * (y1 - y0)))
            continue
        best = None
        for along in PLACES:
            box = label_box(x0 + along * (x1 - x0), y0 + along * (y1 - y0), text)
            cost = (sum(overlap(box, other) for other in taken), abs(along - wanted))
            if best is None or cost < best[0]:
                best = (cost, box)
        taken.append(best[1])
        centres.append(best[1][:2])
    return centres
