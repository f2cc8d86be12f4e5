"""Synthetic detector scenes: deterministic, labelled where the plates are, never from held-out videos."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from models.training.detector_synth import (
    OUT_LONG,
    SceneSource,
    compose_scene,
    draw_any_plate,
    paste_warped,
    scene_background,
    scene_sources,
    split_sources,
    write_synthetic_set,
    write_view_without,
    yolo_label,
)
from models.training.synthetic_plates import LAYOUTS


def _source(tmp_path: Path) -> Path:
    """A tiny ro_dashcam-like folder: two videos, one labelled plate per frame."""
    root = tmp_path / "src"
    (root / "images").mkdir(parents=True)
    (root / "annotations").mkdir()
    rows = ["image,video,second,original_split"]
    for video in ("train_v", "held_v"):
        for second in range(3):
            name = f"{video}_t{second:03d}"
            img = np.full((360, 640, 3), 90, np.uint8)
            img[200:214, 300:350] = 230
            cv2.imwrite(str(root / "images" / f"{name}.jpg"), img)
            (root / "annotations" / f"{name}.xml").write_text(
                f"<annotation><filename>{name}.jpg</filename><size><width>640</width><height>360</height></size>"
                "<object><name>license-plate</name><bndbox><xmin>300</xmin><ymin>200</ymin><xmax>350</xmax>"
                "<ymax>214</ymax></bndbox></object></annotation>"
            )
            rows.append(f"{name}.jpg,{video},{second},train")
    (root / "frames.csv").write_text("\n".join(rows) + "\n")
    return root


def test_sources_come_only_from_the_videos_asked_for(tmp_path: Path) -> None:
    sources = scene_sources(_source(tmp_path), ["train_v"])
    assert [s.image.name for s in sources] == ["train_v_t000.jpg", "train_v_t001.jpg", "train_v_t002.jpg"]
    assert sources[0].boxes == ((300, 200, 350, 214),)
    train, held = split_sources(sources, every=2)
    assert [s.image.name for s in held] == ["train_v_t000.jpg", "train_v_t002.jpg"]
    assert not {s.image for s in train} & {s.image for s in held}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_layout_draws_a_plate(layout: str) -> None:
    plate = draw_any_plate(random.Random(3), layout)
    h, w = plate.shape[:2]
    assert plate.dtype == np.uint8 and h >= 100 and 1.1 < w / h < 5.5


def test_unknown_layout_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown layout"):
        draw_any_plate(random.Random(0), "mars")


def test_paste_returns_the_visible_box() -> None:
    canvas = np.zeros((100, 200, 3), np.uint8)
    sprite = np.full((20, 60, 3), 255, np.uint8)
    quad = np.array([[10, 10], [70, 10], [70, 30], [10, 30]], np.float32)
    assert paste_warped(random.Random(0), canvas, sprite, quad) == (10, 10, 70, 30)
    assert canvas[20, 40].max() > 100 and canvas[50, 150].max() == 0
    half_out = quad + np.array([-40, 0], np.float32)
    assert paste_warped(random.Random(0), canvas, sprite, half_out) == (0, 10, 30, 30)
    assert paste_warped(random.Random(0), canvas, sprite, quad + 500) is None


def test_scenes_are_deterministic_and_labelled(tmp_path: Path) -> None:
    sources = scene_sources(_source(tmp_path), ["train_v"])
    for seed in range(6):
        a, b = compose_scene(seed, sources), compose_scene(seed, sources)
        assert np.array_equal(a.image, b.image) and a.boxes == b.boxes
        h, w = a.image.shape[:2]
        assert max(h, w) == OUT_LONG
        for x1, y1, x2, y2 in a.boxes:
            assert 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h
    drawn = compose_scene(11, [])  # no real frames at all: drawn streets
    assert max(drawn.image.shape[:2]) == OUT_LONG


def test_yolo_label_is_normalised() -> None:
    from models.training.detector_synth import SyntheticScene

    scene = SyntheticScene(np.zeros((100, 200, 3), np.uint8), ((20.0, 10.0, 60.0, 30.0),))
    assert yolo_label(scene) == "0 0.200000 0.200000 0.200000 0.200000\n"


def test_write_set_is_resumable(tmp_path: Path) -> None:
    sources = [SceneSource(p.image, p.boxes) for p in scene_sources(_source(tmp_path), ["train_v"])]
    images = write_synthetic_set(tmp_path / "syn", sources, 3, seed=5, progress=False)
    names = sorted(p.name for p in images.iterdir())
    assert names == ["syn_5_000000.jpg", "syn_5_000001.jpg", "syn_5_000002.jpg"]
    assert len(list((tmp_path / "syn" / "labels").iterdir())) == 3
    before = (images / names[0]).stat().st_mtime_ns
    write_synthetic_set(tmp_path / "syn", sources, 3, seed=5, progress=False)
    assert (images / names[0]).stat().st_mtime_ns == before


def _overlaps(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_lettering_is_added_unlabelled_and_leaves_the_plates_as_they_were(tmp_path: Path) -> None:
    sources = scene_sources(_source(tmp_path), ["train_v"])
    seen = 0
    for seed in range(8):
        plain = compose_scene(seed, sources)
        lettered = compose_scene(seed, sources, lettering=4)
        again = compose_scene(seed, sources, lettering=4)
        assert np.array_equal(lettered.image, again.image) and lettered.lettering == again.lettering
        assert lettered.boxes == plain.boxes  # the labels are the plates', unchanged
        assert plain.lettering == ()
        h, w = lettered.image.shape[:2]
        for box in lettered.lettering:
            assert 0 <= box[0] < box[2] <= w and 0 <= box[1] < box[3] <= h
            assert not any(_overlaps(box, plate) for plate in lettered.boxes)  # never over a labelled plate
            x1, y1, x2, y2 = (int(v) for v in box)
            diff = np.abs(lettered.image[y1:y2, x1:x2].astype(int) - plain.image[y1:y2, x1:x2].astype(int))
            assert diff.mean() > 3  # something was drawn there
        seen += len(lettered.lettering)
        assert len(lettered.lettering) <= 4
    assert seen >= 8  # most scenes carry some


@pytest.mark.parametrize("negatives", [{"lettering": 3}, {"vehicle": 2}], ids=["lettering", "vehicle"])
def test_sets_with_negatives_write_the_same_labels_as_plain_ones(tmp_path: Path, negatives: dict[str, Any]) -> None:
    sources = scene_sources(_source(tmp_path), ["train_v"])
    plain = write_synthetic_set(tmp_path / "plain", sources, 3, seed=9, progress=False)
    more = write_synthetic_set(tmp_path / "more", sources, 3, seed=9, progress=False, **negatives)
    for name in ("syn_9_000000", "syn_9_000001", "syn_9_000002"):
        label = (plain.parent / "labels" / f"{name}.txt").read_text()
        assert (more.parent / "labels" / f"{name}.txt").read_text() == label
        a, b = cv2.imread(str(plain / f"{name}.jpg")), cv2.imread(str(more / f"{name}.jpg"))
        assert a is not None and b is not None and a.shape == b.shape and not np.array_equal(a, b)


def test_scene_background_is_the_frame_compose_scene_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sources = scene_sources(_source(tmp_path), ["train_v"])
    read: list[str] = []
    real_imread = cv2.imread

    def spy(path: str, flags: int = cv2.IMREAD_COLOR) -> object:
        read.append(Path(path).name)
        return real_imread(path, flags)

    monkeypatch.setattr(cv2, "imread", spy)  # the module detector_synth reads frames with
    kinds = set()
    for seed in range(12):
        read.clear()
        compose_scene(seed, sources)
        background = scene_background(seed, sources)
        assert read[:1] == ([] if background is None else [background.name])
        kinds.add(background is None)
    assert kinds == {True, False}  # both drawn streets and real frames were seen


def test_view_without_leaves_out_the_scenes_on_excluded_frames(tmp_path: Path) -> None:
    sources = scene_sources(_source(tmp_path), ["train_v"])
    folder = tmp_path / "syn"
    write_synthetic_set(folder, sources, 12, seed=3, progress=False)
    on = {i: scene_background(3 * 1_000_003 + i, sources) for i in range(12)}
    excluded = {"train_v_t001.jpg"}
    images = write_view_without(folder, tmp_path / "view", sources, 12, 3, excluded)
    kept = sorted(p.stem for p in images.iterdir())
    expected = [f"syn_3_{i:06d}" for i, bg in on.items() if bg is None or bg.name not in excluded]
    assert kept == expected and 0 < len(kept) < 12
    for stem in kept:  # the very files of the set, with their labels beside them where ultralytics looks
        assert (images / f"{stem}.jpg").resolve() == (folder / "images" / f"{stem}.jpg").resolve()
        assert (tmp_path / "view" / "labels" / f"{stem}.txt").read_text() == (
            folder / "labels" / f"{stem}.txt"
        ).read_text()
    everything = write_view_without(folder, tmp_path / "view", sources, 12, 3, set())  # rewritten in place
    assert len(list(everything.iterdir())) == 12 and len(list((tmp_path / "view" / "labels").iterdir())) == 12
    with pytest.raises(FileNotFoundError, match="write the set"):
        write_view_without(folder, tmp_path / "view2", sources, 13, 3, set())


def test_degraded_lettering_changes_the_lettering_only(tmp_path: Path) -> None:
    sources = scene_sources(_source(tmp_path), ["train_v"])
    changed = 0
    for seed in range(6):
        crisp = compose_scene(seed, sources, lettering=4)
        assert np.array_equal(compose_scene(seed, sources, lettering=4, degraded=0.0).image, crisp.image)
        worse = compose_scene(seed, sources, lettering=4, degraded=1.0)
        again = compose_scene(seed, sources, lettering=4, degraded=1.0)
        assert np.array_equal(worse.image, again.image)
        assert worse.boxes == crisp.boxes and worse.lettering == crisp.lettering  # same places, same labels
        changed += not np.array_equal(worse.image, crisp.image)
    assert changed >= 4


def test_no_training_scene_is_composited_onto_held_back_frames(tmp_path: Path) -> None:
    from models.training.config import DetectorTrainConfig
    from models.training.detector import build_synthetic, not_to_train_on

    root = _source(tmp_path)
    cfg = DetectorTrainConfig.model_validate(
        {
            "data_root": root,
            "train_videos": ["train_v"],
            "val_videos": ["held_v"],
            "synthetic": {"train_images": 10, "holdout_images": 0, "holdout_every": 3, "out_dir": tmp_path / "s"},
            "real_validation": {"blocks": [{"video": "train_v", "first": 1, "last": 1}], "gap_frames": 0},
        }
    )
    assert not_to_train_on(cfg) == {"train_v_t001.jpg"}
    (images,) = build_synthetic(cfg)
    assert images.parent.name.startswith("train_s1_n10_without_")
    train_bg, _ = split_sources(scene_sources(root, ["train_v"]), 3)  # t000 is the held-out set's
    for p in images.iterdir():
        i = int(p.stem.rsplit("_", 1)[1])
        background = scene_background(1 * 1_000_003 + i, train_bg)
        assert background is None or background.name != "train_v_t001.jpg"
    assert len(list(images.iterdir())) < 10  # some scenes were on t001 and are left out


def test_vehicle_negatives_are_unlabelled_deterministic_and_off_by_default(tmp_path: Path) -> None:
    sources = scene_sources(_source(tmp_path), ["train_v"])
    seen = 0
    for seed in range(8):
        plain = compose_scene(seed, sources, lettering=2)
        assert np.array_equal(compose_scene(seed, sources, lettering=2, vehicle=0).image, plain.image)  # off: as before
        assert plain.vehicle == ()
        more = compose_scene(seed, sources, lettering=2, vehicle=3)
        again = compose_scene(seed, sources, lettering=2, vehicle=3)
        assert np.array_equal(more.image, again.image) and more.vehicle == again.vehicle
        assert more.boxes == plain.boxes and more.lettering == plain.lettering  # no labels added, none moved
        h, w = more.image.shape[:2]
        for box in more.vehicle:
            assert 0 <= box[0] < box[2] <= w and 0 <= box[1] < box[3] <= h
            assert not any(_overlaps(box, plate) for plate in more.boxes)  # never over a labelled plate
        seen += len(more.vehicle)
        assert len(more.vehicle) <= 3
    assert seen >= 8


def test_small_plates_are_labelled_deterministic_and_off_by_default(tmp_path: Path) -> None:
    sources = scene_sources(_source(tmp_path), ["train_v"])
    seen = 0
    for seed in range(8):
        plain = compose_scene(seed, sources, lettering=2)
        assert np.array_equal(compose_scene(seed, sources, lettering=2, small=0).image, plain.image)  # off: as before
        more = compose_scene(seed, sources, lettering=2, small=3, small_widths=(12.0, 20.0))
        again = compose_scene(seed, sources, lettering=2, small=3, small_widths=(12.0, 20.0))
        assert np.array_equal(more.image, again.image) and more.boxes == again.boxes
        assert more.boxes[: len(plain.boxes)] == plain.boxes and more.lettering == plain.lettering  # none moved
        added = more.boxes[len(plain.boxes) :]
        assert len(added) <= 3
        h, w = more.image.shape[:2]
        for i, box in enumerate(added):
            assert 0 <= box[0] < box[2] <= w and 0 <= box[1] < box[3] <= h
            assert box[2] - box[0] <= 20.0 * 1.4  # the plate's width, grown a little by its tilt and perspective
            others = [*more.boxes[: len(plain.boxes)], *added[:i], *more.lettering]
            assert not any(_overlaps(box, other) for other in others)
        seen += len(added)
    assert seen >= 8


def test_sets_without_small_plates_are_byte_identical_to_those_written_before(tmp_path: Path) -> None:
    sources = scene_sources(_source(tmp_path), ["train_v"])
    before = write_synthetic_set(tmp_path / "before", sources, 3, seed=9, progress=False, vehicle=2)
    now = write_synthetic_set(tmp_path / "now", sources, 3, seed=9, progress=False, vehicle=2, small=0)
    small = write_synthetic_set(tmp_path / "small", sources, 3, seed=9, progress=False, vehicle=2, small=4)
    grew = 0
    for name in ("syn_9_000000", "syn_9_000001", "syn_9_000002"):
        for kind, folder in (("images", ".jpg"), ("labels", ".txt")):
            a = (before.parent / kind / f"{name}{folder}").read_bytes()
            assert (now.parent / kind / f"{name}{folder}").read_bytes() == a
        label = (before.parent / "labels" / f"{name}.txt").read_text()
        bigger = (small.parent / "labels" / f"{name}.txt").read_text()
        assert bigger.startswith(label)
        grew += bigger != label
    assert grew >= 1
