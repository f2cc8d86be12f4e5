"""The detector evaluation: label parsers, IoU matching, precision-recall, and a tiny folder end to end."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from models.evaluation.detector import (
    SourceResult,
    average_precision,
    evaluate_folder,
    iou,
    load_extra_labels,
    load_folder,
    match,
    parse_box_lines,
    parse_voc_boxes,
    parse_yolo_lines,
    plot_pr,
    pr_curve,
    precision_recall,
    report_table,
    threshold_for_precision,
    txt_kind,
    yolo_to_xyxy,
)
from tests.models.evaluation.stand_ins import BrightBoxes

VOC = """<annotation><filename>a.jpg</filename><size><width>200</width><height>100</height></size>
<object><name>license-plate</name><bndbox><xmin>50</xmin><ymin>40</ymin><xmax>90</xmax><ymax>60</ymax></bndbox></object>
<object><name>plate</name><bndbox><xmin>1.5</xmin><ymin>2</ymin><xmax>10</xmax><ymax>8</ymax></bndbox></object>
</annotation>"""


def test_voc_boxes_any_class() -> None:
    assert parse_voc_boxes(VOC) == [(50, 40, 90, 60), (1.5, 2, 10, 8)]
    assert parse_voc_boxes("<annotation><size><width>1</width><height>1</height></size></annotation>") == []


def test_voc_box_missing_a_corner_is_an_error() -> None:
    with pytest.raises(ValueError, match="xmax"):
        parse_voc_boxes(
            "<annotation><object><bndbox><xmin>1</xmin><ymin>1</ymin><ymax>2</ymax></bndbox></object></annotation>"
        )


def test_yolo_lines_and_conversion() -> None:
    assert parse_yolo_lines("0 0.5 0.5 0.2 0.1\n\n0 0.1 0.2 0.3 0.4 0.99\n") == [
        (0.5, 0.5, 0.2, 0.1),
        (0.1, 0.2, 0.3, 0.4),
    ]
    assert parse_yolo_lines("") == []
    assert yolo_to_xyxy((0.5, 0.5, 0.2, 0.1), 200, 100) == pytest.approx((80, 45, 120, 55))
    with pytest.raises(ValueError, match="line 1"):
        parse_yolo_lines("0 0.5 0.5\n")


def test_box_lines_top_left_and_size_in_pixels() -> None:
    text = "car1.jpg 10 20 30 40 ABC123\nsub/car2.png 0 0 5.5 6\n"
    assert parse_box_lines(text) == [
        ("car1.jpg", (10, 20, 40, 60), "ABC123"),
        ("car2.png", (0, 0, 5.5, 6), ""),
    ]
    with pytest.raises(ValueError):
        parse_box_lines("0 1 2 3 4\n")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("0 0.5 0.5 0.2 0.1\n", "yolo"),
        ("\n  car.jpg 1 2 3 4 AB12\n", "lines"),
        ("", None),
        ("just some notes\n", None),
    ],
)
def test_txt_kind(text: str, kind: str | None) -> None:
    assert txt_kind(text) == kind


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ((0, 0, 10, 10), (0, 0, 10, 10), 1.0),
        ((0, 0, 10, 10), (10, 0, 20, 10), 0.0),  # touching edges share no area
        ((0, 0, 10, 10), (5, 0, 15, 10), 50 / 150),
        ((0, 0, 10, 10), (2, 2, 4, 4), 4 / 100),
        ((0, 0, 0, 0), (0, 0, 0, 0), 0.0),  # degenerate boxes
    ],
)
def test_iou(a: tuple[float, ...], b: tuple[float, ...], expected: float) -> None:
    assert iou(a, b) == pytest.approx(expected)  # type: ignore[arg-type]


PLATE = (0.0, 0.0, 10.0, 10.0)


@pytest.mark.parametrize(
    ("truth", "detections", "expected"),
    [
        ([], [], []),
        ([PLATE], [], []),
        ([], [(0.9, PLATE)], [(0.9, False)]),
        ([PLATE], [(0.9, PLATE)], [(0.9, True)]),
        # IoU exactly 0.5 counts; just under does not
        ([PLATE], [(0.8, (0.0, 0.0, 10.0, 5.0))], [(0.8, True)]),
        ([PLATE], [(0.8, (0.0, 0.0, 10.0, 4.9))], [(0.8, False)]),
        # a plate matches once: the best-scored duplicate wins, whatever the input order
        ([PLATE], [(0.3, PLATE), (0.7, (0.0, 0.0, 10.0, 9.0))], [(0.7, True), (0.3, False)]),
        # two plates, two detections: each takes its own
        ([PLATE, (20.0, 0.0, 30.0, 10.0)], [(0.5, (20.0, 0.0, 30.0, 10.0)), (0.6, PLATE)], [(0.6, True), (0.5, True)]),
    ],
)
def test_match(
    truth: list[tuple[float, float, float, float]],
    detections: list[tuple[float, tuple[float, float, float, float]]],
    expected: list[tuple[float, bool]],
) -> None:
    assert match(truth, detections) == expected


@pytest.mark.parametrize(
    ("tp", "found", "plates", "expected"),
    [
        (0, 0, 0, (1.0, 1.0)),
        (0, 0, 4, (1.0, 0.0)),
        (0, 3, 0, (0.0, 1.0)),
        (3, 4, 6, (0.75, 0.5)),
        (2, 2, 2, (1.0, 1.0)),
    ],
)
def test_precision_recall_edges(tp: int, found: int, plates: int, expected: tuple[float, float]) -> None:
    assert precision_recall(tp, found, plates) == expected


def test_pr_curve_and_average_precision() -> None:
    scored = [(0.9, True), (0.8, False), (0.7, True), (0.6, False)]
    thresholds, precisions, recalls = pr_curve(scored, plates=4)
    assert thresholds == [0.9, 0.8, 0.7, 0.6]
    assert precisions == pytest.approx([1.0, 0.5, 2 / 3, 0.5])
    assert recalls == pytest.approx([0.25, 0.25, 0.5, 0.5])
    # interpolated: 0.25 at precision 1, then 0.25 more at 2/3
    assert average_precision(scored, 4) == pytest.approx(0.25 + 0.25 * 2 / 3)
    assert average_precision([], 4) == 0.0
    assert math.isnan(average_precision([(0.5, False)], 0))


def test_pr_curve_ties_enter_together() -> None:
    thresholds, precisions, _ = pr_curve([(0.5, False), (0.5, True)], plates=1)
    assert thresholds == [0.5]
    assert precisions == [0.5]


def _image(path: Path, rects: list[tuple[int, int, int, int]], size: tuple[int, int] = (120, 200)) -> None:
    img = np.zeros((*size, 3), np.uint8)
    for x1, y1, x2, y2 in rects:
        img[y1:y2, x1:x2] = 255
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), img)


def test_tiny_folders_in_all_three_formats(tmp_path: Path) -> None:
    # VOC: one plate found, one white patch that is no plate (a false alarm)
    voc = tmp_path / "voc"
    _image(voc / "images" / "a.png", [(50, 40, 90, 60), (150, 90, 160, 100)])
    (voc / "annotations").mkdir()
    (voc / "annotations" / "a.xml").write_text(VOC)
    # YOLO, ultralytics layout: labels beside images/, plus an unlabelled image (no plates)
    yolo = tmp_path / "yolo"
    _image(yolo / "images" / "val" / "b.png", [(80, 45, 120, 55)])
    _image(yolo / "images" / "val" / "c.png", [])
    (yolo / "labels" / "val").mkdir(parents=True)
    (yolo / "labels" / "val" / "b.txt").write_text("0 0.5 0.416667 0.2 0.083333\n")
    # one line per plate, one file for all images; the second plate is missed
    lines = tmp_path / "lines"
    _image(lines / "d.png", [(10, 10, 60, 30)])
    (lines / "labels.txt").write_text("d.png 10 10 50 20 AB123CD\nd.png 100 60 40 20 XY999\n")

    assert load_folder(voc)[1] == "voc"
    assert load_folder(yolo)[1] == "yolo"
    assert load_folder(lines)[1] == "lines"
    results = [evaluate_folder(f, BrightBoxes(narrow_score=0.4), progress=False) for f in (voc, yolo, lines)]
    assert [(r.images, r.plates) for r in results] == [(1, 2), (2, 1), (1, 2)]
    assert results[0].at(0.35)[:2] == pytest.approx((0.5, 0.5))  # the 10-px patch matches nothing
    assert results[0].at(0.5)[:2] == pytest.approx((1.0, 0.5))
    assert results[1].at(0.35)[:2] == pytest.approx((1.0, 1.0))
    assert results[2].at(0.35)[:2] == pytest.approx((1.0, 0.5))
    table = report_table(results, 0.35)
    assert "voc" in table and "all" in table.splitlines()[-1]
    png = plot_pr(results, 0.35, tmp_path / "pr.png")
    assert png.stat().st_size > 1000


def test_folder_without_labels_is_an_error(tmp_path: Path) -> None:
    _image(tmp_path / "x.png", [])
    with pytest.raises(ValueError, match="no labels"):
        load_folder(tmp_path)
    with pytest.raises(ValueError, match="no images"):
        load_folder(_empty(tmp_path))


def _empty(tmp_path: Path) -> Path:
    (tmp_path / "empty").mkdir()
    return tmp_path / "empty"


def test_the_shipped_onnx_detector_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The command's path with the car's detector plugin, on a drawn scene with one synthetic plate."""
    from models.evaluation.detector import run_detector_eval
    from models.training.detector_synth import compose_scene

    scene = compose_scene(7, [])
    cv2.imwrite(str(tmp_path / "scene.jpg"), scene.image)
    lines = "".join(f"scene.jpg {x1:.0f} {y1:.0f} {x2 - x1:.0f} {y2 - y1:.0f} P\n" for x1, y1, x2, y2 in scene.boxes)
    (tmp_path / "scene.txt").write_text(lines or "\n")
    (tmp_path / "empty.txt").write_text("")
    results = run_detector_eval([tmp_path], weights=None, plot=tmp_path / "curve.png", threads=1)
    out = capsys.readouterr().out
    assert "recall" in out and (tmp_path / "curve.png").is_file()
    assert results[0].images == 1 and results[0].plates == len(scene.boxes)


