"""The synthetic-set breakdown: replayed scenes say which plate is which, and per-plate matching is greedy."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.evaluation.detector_breakdown import found_plates, replay, watching, width_bin
from models.training import detector_synth as ds
from models.training.synthetic_plates import LAYOUTS
from tests.models.training.test_detector_synth import _source


@pytest.mark.parametrize(
    ("width", "expected"),
    [(0.0, "0-10"), (9.99, "0-10"), (10.0, "10-15"), (29.9, "20-30"), (30.0, "30-50"), (100.0, "100-inf")],
)
def test_width_bins_hold_their_low_end(width: float, expected: str) -> None:
    assert width_bin(width) == expected


def test_a_width_outside_the_bins_is_an_error() -> None:
    with pytest.raises(ValueError, match="outside"):
        width_bin(-1.0)


def test_found_plates_counts_only_detections_above_the_threshold_once_each() -> None:
    plates = [(0.0, 0.0, 10.0, 5.0), (20.0, 0.0, 30.0, 5.0), (40.0, 0.0, 50.0, 5.0)]
    detections = [
        (0.9, (0.0, 0.0, 10.0, 5.0)),
        (0.8, (0.5, 0.0, 10.0, 5.0)),  # the same plate again: takes nothing
        (0.3, (20.0, 0.0, 30.0, 5.0)),  # below the threshold
        (0.7, (44.0, 0.0, 54.0, 5.0)),  # IoU 0.43 < 0.5
    ]
    assert found_plates(plates, detections, 0.5) == [True, False, False]
    assert found_plates(plates, detections, 0.2) == [True, True, False]
    assert found_plates([], detections, 0.2) == []


def test_replay_gives_every_label_its_layout_and_leaves_the_generator_as_it_was(tmp_path: Path) -> None:
    sources = ds.scene_sources(_source(tmp_path), ["train_v"])
    before = {name: getattr(ds, name) for name in ("compose_scene", "draw_any_plate", "_night")}
    metas = replay(7, 6, sources)
    assert {name: getattr(ds, name) for name in before} == before  # unpatched again
    kinds = set()
    for i, meta in enumerate(metas):
        scene = ds.compose_scene(ds._scene_seed(7, i), sources)
        assert [box for box, _, _ in meta.plates] == list(scene.boxes)
        for _, layout, placement in meta.plates:
            assert layout in LAYOUTS or (layout, placement) == ("real", "real")
            kinds.add(placement)
        assert meta.background in {"real", "drawn"}
    assert kinds & {"free", "free_on_car", "replaced"}


def test_watching_restores_the_generator_after_an_error() -> None:
    original = ds.compose_scene
    with pytest.raises(RuntimeError), watching([]):
        assert ds.compose_scene is not original
        raise RuntimeError
    assert ds.compose_scene is original
