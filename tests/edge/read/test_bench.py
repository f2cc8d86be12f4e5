"""`bench-reader` reads every crop of every repeat with the plugin asked for, and reports per crop."""

from __future__ import annotations

from edge.read.bench import bench_reader
from models.training.synthetic_plates import render_plate


def test_the_bench_reports_per_crop_for_the_setting_asked_for() -> None:
    crops = [render_plate(seed).image for seed in range(5)]
    result = bench_reader(crops, "plate_onnx", threads=1, batch=2, repeats=2, plate_formats=("br", "ar"))
    assert (result.runtime, result.threads, result.batch, result.crops, result.plate_formats) == (
        "plate_onnx",
        1,
        2,
        5,
        "br,ar",
    )
    assert 0 < result.best_ms_per_crop <= result.ms_per_crop
    assert result.as_json()["ms_per_crop"] == round(result.ms_per_crop, 2)
