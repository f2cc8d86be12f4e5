"""Voting the frames of one vehicle pass into one read: pure code, no I/O.

Each frame's reading votes with its confidence as weight: first for the plate's length, then for the
character at every position among the readings of that length. The other texts, from frames that disagree and
from the reader's own alternatives, are the read's alternatives.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from edge.types import Candidate, Observation

MAX_ALTERNATIVES = 3


@dataclass(frozen=True)
class Vote:
    text: str
    confidence: float
    char_confidences: tuple[float, ...]
    alternatives: tuple[Candidate, ...]
    evidence: Observation  # the sharpest frame that reads as the voted text
    frames_voted: int


def _weight(observation: Observation) -> float:
    assert observation.reading is not None
    # A zero-confidence reading still counts a little, so a single weak frame can still be voted.
    return max(observation.reading.confidence, 1e-6)


def vote(observations: Sequence[Observation]) -> Vote | None:
    """The one read of a pass, or None when no frame of it could be read."""
    readable = [o for o in observations if o.reading is not None and o.reading.text]
    if not readable:
        return None
    total = sum(_weight(o) for o in readable)
    length_weight: dict[int, float] = defaultdict(float)
    for o in readable:
        assert o.reading is not None
        length_weight[len(o.reading.text)] += _weight(o)
    length = max(length_weight, key=lambda n: (length_weight[n], n))
    same_length = [o for o in readable if o.reading is not None and len(o.reading.text) == length]
    chars, char_confidences = _vote_positions(same_length, length)
    text = "".join(chars)
    confidence = (length_weight[length] / total) * min(char_confidences)
    return Vote(
        text=text,
        confidence=confidence,
        char_confidences=char_confidences,
        alternatives=_alternatives(readable, text, total),
        evidence=_evidence(readable, text),
        frames_voted=len(readable),
    )


def _vote_positions(observations: Sequence[Observation], length: int) -> tuple[list[str], tuple[float, ...]]:
    """Per position: the character with most weight, and its confidence (its share of the weight
    times the mean confidence of the readings that chose it)."""
    chars: list[str] = []
    confidences: list[float] = []
    for position in range(length):
        weight: dict[str, float] = defaultdict(float)
        support: dict[str, list[float]] = defaultdict(list)
        for o in observations:
            assert o.reading is not None
            char = o.reading.text[position]
            weight[char] += _weight(o)
            support[char].append(o.reading.confidence)
        best = max(weight, key=lambda c: (weight[c], c))
        share = weight[best] / sum(weight.values())
        chars.append(best)
        confidences.append(share * sum(support[best]) / len(support[best]))
    return chars, tuple(confidences)


def _alternatives(observations: Sequence[Observation], winner: str, total: float) -> tuple[Candidate, ...]:
    """The other texts of the pass: frames that read them, with their confidence as weight, and each frame's
    own alternatives (the reader's next-best texts), with theirs. Scores are shares of all that weight."""
    weight: dict[str, float] = defaultdict(float)
    for o in observations:
        assert o.reading is not None
        if o.reading.text != winner:
            weight[o.reading.text] += _weight(o)
        for alternative in o.reading.alternatives:
            total += alternative.confidence
            if alternative.text != winner:
                weight[alternative.text] += alternative.confidence
    ranked = sorted(weight.items(), key=lambda item: (-item[1], item[0]))[:MAX_ALTERNATIVES]
    return tuple(Candidate(text, w / total) for text, w in ranked if w > 0)


def _evidence(observations: Sequence[Observation], text: str) -> Observation:
    matching = [o for o in observations if o.reading is not None and o.reading.text == text]
    return max(matching or observations, key=lambda o: o.sharpness)
