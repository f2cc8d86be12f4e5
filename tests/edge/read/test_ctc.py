"""CTC decoding shared by the reader runtimes: beam search, alternatives, per-character confidences, calibration."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from edge.config import ReaderConfig
from edge.read.ctc import (
    ConfidenceCalibration,
    CtcPlateReader,
    beam_search,
    char_confidences,
    decode,
    greedy_decode,
    softmax,
)
from edge.read.plate_formats import FormatAutomaton, compile_formats, plate_format


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


# --- decoding inside regional plate formats ---------------------------------------------------------------------

LETTER_DIGIT = compile_formats((plate_format("t", "ld", "LN"),), "AO01")  # classes: 1 A, 2 O, 3 0, 4 1
LETTER_DIGITS = compile_formats((plate_format("t", "ldd", "LNN"),), "AO01")


def texts(ranked: list[tuple[tuple[int, ...], float]], alphabet: str = "AO01") -> list[str]:
    return ["".join(alphabet[c - 1] for c in labels) for labels, _ in ranked]


@pytest.mark.parametrize(
    ("rows", "formats", "expected"),
    [
        ([], LETTER_DIGIT, []),  # no frames
        ([{}, {}], LETTER_DIGIT, []),  # only blanks
        ([{1: 0.9}, {}, {2: 0.6, 3: 0.35}], LETTER_DIGIT, ["A0"]),  # 'AO' fits no format: never returned
        ([{1: 0.9}, {}, {2: 0.6, 3: 0.35}], None, ["AO", "A0"]),
        ([{1: 0.9}], LETTER_DIGIT, []),  # one frame cannot spell two characters
        ([{1: 0.9}, {}, {3: 0.9}, {}, {4: 0.2}], LETTER_DIGITS, ["A01"]),
    ],
)
def test_the_constrained_beam_returns_whole_plates_only(
    rows: list[dict[int, float]], formats: FormatAutomaton | None, expected: list[str]
) -> None:
    probs = frames(rows, classes=5) if rows else np.zeros((0, 5), np.float32)
    ranked = beam_search(probs, formats=formats)
    assert texts(ranked)[: len(expected)] == expected
    if formats is not None:
        assert all(formats.accepts(labels) for labels, _ in ranked)


def test_a_constrained_text_has_the_probability_the_free_search_gives_it() -> None:
    probs = frames([{1: 0.9}, {}, {2: 0.6, 3: 0.35}], classes=5)
    free = dict(beam_search(probs))
    constrained = dict(beam_search(probs, formats=LETTER_DIGIT))
    assert constrained[(1, 3)] == pytest.approx(free[(1, 3)])
    assert constrained[(1, 3)] == pytest.approx(0.9 * 1.0 * 0.35)


def test_a_lookalike_is_fixed_by_the_format_and_the_network_best_stays_an_alternative() -> None:
    probs = frames([{1: 0.9}, {}, {2: 0.6, 3: 0.35}], classes=5)  # the network prefers 'AO', the format 'A0'
    free = decode(probs, "AO01")
    fixed = decode(probs, "AO01", formats=LETTER_DIGIT, format_ratio=0.1)
    assert free is not None and free.text == "AO"
    assert fixed is not None and fixed.text == "A0"
    assert fixed.alternatives[0].text == "AO"
    assert fixed.confidence == pytest.approx(0.9 * 0.35)  # raw: the network's probability of the text read
    assert fixed.confidence + sum(alt.confidence for alt in fixed.alternatives) <= 1.0 + 1e-9
    assert fixed.char_confidences == pytest.approx((0.9, 0.35))


def test_a_character_missing_for_the_format_is_added() -> None:
    probs = frames([{1: 0.9}, {}, {3: 0.9}, {}, {4: 0.2}], classes=5)
    assert (free := decode(probs, "AO01")) is not None and free.text == "A0"
    fixed = decode(probs, "AO01", formats=LETTER_DIGITS, format_ratio=0.1)
    assert fixed is not None and fixed.text == "A01"
    assert "A0" in [alt.text for alt in fixed.alternatives]


@pytest.mark.parametrize(
    ("o_prob", "ratio", "expected"),
    [
        (0.6, 0.5, "A0"),  # 'A0' is 0.35 / 0.6 = 0.58 of 'AO': read
        (0.6, 0.6, "AO"),  # ...but not at a ratio above that
        (0.98, 0.02, "AO"),  # 'A0' 0.0015 / 0.98: far less probable, a plate from elsewhere keeps its reading
        (0.98, 0.001, "A0"),  # a looser ratio takes it
        (0.98, 1.0, "AO"),
    ],
)
def test_the_ratio_decides_between_the_format_and_the_network(o_prob: float, ratio: float, expected: str) -> None:
    zero = 0.35 if o_prob < 0.9 else 0.0015
    probs = frames([{1: 0.9}, {}, {2: o_prob, 3: zero}], classes=5)
    reading = decode(probs, "AO01", formats=LETTER_DIGIT, format_ratio=ratio)
    assert reading is not None and reading.text == expected
    other = "AO" if expected == "A0" else "A0"
    assert other in [alt.text for alt in reading.alternatives]


def test_a_fitting_best_is_left_alone_and_no_fitting_text_keeps_the_network_reading() -> None:
    fitting = frames([{1: 0.9}, {}, {3: 0.6, 2: 0.35}], classes=5)
    assert decode(fitting, "AO01", formats=LETTER_DIGIT) == decode(fitting, "AO01")
    one_frame = frames([{1: 0.9}], classes=5)  # nothing of two characters can be read here
    assert decode(one_frame, "AO01", formats=LETTER_DIGIT, format_ratio=1e-9) == decode(one_frame, "AO01")
    assert decode(frames([{}, {}], classes=5), "AO01", formats=LETTER_DIGIT) is None


class FixedReader(CtcPlateReader):
    """A runtime that returns the same per-frame probabilities for every crop."""

    def __init__(self, config: ReaderConfig, weights_dir: Path, probs: npt.NDArray[np.float32]) -> None:
        super().__init__(config, weights_dir)
        self.alphabet, self.img_height, self._probs = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 64, probs

    def probabilities(self, batch: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        return np.repeat(self._probs[np.newaxis], len(batch), axis=0)


def plate_frames(text: str, lookalike: dict[int, str], share: float) -> npt.NDArray[np.float32]:
    """A frame per character with a blank between; at the positions in `lookalike` the other character takes
    `share` of the probability and the true one the rest."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    rows: list[dict[int, float]] = []
    for i, ch in enumerate(text):
        if i in lookalike:
            rows.append({alphabet.index(lookalike[i]) + 1: share, alphabet.index(ch) + 1: 0.99 - share})
        else:
            rows.append({alphabet.index(ch) + 1: 0.99})
        rows.append({})
    return frames(rows, classes=len(alphabet) + 1)


