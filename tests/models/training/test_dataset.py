from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from models.training.dataset import (
    Frame,
    HeldBack,
    VocBox,
    boxes_in_window,
    build_yolo_dataset,
    hard_negative_window,
    parse_box_file,
    parse_voc,
    split_by_video,
    voc_to_yolo,
    yolo_label_text,
)

VOC = """<annotation><filename>a.jpg</filename><size><width>200</width><height>100</height><depth>3</depth></size>
<object><name>license-plate</name><bndbox><xmin>50</xmin><ymin>40</ymin><xmax>90</xmax><ymax>60</ymax></bndbox></object>
<object><name>license-plate</name><bndbox><xmin>-5</xmin><ymin>0</ymin><xmax>15</xmax><ymax>10</ymax></bndbox></object>
</annotation>"""


def test_voc_to_yolo_normalises_centre_and_size() -> None:
    box = voc_to_yolo(VocBox(50, 40, 90, 60), 200, 100)
    assert box is not None
    assert (box.cx, box.cy, box.w, box.h) == pytest.approx((0.35, 0.5, 0.2, 0.2))


@pytest.mark.parametrize("box", [VocBox(210, 10, 250, 20), VocBox(10, 10, 10, 20), VocBox(-30, -30, -1, -1)])
def test_boxes_outside_or_empty_are_dropped(box: VocBox) -> None:
    assert voc_to_yolo(box, 200, 100) is None


def test_label_text_clips_boxes_to_the_image() -> None:
    lines = yolo_label_text(parse_voc(VOC)).splitlines()
    assert lines[0] == "0 0.350000 0.500000 0.200000 0.200000"
    assert lines[1] == "0 0.037500 0.050000 0.075000 0.100000"  # clipped at x = 0


def test_unknown_class_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown class 'car'"):
        yolo_label_text(parse_voc(VOC.replace("license-plate", "car", 1)))


def test_split_by_video_never_mixes_videos() -> None:
    frames = [Frame("a1.jpg", "a"), Frame("b1.jpg", "b"), Frame("a2.jpg", "a"), Frame("c1.jpg", "c")]
    splits = split_by_video(frames, {"train": ["a"], "val": ["b"]})
    assert [f.image for f in splits["train"]] == ["a1.jpg", "a2.jpg"]
    assert [f.image for f in splits["val"]] == ["b1.jpg"]
    with pytest.raises(ValueError, match="is in splits"):
        split_by_video(frames, {"train": ["a"], "val": ["a"]})


def test_build_dataset_from_a_small_source(tmp_path: Path) -> None:
    source = _frames_source(tmp_path)
    out = tmp_path / "dataset"
    data_yaml = build_yolo_dataset(source, out, ["v1"], ["v2"])
    assert sorted(p.name for p in (out / "images" / "train").iterdir()) == ["v1_t001.jpg"]
    assert sorted(p.name for p in (out / "labels" / "val").iterdir()) == ["v2_t001.txt"]
    assert yaml.safe_load(data_yaml.read_text())["names"] in ({0: "license-plate"}, ["license-plate"])
    build_yolo_dataset(source, out, ["v2"], ["v1"])  # rebuilt with the videos swapped: nothing stale is left
    assert sorted(p.name for p in (out / "images" / "train").iterdir()) == ["v2_t001.jpg"]


def test_box_file_lines_comments_and_errors() -> None:
    text = "# plates the annotators missed\n\nv1_t001.jpg 10 20 30 5 B123ABC\nsub/v1_t001.jpg 0 0 4 4\n"
    assert parse_box_file(text) == {"v1_t001.jpg": [VocBox(10, 20, 40, 25), VocBox(0, 0, 4, 4)]}
    for bad in ("v1.jpg 1 2 3\n", "v1.jpg 1 2 x 4\n", "v1.jpg 1 2 0 4\n"):
        with pytest.raises(ValueError, match="line 1"):
            parse_box_file(bad)