def test_extra_labels_add_plates_the_annotators_missed(tmp_path: Path) -> None:
    # one labelled plate, one unlabelled plate the detector also finds: a false alarm until the audit adds it
    voc = tmp_path / "voc"
    _image(voc / "images" / "a.png", [(50, 40, 90, 60), (110, 80, 150, 95)])
    (voc / "annotations").mkdir()
    (voc / "annotations" / "a.xml").write_text(
        VOC.replace("<object><name>plate</name>", "<x>").replace(
            "<xmax>10</xmax><ymax>8</ymax></bndbox></object>", "<xmax>10</xmax><ymax>8</ymax></bndbox></x>"
        )
    )
    extra = tmp_path / "missing.txt"
    extra.write_text("# audited by eye\na.png 110 80 40 15\nother.png 1 1 5 5\n")
    boxes = load_extra_labels(extra)
    assert boxes == {"a.png": [(110, 80, 150, 95)], "other.png": [(1, 1, 6, 6)]}
    given = evaluate_folder(voc, BrightBoxes(narrow_score=0.4), progress=False)
    audited = evaluate_folder(voc, BrightBoxes(narrow_score=0.4), progress=False, extra_labels=boxes)
    assert (given.plates, audited.plates) == (1, 2)
    assert given.at(0.35)[:2] == pytest.approx((0.5, 1.0))
    assert audited.at(0.35)[:2] == pytest.approx((1.0, 1.0))
    assert audited.label_format == "voc+extra" and given.label_format == "voc"
    extra.write_text("a.png 110 80 forty 15\n")
    with pytest.raises(ValueError, match="line 1"):
        load_extra_labels(extra)


def test_threshold_for_precision_is_the_lowest_that_reaches_the_target() -> None:
    r = SourceResult("s", "yolo", images=1, plates=4, scored=[(0.9, True), (0.6, False), (0.5, True), (0.3, False)])
    grid = [0.2, 0.4, 0.55, 0.7, 0.95]
    assert threshold_for_precision(r, 0.5, grid) == 0.2  # 2 of 4
    assert threshold_for_precision(r, 0.6, grid) == 0.4  # 2 of 3
    assert threshold_for_precision(r, 0.99, grid) == 0.7  # 1 of 1
    assert threshold_for_precision(r, 0.99, [0.2, 0.4, 0.95]) is None  # nothing kept at 0.95 counts as no answer
