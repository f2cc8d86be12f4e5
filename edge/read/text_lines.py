"""Choosing the registration among the text boxes found on a plate: pure code, no OCR engine."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from platepatrol.plates import normalise_plate

# Characters of the registration are the tallest text on a plate; a country band ("RO", "D") or a
# slogan is much smaller. Boxes shorter than this share of the tallest are not the registration.
MIN_HEIGHT_SHARE = 0.6


@dataclass(frozen=True)
class TextBox:
    text: str
    confidence: float
    left: float
    top: float
    height: float


def registration(boxes: Sequence[TextBox]) -> tuple[str, float] | None:
    """Join the tallest text boxes left to right (top row first) into one string, with the mean confidence.

    Two-row plates read as one string: rows are ordered by their top edge, boxes in a row by their left edge.
    """
    usable = [box for box in boxes if normalise_plate(box.text)]
    if not usable:
        return None
    tallest = max(box.height for box in usable)
    chosen = [box for box in usable if box.height >= MIN_HEIGHT_SHARE * tallest]
    rows: list[list[TextBox]] = []
    for box in sorted(chosen, key=lambda b: b.top):
        if rows and abs(box.top - rows[-1][0].top) < 0.5 * tallest:
            rows[-1].append(box)
        else:
            rows.append([box])
    ordered = [box for row in rows for box in sorted(row, key=lambda b: b.left)]
    text = "".join(normalise_plate(box.text) for box in ordered)
    weights = [len(normalise_plate(box.text)) for box in ordered]
    confidence = sum(box.confidence * w for box, w in zip(ordered, weights, strict=True)) / sum(weights)
    return text, confidence