def test_every_ctc_plugin_reads_inside_its_configured_formats(tmp_path: Path) -> None:
    probs = plate_frames("ABC1D23", {5: "Z"}, 0.6)  # Mercosul '2' read as 'Z' by the network
    crop = np.full((32, 128), 128, np.uint8)
    plain = FixedReader(ReaderConfig.raw(), tmp_path, probs).read(crop)
    brazil = FixedReader(ReaderConfig.raw(plate_formats=("br",)), tmp_path, probs).read(crop)
    argentina = FixedReader(ReaderConfig.raw(plate_formats=("ar",)), tmp_path, probs).read(crop)
    assert plain is not None and plain.text == "ABC1DZ3"
    assert brazil is not None and brazil.text == "ABC1D23"
    assert brazil.alternatives[0].text == "ABC1DZ3"
    assert argentina is not None and argentina.text == "ABC1DZ3"  # no Argentine format starts with three letters
    # a setting's own calibration map, beside the weights, is the one its reader applies
    (tmp_path / "confidence.br.json").write_text(json.dumps({"method": "platt", "a": 1.0, "b": 2.0}))
    recalibrated = FixedReader(ReaderConfig.raw(plate_formats=("br",)), tmp_path, probs).read(crop)
    assert recalibrated is not None and recalibrated.text == "ABC1D23"
    assert recalibrated.confidence > brazil.confidence
    assert FixedReader(ReaderConfig.raw(), tmp_path, probs).read(crop) == plain
