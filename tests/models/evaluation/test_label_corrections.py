"""Label corrections: the one parser of 'file given corrected reason' lines, applied to a set's labels."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.types import Reading
from models.evaluation.label_corrections import (
    LabelCorrection,
    LabelCorrectionError,
    audit_labels,
    load_corrections,
    parse_correction_line,
    parse_corrections,
)
from models.evaluation.reader import score_audited
from platepatrol.errors import UserError

SHIPPED = Path(__file__).resolve().parents[3] / "models" / "reader" / "labels" / "br_crops_label_corrections.txt"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("", None),
        ("   ", None),
        ("# a comment a b c", None),
        ("  # indented comment", None),
        (
            "br_0074_QTV0166.jpg QTV0166 OTV0166 round O, no tail",
            LabelCorrection("br_0074_QTV0166.jpg", "QTV0166", "OTV0166", "round O, no tail", "f:1"),
        ),
        ("a.png\tABC123\tABD123\tD", LabelCorrection("a.png", "ABC123", "ABD123", "D", "f:1")),
        ("a.png ABC123 ? no plate here", LabelCorrection("a.png", "ABC123", None, "no plate here", "f:1")),
    ],
)
def test_parse_correction_line(line: str, expected: LabelCorrection | None) -> None:
    assert parse_correction_line(line, "f:1") == expected


@pytest.mark.parametrize(
    ("line", "complaint"),
    [
        ("a.png ABC123 ABD123", "expected 'file given corrected reason', got 3"),  # no reason
        ("a.png", "got 1 field"),
        ("a.png abc123 ABD123 lower case", "given label 'abc123' is not a plate"),
        ("a.png ABC-123 ABD123 a dash", "given label 'ABC-123' is not a plate"),
        ("a.png ABC123 AB?123 a mark", "corrected label 'AB?123' is not a plate"),
        ("a.png ABC123 ABC123 the same", "is the given one"),
        ("a.png ? ABC123 unreadable given", "given label '?' is not a plate"),
    ],
)
def test_bad_lines_are_refused_naming_the_line(line: str, complaint: str) -> None:
    with pytest.raises(LabelCorrectionError, match=r"^f:7: ") as raised:
        parse_correction_line(line, "f:7")
    assert complaint in str(raised.value)
    assert isinstance(raised.value, UserError)  # commands turn it into a one-line message


def test_parse_corrections_numbers_lines_and_refuses_a_file_twice() -> None:
    lines = ["# header", "", "a.png ABC123 ABD123 D", "b.png XYZ789 ? blank"]
    parsed = parse_corrections(lines, "c.txt")
    assert list(parsed) == ["a.png", "b.png"]
    assert parsed["a.png"].source == "c.txt:3" and parsed["b.png"].corrected is None
    assert parse_corrections([], "c.txt") == {}
    with pytest.raises(LabelCorrectionError, match=r"c.txt:2: a.png is corrected already at c.txt:1"):
        parse_corrections(["a.png ABC123 ABD123 D", "a.png ABC123 ABE123 E"], "c.txt")
    with pytest.raises(LabelCorrectionError, match=r"c.txt:2: expected"):
        parse_corrections(["a.png ABC123 ABD123 D", "junk"], "c.txt")


def test_load_corrections_merges_files_and_names_a_missing_one(tmp_path: Path) -> None:
    first, second = tmp_path / "one.txt", tmp_path / "two.txt"
    first.write_text("a.png ABC123 ABD123 D\n")
    second.write_text("# other set\nb.png XYZ789 XYZ780 0\n")
    assert sorted(load_corrections([first, second])) == ["a.png", "b.png"]
    assert load_corrections([]) == {}
    second.write_text("a.png ABC123 ABE123 E\n")
    with pytest.raises(LabelCorrectionError, match=r"two.txt:1: a.png is corrected already at .*one.txt:1"):
        load_corrections([first, second])
    with pytest.raises(LabelCorrectionError, match="cannot read"):
        load_corrections([tmp_path / "missing.txt"])


def test_audit_labels_applies_by_file_name() -> None:
    corrections = parse_corrections(["b.png BBB222 BBB228 8", "c.png CCC333 ? blank", "z.png ZZZ999 ZZZ990 0"], "f")
    audited = audit_labels(["a.png", "b.png", "c.png"], ["AAA111", "BBB222", "CCC333"], corrections)
    assert audited.truths == ("AAA111", "BBB228", None)
    assert (audited.corrected, audited.unreadable) == (1, 1)
    assert audit_labels([], [], corrections).truths == ()
    with pytest.raises(ValueError, match="2 names for 1 labels"):
        audit_labels(["a.png", "b.png"], ["AAA111"], corrections)


def test_a_correction_written_for_another_label_is_refused() -> None:
    corrections = parse_corrections(["b.png BBB222 BBB228 8"], "f")
    with pytest.raises(LabelCorrectionError, match=r"f:1: b.png is labelled 'BBB220' here, not 'BBB222'"):
        audit_labels(["b.png"], ["BBB220"], corrections)


def test_score_audited_leaves_out_unreadable_and_trained_plates() -> None:
    corrections = parse_corrections(
        ["b.png BBB222 BBB228 8", "c.png CCC333 ? blank", "d.png DDD444 TRN111 a trained plate"], "f"
    )
    readings = [Reading("AAA111", 0.9), Reading("BBB228", 0.8), Reading("CCC333", 0.7), Reading("TRN111", 0.9)]
    names = ["a.png", "b.png", "c.png", "d.png"]
    truths = ["AAA111", "BBB222", "CCC333", "DDD444"]
    score, note = score_audited("set", readings, names, truths, 0.04, corrections, frozenset({"TRN111"}))
    assert (score.name, score.crops, score.exact) == ("set audited", 2, 1.0)
    assert score.ms_per_crop == pytest.approx(10.0)
    assert note == (
        "set: 2 label(s) corrected, 1 unreadable crop(s) and 1 crop(s) of trained plates left out of the audited "
        "figures"
    )
    empty, _ = score_audited("none", [], [], [], 0.0, corrections)
    assert (empty.crops, empty.exact) == (0, 0.0)


def test_the_shipped_br_corrections_parse() -> None:
    corrections = load_corrections([SHIPPED])
    assert len(corrections) >= 1
    assert all(c.file.startswith("br_") for c in corrections.values())


def test_audited_kept_indexes_the_crops_the_audited_figures_keep() -> None:
    from models.evaluation.label_corrections import audited_kept

    corrections = parse_corrections(["b.png BBB222 TRN111 a trained plate", "c.png CCC333 ? blank"], "f")
    kept, audited, seen = audited_kept(
        ["a.png", "b.png", "c.png"], ["AAA111", "BBB222", "CCC333"], corrections, frozenset({"TRN111"})
    )
    assert kept == [(0, "AAA111")] and seen == 1 and (audited.corrected, audited.unreadable) == (1, 1)
    assert audited_kept([], [], corrections) == ([], audit_labels([], [], corrections), 0)