def test_hard_negative_window_is_16_9_inside_the_frame() -> None:
    w = hard_negative_window(VocBox(100, 50, 140, 60), 1280, 720, scale=6.0)
    assert (w.xmax - w.xmin, w.ymax - w.ymin) == (240, 135)
    assert (w.xmin + w.xmax) / 2 == pytest.approx(120, abs=1)
    corner = hard_negative_window(VocBox(0, 700, 20, 720), 1280, 720, scale=3.0)  # small: at least 192 px wide
    assert (corner.xmin, corner.ymax, corner.xmax - corner.xmin) == (0, 720, 192)
    whole = hard_negative_window(VocBox(0, 0, 1000, 300), 1280, 720, scale=6.0)  # never larger than the frame
    assert (whole.xmin, whole.ymin, whole.xmax, whole.ymax) == (0, 0, 1280, 720)


def test_boxes_in_window_are_clipped_and_slivers_dropped() -> None:
    window = VocBox(100, 100, 300, 200)
    plates = [VocBox(120, 150, 160, 160), VocBox(280, 150, 320, 160), VocBox(298, 150, 340, 160), VocBox(0, 0, 9, 9)]
    assert boxes_in_window(plates, window) == [VocBox(20, 50, 60, 60), VocBox(180, 50, 200, 60)]


def _frames_source(tmp_path: Path) -> Path:
    source = tmp_path / "source"
    (source / "images").mkdir(parents=True)
    (source / "annotations").mkdir()
    rows = ["image,video,second,original_split"]
    for video in ("v1", "v2"):
        name = f"{video}_t001.jpg"
        cv2.imwrite(str(source / "images" / name), np.full((100, 200, 3), 90, np.uint8))
        (source / "annotations" / f"{video}_t001.xml").write_text(VOC)
        rows.append(f"{name},{video},1,train")
    (source / "frames.csv").write_text("\n".join(rows) + "\n")
    return source


def test_extra_labels_and_hard_negatives_go_to_training_only(tmp_path: Path) -> None:
    source, out = _frames_source(tmp_path), tmp_path / "dataset"
    missed = {"v1_t001.jpg": [VocBox(100, 20, 140, 30)]}
    negatives = {"v1_t001.jpg": [VocBox(40, 38, 60, 48)]}
    data_yaml = build_yolo_dataset(source, out, ["v1"], ["v2"], extra_labels=missed, hard_negatives=negatives)
    train = (out / "labels" / "train" / "v1_t001.txt").read_text().splitlines()
    assert train == [
        "0 0.350000 0.500000 0.200000 0.200000",
        "0 0.037500 0.050000 0.075000 0.100000",
        "0 0.600000 0.250000 0.200000 0.100000",
    ]
    assert len((out / "labels" / "val" / "v2_t001.txt").read_text().splitlines()) == 2  # as given
    crops = sorted(p.name for p in (out / "images" / "hardneg").iterdir())
    assert crops == ["v1_t001_neg0_x3.jpg", "v1_t001_neg0_x6.jpg"]
    image = cv2.imread(str(out / "images" / "hardneg" / crops[0]))
    assert image is not None and image.shape[:2] == (100, 192)  # 192 px wide at least; 16:9 unless the frame is lower
    labels = (out / "labels" / "hardneg" / "v1_t001_neg0_x3.txt").read_text().splitlines()
    assert len(labels) == 3  # the frame's plates (given and missed) that the crop holds, none for the negative
    assert str(out / "images" / "hardneg") in str(yaml.safe_load(data_yaml.read_text())["train"])
    build_yolo_dataset(source, out, ["v1"], ["v2"])  # without them: the crops go, the labels are as given again
    assert not list((out / "images" / "hardneg").iterdir())
    assert len((out / "labels" / "train" / "v1_t001.txt").read_text().splitlines()) == 2
    with pytest.raises(ValueError, match="not training frames"):
        build_yolo_dataset(source, out, ["v1"], ["v2"], extra_labels={"v2_t001.jpg": [VocBox(1, 1, 5, 5)]})


def _video_source(tmp_path: Path, frames: int = 10) -> Path:
    """v1: `frames` frames in time order (one plate each); v2: one frame (held out)."""
    source = tmp_path / "src"
    (source / "images").mkdir(parents=True)
    (source / "annotations").mkdir()
    rows = ["image,video,second,original_split"]
    names = [("v1", f"v1_t{i:03d}") for i in reversed(range(frames))] + [("v2", "v2_t000")]  # csv out of order
    for video, stem in names:
        cv2.imwrite(str(source / "images" / f"{stem}.jpg"), np.full((100, 200, 3), 90, np.uint8))
        (source / "annotations" / f"{stem}.xml").write_text(VOC)
        rows.append(f"{stem}.jpg,{video},{stem[-3:]},train")
    (source / "frames.csv").write_text("\n".join(rows) + "\n")
    return source


