"""Reader evaluation: CER and look-alike tables, alignment, label formats, and a tiny end-to-end eval."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.types import Box, Image, Reading
from models.evaluation.reader import (
    GAP,
    align,
    character_error_rate,
    confusion_counts,
    edit_distance,
    evaluate_folders,
    exact_accuracy,
    fold_lookalikes,
    load_crops,
    load_folder,
    parse_box_line,
    plot_confusion,
    score_reads,
)
from models.training.synthetic_plates import render_clean
from platepatrol.errors import UserError


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [("", "", 0), ("", "ABC", 3), ("ABC", "", 3), ("ABC", "ABC", 0), ("ABC", "ABD", 1), ("AB", "BA", 2)],
)
def test_edit_distance(a: str, b: str, distance: int) -> None:
    assert edit_distance(a, b) == distance == edit_distance(b, a)


@pytest.mark.parametrize(
    ("predictions", "truths", "cer"),
    [
        ([], [], 0.0),  # nothing to measure
        (["ABC123"], ["ABC123"], 0.0),
        (["ABC12"], ["ABC123"], 1 / 6),  # a character missed
        ([""], ["ABC123"], 1.0),  # nothing read: every character wrong
        (["XXXXXXXXXXXX"], ["ABC123"], 2.0),  # can exceed 1: inserted characters count too
        (["AB", "ABCD"], ["AB", "ABCE"], 1 / 6),  # summed over the set, not averaged per plate
        (["A"], [""], 1.0),  # no reference characters: each predicted character is an error
        ([""], [""], 0.0),
    ],
)
def test_character_error_rate(predictions: list[str], truths: list[str], cer: float) -> None:
    assert character_error_rate(predictions, truths) == pytest.approx(cer)


@pytest.mark.parametrize(
    ("prediction", "truth", "exact", "forgiven"),
    [
        ("ABC123", "ABC123", True, True),
        ("A8C123", "ABC123", False, True),  # B/8
        ("0ISZ6Q", "OI5ZGO", False, True),  # O/0 I S/5 Z G/6 Q/0
        ("D1L", "01I", False, True),  # D/0, L/1 and I/1 fold together
        ("ABC12", "ABC123", False, False),  # a missing character is never forgiven
        ("ABC124", "ABC123", False, False),  # 4/3 are not look-alikes
        ("", "", True, True),
    ],
)
def test_lookalikes_forgiven(prediction: str, truth: str, exact: bool, forgiven: bool) -> None:
    assert exact_accuracy([prediction], [truth]) == float(exact)
    assert exact_accuracy([prediction], [truth], forgive_lookalikes=True) == float(forgiven)


def test_fold_lookalikes_table() -> None:
    assert fold_lookalikes("ODQILBSZG") == "000118526"
    assert fold_lookalikes("ACEHKMNPRTUVWXY3479") == "ACEHKMNPRTUVWXY3479"


def test_accuracy_of_an_empty_set_and_mismatched_lengths() -> None:
    assert exact_accuracy([], []) == 0.0
    with pytest.raises(ValueError):
        exact_accuracy(["A"], [])
    with pytest.raises(ValueError):
        character_error_rate([], ["A"])


def test_alignment_marks_substitutions_insertions_and_deletions() -> None:
    assert align("ABC", "ABC") == [("A", "A"), ("B", "B"), ("C", "C")]
    assert align("A8C", "ABC") == [("A", "A"), ("B", "8"), ("C", "C")]
    assert align("AC", "ABC") == [("A", "A"), ("B", GAP), ("C", "C")]
    assert align("ABXC", "ABC") == [("A", "A"), ("B", "B"), (GAP, "X"), ("C", "C")]
    assert align("", "") == []
    counts = confusion_counts(["A8C", "AC"], ["ABC", "ABC"])
    assert counts[("B", "8")] == 1 and counts[("B", GAP)] == 1 and counts[("A", "A")] == 2


def test_score_reads_counts_no_reading_as_wrong() -> None:
    score = score_reads("set", [Reading("ABC123", 0.9), None], ["ABC123", "XYZ789"], seconds=0.02)
    assert (score.crops, score.exact, score.no_reading) == (2, 0.5, 1)
    assert score.cer == pytest.approx(0.5)
    assert score.ms_per_crop == pytest.approx(10.0)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("car1.jpg 10 20 100 30 ABC-123", ("car1.jpg", Box(10, 20, 110, 50), "ABC123")),
        ("car1.jpg\t10\t20\t100\t30\tab 123", ("car1.jpg", Box(10, 20, 110, 50), "AB123")),
        ("", None),
        ("# a comment 1 2 3 4 X", None),
        ("car1.jpg 10 20 ABC123", None),
    ],
)
def test_parse_box_line(line: str, expected: tuple[str, Box, str] | None) -> None:
    assert parse_box_line(line) == expected


def _write_crops(folder: Path, plates: list[tuple[str, Image]]) -> None:
    (folder / "images").mkdir(parents=True)
    with (folder / "labels.csv").open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["image", "text"])
        for i, (text, image) in enumerate(plates):
            cv2.imwrite(str(folder / "images" / f"{i}.png"), image)
            writer.writerow([f"{i}.png", text])


def _write_scene(folder: Path, text: str, plate: Image) -> Box:
    folder.mkdir(parents=True)
    scene = np.full((240, 320, 3), 90, np.uint8)
    h, w = plate.shape[:2]
    x, y = 40, 100
    scene[y : y + h, x : x + w] = plate
    cv2.imwrite(str(folder / "car1.png"), scene)
    (folder / "car1.txt").write_text(f"car1.png\t{x}\t{y}\t{w}\t{h}\t{text}\n")
    return Box(x, y, x + w, y + h)


def test_load_folder_formats(tmp_path: Path) -> None:
    plate = render_clean(1, "eu", ("KL 482 TX",))
    _write_crops(tmp_path / "crops", [("KL482TX", plate)])
    box = _write_scene(tmp_path / "scenes", "KL 482 TX", np.asarray(cv2.resize(plate, (120, 28)), np.uint8))
    assert [(p.text, p.box) for p in load_folder(tmp_path / "crops")] == [("KL482TX", None)]
    assert [(p.image.name, p.text, p.box) for p in load_folder(tmp_path / "scenes")] == [("car1.png", "KL482TX", box)]
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError):
        load_folder(tmp_path / "empty")


def test_an_unreadable_image_is_named(tmp_path: Path) -> None:
    plate = render_clean(1, "eu", ("KL 482 TX",))
    _write_crops(tmp_path / "crops", [("KL482TX", plate)])
    [labelled] = load_folder(tmp_path / "crops")
    labelled.image.write_bytes(b"not an image")
    with pytest.raises(UserError, match=f"{labelled.image.name}: not a readable image"):
        load_crops([labelled])


def test_end_to_end_with_a_fake_reader(tmp_path: Path) -> None:
    """Crops and full images through the evaluation with a reader that knows the answers by crop width."""
    plate = render_clean(2, "br_old", ("ABC-1234",))
    _write_crops(
        tmp_path / "crops", [("ABC1234", plate), ("XYZ9876", np.asarray(cv2.resize(plate, (90, 30)), np.uint8))]
    )
    _write_scene(tmp_path / "scenes", "ABC1234", np.asarray(cv2.resize(plate, (150, 40)), np.uint8))

    def read_batch(crops: Sequence[Image]) -> list[Reading | None]:
        return [Reading("ABC1234", 0.9) if crop.shape[1] > 100 else None for crop in crops]

    scores, texts, truths = evaluate_folders(
        [tmp_path / "crops", tmp_path / "scenes"], read_batch, train_config=tmp_path / "none.yaml"
    )
    assert [s.name for s in scores] == ["crops", "scenes", "all"]
    assert [(s.crops, s.exact, s.no_reading) for s in scores] == [(2, 0.5, 1), (1, 1.0, 0), (3, 2 / 3, 1)]
    assert texts == ["ABC1234", "", "ABC1234"] and truths == ["ABC1234", "XYZ9876", "ABC1234"]
    png = plot_confusion(texts, truths, tmp_path / "confusion.png")
    assert png.stat().st_size > 1000


@pytest.mark.slow
def test_real_reader_end_to_end(tmp_path: Path) -> None:
    from models.evaluation.reader import run_reader_eval

    plates = [
        ("RIO2A18", render_clean(4, "br_mercosul", ("RIO2A18",))),
        ("KL482TX", render_clean(4, "eu", ("KL 482 TX",))),
    ]
    _write_crops(tmp_path / "crops", plates)
    (score,) = run_reader_eval([tmp_path / "crops"], weights=None, plot=tmp_path / "c.png")
    assert score.crops == 2 and score.exact == 1.0 and score.cer == 0.0
    assert (tmp_path / "c.png").exists()


def test_the_training_folder_is_measured_on_its_held_out_plates_only(tmp_path: Path) -> None:
    from models.evaluation.reader import held_out_only

    plate = render_clean(3, "br_old", ("ABC-1234",))
    _write_crops(tmp_path / "crops", [(f"AAA{i:04d}", plate) for i in range(20)])
    config = tmp_path / "train.yaml"
    config.write_text(f"br_crops: {tmp_path / 'crops'}\ntest_fraction: 0.25\nsplit_seed: 0\n")
    plates = load_folder(tmp_path / "crops")
    kept, note = held_out_only(tmp_path / "crops", plates, config)
    assert len(kept) == 5 and "held-out" in note
    (tmp_path / "other").mkdir()
    assert held_out_only(tmp_path / "other", plates, config) == (plates, "")


@pytest.mark.parametrize(
    ("runtime", "regions", "complaint"),
    [("easyocr", ("br",), "CTC reader"), ("plate_onnx", ("br", "br"), "each region once"), ("plate_onnx", ("xx",), "")],
)
def test_bad_reader_settings_are_a_clear_error(runtime: str, regions: tuple[str, ...], complaint: str) -> None:
    from models.evaluation.reader import load_reader

    with pytest.raises(UserError, match=f"bad reader settings: .*{complaint}"):
        load_reader(runtime, None, 1, regions)


def test_label_corrections_add_an_audited_score_per_set(tmp_path: Path) -> None:
    from models.evaluation.label_corrections import parse_corrections

    plate = render_clean(2, "br_old", ("ABC-1234",))
    _write_crops(tmp_path / "crops", [("ABC1234", plate), ("QBC1234", plate), ("XYZ9876", plate)])

    def read_batch(crops: Sequence[Image]) -> list[Reading | None]:
        return [Reading("ABC1234", 0.9) for _ in crops]

    corrections = parse_corrections(["1.png QBC1234 ABC1234 no tail", "2.png XYZ9876 ? blank"], "c.txt")
    scores, _, truths = evaluate_folders(
        [tmp_path / "crops"], read_batch, train_config=tmp_path / "none.yaml", corrections=corrections
    )
    assert [(s.name, s.crops, s.exact) for s in scores] == [("crops", 3, 1 / 3), ("crops audited", 2, 1.0)]
    assert truths == ["ABC1234", "QBC1234", "XYZ9876"]  # the confusion matrix stays on the labels as given
