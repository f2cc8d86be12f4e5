"""CTC decoding shared by the reader runtimes: beam search, alternatives, per-character confidences, calibration."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from edge.read.ctc import (
    ConfidenceCalibration,
    beam_search,
    char_confidences,
    decode,
    greedy_decode,
    softmax,
)


def frames(rows: list[dict[int, float]], classes: int = 3) -> npt.NDArray[np.float32]:
    """T x C probabilities: each row's given classes, the rest of the mass on the blank (class 0)."""
    probs = np.zeros((len(rows), classes), np.float32)
    for t, row in enumerate(rows):
        for cls, p in row.items():
            probs[t, cls] = p
        probs[t, 0] = 1.0 - sum(row.values())
    return probs


def test_beam_sums_the_alignments_of_a_text() -> None:
    # 'A' over two frames: A A, A -, - A all spell "A"
    probs = frames([{1: 0.6}, {1: 0.6}])
    ranked = dict(beam_search(probs))
    assert ranked[(1,)] == pytest.approx(0.6 * 0.6 + 0.6 * 0.4 + 0.4 * 0.6)
    assert ranked.get((1, 1), 0.0) == pytest.approx(0.0, abs=1e-12)  # a doubled letter needs a blank between


def test_beam_needs_a_blank_between_equal_letters() -> None:
    probs = frames([{1: 0.9}, {}, {1: 0.9}])
    best, p = beam_search(probs)[0]
    assert best == (1, 1)
    assert p == pytest.approx(0.9 * 1.0 * 0.9)


def test_beam_can_beat_the_best_path() -> None:
    # best path: blank blank -> "" ; but "A" summed over its alignments is more probable than nothing
    probs = frames([{1: 0.45}, {1: 0.45}])
    assert greedy_decode(probs, "AB")[0] == ""
    assert beam_search(probs)[0][0] == (1,)


def test_decode_gives_alternatives_that_share_what_is_left() -> None:
    probs = frames([{1: 0.7, 2: 0.25}, {}, {2: 0.99}])  # 'AB' mostly, 'BB' next
    reading = decode(probs, "AB")
    assert reading is not None and reading.text == "AB"
    assert next(alt.text for alt in reading.alternatives) == "BB"
    assert reading.confidence + sum(alt.confidence for alt in reading.alternatives) <= 1.0 + 1e-9
    assert len(reading.char_confidences) == 2
    assert reading.char_confidences == pytest.approx((0.7, 0.99))


def test_decode_of_only_blanks_is_nothing() -> None:
    assert decode(frames([{}, {}]), "AB") is None


def test_char_confidences_follow_the_best_alignment() -> None:
    probs = frames([{1: 0.6}, {1: 0.8}, {}, {2: 0.7}])
    assert char_confidences(probs, [1, 2]) == pytest.approx((0.8, 0.7))
    assert char_confidences(probs, []) == ()


def test_softmax_rows_sum_to_one() -> None:
    probs = softmax(np.array([[[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]], np.float32))
    assert probs.sum(axis=-1) == pytest.approx(np.ones((1, 2)))


@pytest.mark.parametrize(
    ("body", "raw", "expected"),
    [
        ({"method": "isotonic", "knots_x": [0.0, 0.5, 1.0], "knots_y": [0.0, 0.2, 0.9]}, 0.75, 0.55),
        ({"method": "platt", "a": 1.0, "b": 0.0}, 0.3, 0.3),
    ],
)
def test_calibration_file_is_applied(tmp_path: Path, body: dict[str, object], raw: float, expected: float) -> None:
    (tmp_path / "confidence.json").write_text(json.dumps(body))
    calibrate = ConfidenceCalibration.beside(tmp_path)
    assert calibrate(raw) == pytest.approx(expected)
    assert ConfidenceCalibration.beside(tmp_path, enabled=False)(raw) == raw
    assert ConfidenceCalibration.beside(tmp_path / "none")(raw) == raw


def test_decode_applies_the_calibration() -> None:
    probs = frames([{1: 0.9}, {}])
    halve = ConfidenceCalibration(lambda raw: raw / 2)
    raw = decode(probs, "AB")
    calibrated = decode(probs, "AB", halve)
    assert raw is not None and calibrated is not None
    assert calibrated.confidence == pytest.approx(raw.confidence / 2)
