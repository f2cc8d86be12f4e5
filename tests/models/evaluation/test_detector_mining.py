"""Hard-negative mining: unmatched detections of a labelled folder, and the sheets they are judged on."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from models.evaluation.detector_mining import TILE, Candidate, crop_tile, main, mine, unmatched, write_sheets
from tests.models.evaluation.stand_ins import BrightBoxes, three_patches


def test_unmatched_keeps_what_is_about_no_plate_and_no_known_non_plate() -> None:
    plates = [(0.0, 0.0, 10.0, 10.0)]
    known = [(50.0, 50.0, 60.0, 60.0)]
    found = [
        (0.9, (1.0, 1.0, 11.0, 11.0)),  # the plate
        (0.5, (8.0, 8.0, 30.0, 30.0)),  # a loose box on the plate: IoU 0.008 < 0.1, kept
        (0.6, (51.0, 51.0, 61.0, 61.0)),  # the known non-plate again
        (0.4, (100.0, 100.0, 120.0, 110.0)),  # new
        (0.1, (200.0, 200.0, 220.0, 210.0)),  # under the score
    ]
    out = unmatched(found, plates, known, min_score=0.2)
    assert out == [(0.5, (8.0, 8.0, 30.0, 30.0)), (0.4, (100.0, 100.0, 120.0, 110.0))]
    assert unmatched([(0.5, (2.0, 2.0, 12.0, 12.0))], plates, [], 0.2) == []  # IoU 0.47 >= 0.1: about the plate


def test_mine_a_folder_and_write_sheets(tmp_path: Path) -> None:
    folder = three_patches(tmp_path)
    found = mine(folder, BrightBoxes(narrow_score=0.3), min_score=0.2)
    assert [(c.image.name, c.box, c.score) for c in found] == [
        ("a.png", (110, 80, 150, 95), 0.9),
        ("a.png", (10, 10, 20, 20), 0.3),
    ]
    assert found[1].line() == "a.png 10 10 10 10 0.300"
    known = {"a.png": [(110.0, 80.0, 150.0, 95.0)]}
    assert [c.box for c in mine(folder, BrightBoxes(narrow_score=0.3), 0.2, known)] == [(10, 10, 20, 20)]
    sheets = write_sheets(found * 20, tmp_path / "out")  # 40 crops: two sheets of 30
    assert [p.name for p in sheets] == ["sheet_00.png", "sheet_01.png"]
    sheet = cv2.imread(str(sheets[0]))
    assert sheet is not None and sheet.shape[1] == 6 * TILE


def test_a_tile_is_square_even_at_the_image_edge() -> None:
    image = np.full((100, 300, 3), 80, np.uint8)
    assert crop_tile(image, (0.0, 0.0, 12.0, 8.0), "0 0.50").shape == (TILE, TILE, 3)
    assert crop_tile(image, (200.0, 10.0, 300.0, 90.0), "1 0.20").shape == (TILE, TILE, 3)


def test_candidates_are_numbered_in_sheet_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import models.evaluation.detector_mining as mining

    folder = three_patches(tmp_path)
    monkeypatch.setattr(mining, "make_eval_detector", lambda weights, threads: (BrightBoxes(narrow_score=0.3), 0.35))
    main(["--weights", "w.onnx", "--folder", str(folder), "--out", str(tmp_path / "out")])
    lines = (tmp_path / "out" / "candidates.txt").read_text().splitlines()
    assert lines == ["0 a.png 110 80 40 15 0.900", "1 a.png 10 10 10 10 0.300"]
    assert isinstance(Candidate(folder / "a.png", (1.0, 2.0, 3.0, 4.0), 0.5).line(), str)
