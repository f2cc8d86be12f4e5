"""Audited corrections of reader evaluation labels: `platepatrol models eval --reader --label-corrections FILE`.

A file of corrections names, one crop a line, the crop's file name, its label as given, the label a blind audit
found on the plate (or `?` when no one can read it) and a one-line reason, separated by whitespace:

    br_0123_QTV0166.jpg  QTV0166  OTV0166  first glyph round with no tail; positions 1-3 are letters

Blank lines and lines starting with `#` are skipped. Every other line must parse: a bad line is refused with its
file and line number, never skipped. The corrections change only what the evaluation compares readings with;
which crops are held out (split by the given labels) never changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from platepatrol.errors import UserError
from platepatrol.plates import PLATE_ALPHABET

UNREADABLE = "?"  # the corrected label of a crop no one can read: left out of the audited figures


@dataclass(frozen=True)
class LabelCorrection:
    """One audited crop: `corrected` is None when the plate cannot be read by eye."""

    file: str
    given: str
    corrected: str | None
    reason: str
    source: str  # 'path:line', for messages


class LabelCorrectionError(UserError):
    """A corrections file that cannot be used as it is; the message names the file and line."""


def _plate_field(value: str, what: str, where: str) -> str:
    bad = sorted({ch for ch in value if ch not in PLATE_ALPHABET})
    if not value or bad:
        raise LabelCorrectionError(f"{where}: {what} {value!r} is not a plate (A-Z, 0-9 only; bad: {''.join(bad)})")
    return value


def parse_correction_line(line: str, where: str) -> LabelCorrection | None:
    """`file given corrected reason...` -> a correction; None for blank and comment lines; else a clear error."""
    stripped = line.strip()
    if not stripped or stripped.startswith("#"):
        return None
    fields = stripped.split(maxsplit=3)
    if len(fields) < 4:
        raise LabelCorrectionError(
            f"{where}: expected 'file given corrected reason', got {len(fields)} field(s): {stripped!r}"
        )
    file, given, corrected, reason = fields
    given = _plate_field(given, "given label", where)
    if corrected == UNREADABLE:
        return LabelCorrection(file, given, None, reason, where)
    corrected = _plate_field(corrected, "corrected label", where)
    if corrected == given:
        raise LabelCorrectionError(f"{where}: corrected label {corrected!r} is the given one (no correction)")
    return LabelCorrection(file, given, corrected, reason, where)


def parse_corrections(lines: Iterable[str], source: str) -> dict[str, LabelCorrection]:
    """Every correction of `lines` by file name; a file named twice is an error."""
    corrections: dict[str, LabelCorrection] = {}
    for number, line in enumerate(lines, 1):
        correction = parse_correction_line(line, f"{source}:{number}")
        if correction is None:
            continue
        earlier = corrections.get(correction.file)
        if earlier is not None:
            raise LabelCorrectionError(
                f"{correction.source}: {correction.file} is corrected already at {earlier.source}"
            )
        corrections[correction.file] = correction
    return corrections


def load_corrections(paths: Sequence[Path]) -> dict[str, LabelCorrection]:
    """The corrections of every file in `paths`, by crop file name (a crop in two files is an error)."""
    merged: dict[str, LabelCorrection] = {}
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise LabelCorrectionError(f"{path}: cannot read the label corrections ({error.strerror})") from None
        for name, correction in parse_corrections(text.splitlines(), str(path)).items():
            earlier = merged.get(name)
            if earlier is not None:
                raise LabelCorrectionError(f"{correction.source}: {name} is corrected already at {earlier.source}")
            merged[name] = correction
    return merged


@dataclass(frozen=True)
class AuditedLabels:
    """The audited truth of each crop in order (None: unreadable, left out) and how many lines applied."""

    truths: tuple[str | None, ...]
    corrected: int
    unreadable: int


def audit_labels(
    names: Sequence[str], truths: Sequence[str], corrections: Mapping[str, LabelCorrection]
) -> AuditedLabels:
    """Apply `corrections` (by file name) to the given `truths`; a correction whose given label is not the crop's
    label is an error (the file was written for other labels). Corrections of crops not in `names` are ignored."""
    if len(names) != len(truths):
        raise ValueError(f"{len(names)} names for {len(truths)} labels")
    audited: list[str | None] = []
    corrected = unreadable = 0
    for name, truth in zip(names, truths, strict=True):
        correction = corrections.get(name)
        if correction is None:
            audited.append(truth)
            continue
        if correction.given != truth:
            raise LabelCorrectionError(
                f"{correction.source}: {name} is labelled {truth!r} here, not {correction.given!r} as the line says"
            )
        audited.append(correction.corrected)
        corrected += correction.corrected is not None
        unreadable += correction.corrected is None
    return AuditedLabels(tuple(audited), corrected, unreadable)


def audited_kept(
    names: Sequence[str],
    truths: Sequence[str],
    corrections: Mapping[str, LabelCorrection],
    trained_plates: frozenset[str] = frozenset(),
) -> tuple[list[tuple[int, str]], AuditedLabels, int]:
    """The (index, audited label) of each crop the audited figures keep, what the audit did, and how many crops
    were left out as plates trained on (`trained_plates`; unreadable crops are left out too)."""
    audited = audit_labels(names, truths, corrections)
    kept = [(i, t) for i, t in enumerate(audited.truths) if t is not None and t not in trained_plates]
    seen = sum(t is not None and t in trained_plates for t in audited.truths)
    return kept, audited, seen
