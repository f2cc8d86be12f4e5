"""End-to-end evaluation: matching what the car read to labelled plates, the scores, label files, and the command."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.observe import PlateInImage
from edge.types import Box, Detection, Reading
from models.evaluation.end_to_end import (
    ImageOutcome,
    LabelledImage,
    PlateOutcome,
    load_labelled_images,
    match_image,
    score_outcomes,
    write_misses,
)
from tests.scenes import demo_frame, with_plate

NO_PIXELS = np.zeros((1, 1, 3), np.uint8)


def found(box: Box, text: str | None) -> PlateInImage:
    return PlateInImage(Detection(box, 0.9), Reading(text, 0.9) if text is not None else None, NO_PIXELS)


LABELLED = LabelledImage(
    Path("car.jpg"),
    plates=((Box(100, 100, 200, 130), "B121PHD"), (Box(400, 100, 500, 130), "CJ12XYZ"), (Box(700, 0, 800, 30), "X1")),
    unreadable=(Box(600, 300, 700, 330),),
)


def test_each_plate_takes_the_best_overlapping_detection_once() -> None:
    outcome = match_image(
        LABELLED,
        [
            found(Box(105, 100, 205, 130), "B121PH0"),  # overlaps the first plate less well than the next one
            found(Box(100, 100, 200, 130), "B121PHD"),
            found(Box(430, 100, 530, 130), "CJ12XYZ"),  # IoU 0.54 with the second plate: a match
            found(Box(600, 300, 700, 330), "AB12"),  # a reading of the plate labelled unreadable: not false
            found(Box(0, 600, 100, 630), None),  # a detection the reader refused: nothing shown, nothing false
            found(Box(740, 0, 840, 30), "X1"),  # IoU 0.43 with the third plate: no match, a false reading
        ],
    )
    assert outcome.plates == (
        PlateOutcome("car.jpg", "B121PHD", "B121PHD"),
        PlateOutcome("car.jpg", "CJ12XYZ", "CJ12XYZ"),
        PlateOutcome("car.jpg", "X1", None),
    )
    assert outcome.false_readings == ("B121PH0", "X1")


def test_a_plate_whose_detection_was_not_read_is_not_found() -> None:
    outcome = match_image(LABELLED, [found(Box(100, 100, 200, 130), None)])
    assert [p.read for p in outcome.plates] == [None, None, None] and outcome.false_readings == ()


def test_scores_count_exact_look_alikes_found_and_false_readings() -> None:
    outcomes = [
        ImageOutcome(
            "a.jpg", (PlateOutcome("a.jpg", "B121PHD", "B121PHD"), PlateOutcome("a.jpg", "B75PCX", "8759CX")), ()
        ),
        ImageOutcome(
            "b.jpg", (PlateOutcome("b.jpg", "CJ12XYZ", None), PlateOutcome("b.jpg", "B3OOABC", "B300ABC")), ("AB1",)
        ),
    ]
    score = score_outcomes("set", outcomes, seconds=0.5)
    assert (score.images, score.plates, score.false_readings) == (2, 4, 1)
    assert (score.exact, score.exact_lookalikes_forgiven, score.found) == (0.25, 0.5, 0.75)
    assert score.ms_per_image == pytest.approx(250.0)
    assert score_outcomes("none", [], 0.0).exact == 0.0


def test_misses_list_wrong_plates_and_false_readings(tmp_path: Path) -> None:
    outcome = match_image(LABELLED, [found(Box(100, 100, 200, 130), "B121PH0"), found(Box(0, 600, 100, 630), "ZZ99")])
    lines = write_misses([outcome], tmp_path / "misses.tsv").read_text().splitlines()
    assert lines == [
        "image\ttruth\tread",
        "car.jpg\tB121PHD\tB121PH0",
        "car.jpg\tCJ12XYZ\t-",
        "car.jpg\tX1\t-",
        "car.jpg\t-\tZZ99",
    ]


def test_a_labels_file_names_images_in_another_folder(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    labels = tmp_path / "plates.txt"
    labels.write_text(
        "# day ride\n"
        "f1.jpg 10 20 100 25 B 121 PHD\n"
        "f1.jpg 300 20 90 22 ?\n"
        "f2.jpg 5 5 80 20 cj-12-xyz\n"
        "f3.jpg 5 5 80 20 ?\n"
    )
    loaded = load_labelled_images(labels, tmp_path / "images")
    assert loaded == [
        LabelledImage(tmp_path / "images" / "f1.jpg", ((Box(10, 20, 110, 45), "B121PHD"),), (Box(300, 20, 390, 42),)),
        LabelledImage(tmp_path / "images" / "f2.jpg", ((Box(5, 5, 85, 25), "CJ12XYZ"),)),
        LabelledImage(tmp_path / "images" / "f3.jpg", (), (Box(5, 5, 85, 25),)),
    ]
    assert load_labelled_images(labels)[0].path == tmp_path / "f1.jpg"  # beside the labels by default
    labels.write_text("f1.jpg 10 20 100 25 ?\n")
    with pytest.raises(FileNotFoundError, match="no 'file x y w h TEXT' lines with a plate's text"):
        load_labelled_images(labels)


@pytest.mark.slow
def test_the_command_reads_a_plate_in_a_real_scene(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The car's shipped detector and reader on a rendered EU plate pasted into a frame of the demo clip."""
    from models.cli import app

    frame = demo_frame()
    x, y = 80, frame.shape[0] - 120
    cv2.imwrite(str(tmp_path / "scene.png"), with_plate(frame, "KL 482 TX", x, y, 180, 40))
    (tmp_path / "plates.txt").write_text(f"scene.png {x} {y} 180 40 KL482TX\n")

    from typer.testing import CliRunner

    result = CliRunner().invoke(
        app, ["eval", "--end-to-end", str(tmp_path / "plates.txt"), "--misses", str(tmp_path / "misses.tsv")]
    )
    assert result.exit_code == 0, result.output
    assert "plates" in result.output and "100.00%" in result.output, result.output
    assert (tmp_path / "misses.tsv").read_text().splitlines()[0] == "image\ttruth\tread"