def test_held_back_blocks_and_their_gaps_in_time_order() -> None:
    frames = [Frame(f"v1_t{i:03d}.jpg", "v1") for i in reversed(range(10))] + [Frame("w_t000.jpg", "w")]
    held = HeldBack(blocks=(("v1", 3, 4), ("v1", 9, 9)), gap_frames=2)
    train, validation = held.split_frames(frames)
    assert [f.image for f in validation] == ["v1_t003.jpg", "v1_t004.jpg", "v1_t009.jpg"]
    # gaps: 1, 2 before the first block, 5, 6 after it; 7, 8 before the last (nothing after the video's end)
    assert sorted(f.image for f in train) == ["v1_t000.jpg", "w_t000.jpg"]
    assert HeldBack(blocks=(("v1", 0, 0),), gap_frames=0).split_frames(frames)[1] == [Frame("v1_t000.jpg", "v1")]
    with pytest.raises(ValueError, match="has 10 frames"):
        HeldBack(blocks=(("v1", 5, 10),), gap_frames=0).split_frames(frames)


def test_held_back_frames_are_never_trained_on(tmp_path: Path) -> None:
    source, out = _video_source(tmp_path), tmp_path / "dataset"
    held = HeldBack(blocks=(("v1", 4, 5),), gap_frames=1)
    missed = {"v1_t004.jpg": [VocBox(100, 20, 140, 30)], "v1_t000.jpg": [VocBox(100, 20, 140, 30)]}
    negatives = {"v1_t005.jpg": [VocBox(40, 38, 60, 48)], "v1_t003.jpg": [VocBox(40, 38, 60, 48)]}
    data_yaml = build_yolo_dataset(
        source, out, ["v1"], ["v2"], extra_labels=missed, hard_negatives=negatives, held_back=held
    )
    names = {kind: sorted(p.name for p in (out / "images" / kind).iterdir()) for kind in ("train", "realval")}
    assert names["realval"] == ["v1_t004.jpg", "v1_t005.jpg"]
    assert names["train"] == [f"v1_t{i:03d}.jpg" for i in (0, 1, 2, 7, 8, 9)]  # 3 and 6 are the gaps
    # the block keeps its labels as given (the audited ones go to eval --extra-labels); training keeps its extras
    assert len((out / "labels" / "realval" / "v1_t004.txt").read_text().splitlines()) == 2
    assert len((out / "labels" / "train" / "v1_t000.txt").read_text().splitlines()) == 3
    assert not list((out / "images" / "hardneg").iterdir())  # both negatives lie in the block or its gap
    data = yaml.safe_load(data_yaml.read_text())
    assert data["val"] == "images/val" and "realval" not in str(data["train"])
    build_yolo_dataset(source, out, ["v1"], ["v2"])  # without: every frame trains again
    assert len(list((out / "images" / "train").iterdir())) == 10


def test_hard_negatives_at_the_zooms_asked_for(tmp_path: Path) -> None:
    source, out = _frames_source(tmp_path), tmp_path / "dataset"
    negatives = {"v1_t001.jpg": [VocBox(40, 38, 60, 48)]}
    build_yolo_dataset(source, out, ["v1"], ["v2"], hard_negatives=negatives, hard_negative_scales=(2.0, 4.5, 9.0))
    crops = sorted(p.name for p in (out / "images" / "hardneg").iterdir())
    assert crops == ["v1_t001_neg0_x2.jpg", "v1_t001_neg0_x4.5.jpg", "v1_t001_neg0_x9.jpg"]
    assert sorted(p.name for p in (out / "labels" / "hardneg").iterdir()) == [c[:-4] + ".txt" for c in crops]
    build_yolo_dataset(source, out, ["v1"], ["v2"], hard_negatives=negatives)  # the default: stages 4-7's two
    assert sorted(p.name for p in (out / "images" / "hardneg").iterdir()) == [
        "v1_t001_neg0_x3.jpg",
        "v1_t001_neg0_x6.jpg",
    ]
