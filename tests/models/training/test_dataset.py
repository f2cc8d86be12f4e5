from pathlib import Path

import pytest
import yaml

from models.training.dataset import (
    Frame,
    VocBox,
    build_yolo_dataset,
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
    source = tmp_path / "source"
    (source / "images").mkdir(parents=True)
    (source / "annotations").mkdir()
    rows = ["image,video,second,original_split"]
    for video in ("v1", "v2"):
        name = f"{video}_t001.jpg"
        (source / "images" / name).write_bytes(b"jpeg")
        (source / "annotations" / f"{video}_t001.xml").write_text(VOC)
        rows.append(f"{name},{video},1,train")
    (source / "frames.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "dataset"
    data_yaml = build_yolo_dataset(source, out, ["v1"], ["v2"])
    assert sorted(p.name for p in (out / "images" / "train").iterdir()) == ["v1_t001.jpg"]
    assert sorted(p.name for p in (out / "labels" / "val").iterdir()) == ["v2_t001.txt"]
    assert yaml.safe_load(data_yaml.read_text())["names"] in ({0: "license-plate"}, ["license-plate"])
    build_yolo_dataset(source, out, ["v2"], ["v1"])  # rebuilt with the videos swapped: nothing stale is left
    assert sorted(p.name for p in (out / "images" / "train").iterdir()) == ["v2_t001.jpg"]
