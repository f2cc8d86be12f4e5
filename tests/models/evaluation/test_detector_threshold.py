"""Choosing the car's threshold on a validation folder: one detector pass, given and audited labels, the rule."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from models.evaluation.detector import SourceResult
from models.evaluation.detector_threshold import GRID, CachedDetector, FolderScores, report, score_folder
from tests.models.evaluation.stand_ins import BrightBoxes, three_patches


def test_grid_is_the_cards() -> None:
    assert GRID[0] == 0.2 and GRID[-1] == 0.9 and len(GRID) == 71 and 0.46 in GRID


def test_cached_detector_runs_once_per_image() -> None:
    inner = BrightBoxes(narrow_score=0.3)
    cached = CachedDetector(inner)
    a, b = np.zeros((20, 30, 3), np.uint8), np.full((20, 30, 3), 9, np.uint8)
    assert cached.detect(a) == cached.detect(a.copy()) and inner.calls == 1
    cached.detect(b)
    assert inner.calls == 2


def test_a_folder_is_scored_on_given_and_audited_labels_in_one_pass(tmp_path: Path) -> None:
    images = three_patches(tmp_path)  # two plates drawn, one labelled; a small patch that is no plate
    extra = tmp_path / "missing.txt"
    extra.write_text("a.png 110 80 40 15\n")
    detector = BrightBoxes(narrow_score=0.3)
    scores = score_folder(images, detector, extra)
    assert detector.calls == 1
    assert scores.audited is not None and (scores.given.plates, scores.audited.plates) == (1, 2)
    out = report(scores, target=0.95, at=0.5)
    assert out["rule"] == {"target_precision": 0.95, "on": "audited", "threshold": 0.31}
    given, audited = out["given"], out["audited"]
    assert isinstance(given, dict) and isinstance(audited, dict)
    assert audited["by_threshold"]["0.50"] == [1.0, 1.0] and given["by_threshold"]["0.50"] == [0.5, 1.0]
    assert audited["by_threshold"]["0.25"] == [pytest.approx(0.667, abs=1e-3), 1.0]
    assert json.loads(json.dumps(out)) == out  # what --json writes


def test_without_extra_labels_the_rule_reads_the_given_labels() -> None:
    given = SourceResult("s", "yolo", images=1, plates=2, scored=[(0.8, True), (0.5, False), (0.3, True)])
    out = report(FolderScores(given, None), target=0.9, at=None)
    assert "audited" not in out and out["rule"] == {"target_precision": 0.9, "on": "given", "threshold": 0.51}
    assert report(FolderScores(given, None), target=None, at=None).get("rule") is None
