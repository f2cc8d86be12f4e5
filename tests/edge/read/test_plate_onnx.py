"""The ONNX Runtime plugin reads what the torch plugin reads, from the shipped int8 export."""

from __future__ import annotations

import pytest

from edge.config import ReaderConfig
from edge.read import make_reader
from edge.read.ctc import WEIGHTS_DIR
from edge.read.plate_onnx import PlateOnnxReader, onnx_path
from models.training.synthetic_plates import render_clean

PLATES = [("br_old", ("ABC-1234",)), ("eu", ("KL 482 TX",)), ("br_mercosul", ("RIO2A18",))]


@pytest.mark.slow
@pytest.mark.skipif(not onnx_path(WEIGHTS_DIR).exists(), reason="no ONNX export in models/reader")
def test_onnx_reads_like_torch() -> None:
    crops = [render_clean(7, layout, rows) for layout, rows in PLATES]
    onnx = make_reader(ReaderConfig.raw(runtime="plate_onnx", threads=1))
    torch = make_reader(ReaderConfig.raw(runtime="plate_ocr", threads=1))
    got = onnx.read_batch(crops)  # type: ignore[attr-defined]
    expected = torch.read_batch(crops)  # type: ignore[attr-defined]
    assert [r.text if r else None for r in got] == [r.text if r else None for r in expected]
    assert [r.text if r else None for r in got] == ["ABC1234", "KL482TX", "RIO2A18"]
    for a, b in zip(got, expected, strict=True):
        assert a is not None and b is not None
        assert a.confidence == pytest.approx(b.confidence, abs=0.1)


@pytest.mark.slow
@pytest.mark.skipif(not onnx_path(WEIGHTS_DIR).exists(), reason="no ONNX export in models/reader")
def test_readings_shorter_than_a_plate_are_dropped() -> None:
    crops = [render_clean(7, "eu", ("KL 482 TX",)), render_clean(7, "eu", ("KL4",))]
    default = make_reader(ReaderConfig(runtime="plate_onnx", threads=1)).read_batch(crops)  # type: ignore[attr-defined]
    assert [r.text if r else None for r in default] == ["KL482TX", None]  # min_chars 4
    vanity = make_reader(ReaderConfig(runtime="plate_onnx", threads=1, min_chars=3)).read_batch(crops)  # type: ignore[attr-defined]
    assert [r.text if r else None for r in vanity] == ["KL482TX", "KL4"]


@pytest.mark.slow
@pytest.mark.skipif(not onnx_path(WEIGHTS_DIR).exists(), reason="no ONNX export in models/reader")
def test_plate_formats_leave_clear_plates_as_they_are() -> None:
    """A clear plate of the region, and a clear foreign plate that fits no format, read the same with formats on
    (the same text, alternatives and raw confidence; only the setting's calibration map differs)."""
    plates = [("br_old", ("ABC-1234",)), ("br_mercosul", ("RIO2A18",)), ("ar_old", ("MPA 318",)), ("us", ("7KDM482",))]
    crops = [render_clean(7, layout, rows) for layout, rows in plates]
    plain = PlateOnnxReader(ReaderConfig.raw(threads=1), WEIGHTS_DIR, calibrated=False).read_batch(crops)
    mercosur = PlateOnnxReader(
        ReaderConfig.raw(threads=1, plate_formats=("br", "ar")), WEIGHTS_DIR, calibrated=False
    ).read_batch(crops)
    assert [r.text if r else None for r in plain] == ["ABC1234", "RIO2A18", "MPA318", "7KDM482"]
    assert mercosur == plain
