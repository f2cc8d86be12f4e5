"""The reader's ONNX export: the float graph matches torch, and the int8 one still reads plates."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from edge.config import ReaderConfig
from edge.read.ctc import NETWORK, stack_arrays, to_gray
from edge.read.plate_ocr import PlateOcrReader
from edge.read.plate_onnx import PlateOnnxReader
from models.training.reader_export import export_onnx, quantize_int8
from models.training.synthetic_plates import render_clean, render_plate
from tests.conftest import REPO

PLATES = [("br_old", "ABC1234"), ("eu", "KL482TX"), ("ar_mercosur", "AB123CD"), ("us", "7TUV482")]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    """The shipped network exported to float ONNX in a folder of its own."""
    folder = tmp_path_factory.mktemp("reader")
    for suffix in (".pth", ".yaml", ".py"):
        shutil.copy(REPO / "models" / "reader" / f"{NETWORK}{suffix}", folder / f"{NETWORK}{suffix}")
    path, worst = export_onnx(folder, int8=False)
    assert path == folder / f"{NETWORK}.onnx"
    return folder, worst


def read_clean_plates(reader: PlateOnnxReader | PlateOcrReader) -> list[str]:
    readings = reader.read_batch([render_clean(i, layout, (text,)) for i, (layout, text) in enumerate(PLATES)])
    return [r.text if r is not None else "" for r in readings]


def test_the_float_export_is_the_network(exported: tuple[Path, float]) -> None:
    folder, worst = exported
    assert worst < 1e-3  # largest logit difference to torch on random inputs of three widths
    config = ReaderConfig.raw()
    onnx = read_clean_plates(PlateOnnxReader(config, folder, calibrated=False))
    assert onnx == read_clean_plates(PlateOcrReader(config, folder, calibrated=False))
    assert onnx == [text for _, text in PLATES]


def test_the_int8_export_is_smaller_and_still_reads(exported: tuple[Path, float], tmp_path: Path) -> None:
    folder, _ = exported
    renders = [to_gray(render_plate(seed, renderer=2).image) for seed in range(32)]
    batches = [stack_arrays(renders[i : i + 8]) for i in range(0, 32, 8)]
    int8 = tmp_path / "int8"
    int8.mkdir()
    for name in (f"{NETWORK}.yaml", f"{NETWORK}.py"):
        shutil.copy(folder / name, int8 / name)
    quantize_int8(folder / f"{NETWORK}.onnx", int8 / f"{NETWORK}.onnx", batches)
    assert (int8 / f"{NETWORK}.onnx").stat().st_size < (folder / f"{NETWORK}.onnx").stat().st_size / 2
    assert sorted(p.name for p in int8.iterdir()) == sorted([f"{NETWORK}.onnx", f"{NETWORK}.py", f"{NETWORK}.yaml"])
    assert read_clean_plates(PlateOnnxReader(ReaderConfig.raw(), int8, calibrated=False)) == [t for _, t in PLATES]
