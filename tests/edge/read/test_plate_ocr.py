"""The fine-tuned plate reader plugin: shipped weights, rendered plates, empty crops, CTC decoding."""

from __future__ import annotations

import numpy as np
import pytest

from edge.config import ReaderConfig
from edge.read.plate_ocr import PlateOcrReader, greedy_decode, load, to_reading
from models.training.synthetic_plates import render_clean

PLATES = [
    ("br_old", ("ABC-1234",)),
    ("br_mercosul", ("RIO2A18",)),
    ("ar_mercosur", ("AD 123 CD",)),
    ("eu", ("KL 482 TX",)),
]


@pytest.fixture(scope="module")
def reader() -> PlateOcrReader:
    return load(ReaderConfig.raw(threads=1))


@pytest.mark.slow
@pytest.mark.parametrize(("layout", "rows"), PLATES)
def test_reads_rendered_plates(reader: PlateOcrReader, layout: str, rows: tuple[str, ...]) -> None:
    reading = reader.read(render_clean(11, layout, rows))
    assert reading is not None
    assert reading.text == "".join(ch for row in rows for ch in row if ch.isalnum())
    assert len(reading.char_confidences) == len(reading.text)
    assert 0.0 < reading.confidence <= 1.0


@pytest.mark.slow
def test_batch_matches_single_reads(reader: PlateOcrReader) -> None:
    crops = [render_clean(5, layout, rows) for layout, rows in PLATES]
    batch = reader.read_batch(crops)
    assert [r.text if r else None for r in batch] == [r.text if r else None for r in map(reader.read, crops)]


@pytest.mark.slow
@pytest.mark.parametrize("shape", [(0, 0, 3), (0, 40, 3), (2, 40, 3)])
def test_empty_crop_reads_nothing(reader: PlateOcrReader, shape: tuple[int, int, int]) -> None:
    assert reader.read(np.zeros(shape, np.uint8)) is None
    assert reader.read_batch([np.zeros(shape, np.uint8)]) == [None]


def test_greedy_decode_collapses_repeats_and_blanks() -> None:
    # frames: A A blank A B blank -> "AAB"; alphabet "AB", class 0 is the blank
    best = [1, 1, 0, 1, 2, 0]
    probs = np.full((6, 3), 0.1, np.float32)
    for t, cls in enumerate(best):
        probs[t, cls] = 0.8
    probs[1, 1] = 0.9
    text, confidences = greedy_decode(probs, "AB")
    assert text == "AAB"
    assert confidences == pytest.approx((0.9, 0.8, 0.8))


def test_reading_confidence_is_the_product() -> None:
    reading = to_reading("AB", (0.5, 0.8))
    assert reading is not None and reading.confidence == pytest.approx(0.4)
    assert to_reading("", ()) is None


@pytest.mark.slow
def test_readings_carry_alternatives(reader: PlateOcrReader) -> None:
    reading = reader.read(render_clean(3, "br_old", ("ABC-1234",)))
    assert reading is not None
    assert all(alt.text != reading.text for alt in reading.alternatives)
    assert reading.confidence + sum(alt.confidence for alt in reading.alternatives) <= 1.0 + 1e-9
