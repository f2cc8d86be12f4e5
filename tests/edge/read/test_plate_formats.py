"""Regional plate formats: parsing patterns, the named regions, and the automaton the beam search walks."""

from __future__ import annotations

import re
from typing import get_args

import pytest
from pydantic import ValidationError

from edge.config import PlateRegion, ReaderConfig
from edge.read.plate_formats import (
    DIGITS,
    LETTERS,
    MAX_LENGTH,
    REGIONS,
    automaton_for,
    compile_formats,
    conforms,
    formats_of,
    parse_pattern,
    plate_format,
)

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("L", (LETTERS,)),
        ("N", (DIGITS,)),
        ("LNL", (LETTERS, DIGITS, LETTERS)),
        ("L" * MAX_LENGTH, (LETTERS,) * MAX_LENGTH),
    ],
)
def test_patterns_parse_to_allowed_characters(pattern: str, expected: tuple[frozenset[str], ...]) -> None:
    assert parse_pattern(pattern) == expected


@pytest.mark.parametrize(
    ("pattern", "complaint"),
    [
        ("", "empty"),
        ("L" * (MAX_LENGTH + 1), "longer"),
        ("LLD", "unknown symbols"),  # D is not a symbol: digits are N
        ("ll", "unknown symbols"),
        ("LL NN", "unknown symbols"),
    ],
)
def test_bad_patterns_are_refused(pattern: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        parse_pattern(pattern)


def test_every_configurable_region_has_formats_and_no_other() -> None:
    assert set(REGIONS) == set(get_args(PlateRegion))
    for region, formats in REGIONS.items():
        assert formats and all(fmt.region == region for fmt in formats)
        assert all(fmt.positions == parse_pattern(fmt.pattern) for fmt in formats)


@pytest.mark.parametrize(
    ("regions", "patterns"),
    [
        ((), ()),
        (("br",), ("LLLNNNN", "LLLNLNN")),
        (("ar",), ("LLLNNN", "LLNNNLL")),
        (("br", "ar"), ("LLLNNNN", "LLLNLNN", "LLLNNN", "LLNNNLL")),
        (("ar", "br"), ("LLLNNN", "LLNNNLL", "LLLNNNN", "LLLNLNN")),
    ],
)
def test_regions_name_their_formats(regions: tuple[str, ...], patterns: tuple[str, ...]) -> None:
    assert tuple(fmt.pattern for fmt in formats_of(regions)) == patterns


def test_a_pattern_two_regions_share_is_kept_once(monkeypatch: pytest.MonkeyPatch) -> None:
    first, again, other = plate_format("x", "a", "LLN"), plate_format("y", "b", "LLN"), plate_format("y", "c", "NL")
    monkeypatch.setitem(REGIONS, "x", (first,))
    monkeypatch.setitem(REGIONS, "y", (again, other))
    assert formats_of(["x", "y"]) == (first, other)


def test_an_unknown_region_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown plate format region 'zz'"):
        formats_of(["br", "zz"])


@pytest.mark.parametrize(
    ("text", "br", "ar"),
    [
        ("ABC1234", True, False),  # Brazil, old
        ("ABC1D23", True, False),  # Mercosul
        ("ABC123", False, True),  # Argentina, old
        ("AB123CD", False, True),  # Mercosur
        ("", False, False),
        ("ABC12345", False, False),  # one too many
        ("AB1234", False, False),
        ("ABCD123", False, False),
        ("0BC1234", False, False),  # a digit where a letter must be
        ("ABC1D2O", False, False),  # a letter where a digit must be (the look-alike the formats fix)
    ],
)
def test_texts_conform_to_their_region(text: str, br: bool, ar: bool) -> None:
    assert conforms(text, formats_of(["br"])) is br
    assert conforms(text, formats_of(["ar"])) is ar
    assert conforms(text, formats_of(["br", "ar"])) is (br or ar)


def _regex(patterns: list[str]) -> re.Pattern[str]:
    parts = ["".join("[A-Z]" if s == "L" else "[0-9]" for s in p) for p in patterns]
    return re.compile("(?:" + "|".join(parts) + ")")


@pytest.mark.parametrize(
    "text", ["", "A", "ABC", "ABC1", "ABC12", "ABC123", "ABC1234", "ABC1D23", "AB123CD", "AB123C", "ABC1D2X", "1"]
)
def test_the_automaton_accepts_what_the_formats_match(text: str) -> None:
    automaton = automaton_for(("br", "ar"), ALPHABET)
    assert automaton is not None
    labels = [ALPHABET.index(ch) + 1 for ch in text]
    assert automaton.accepts(labels) is bool(_regex(["LLLNNNN", "LLLNLNN", "LLLNNN", "LLNNNLL"]).fullmatch(text))
    # a prefix is live exactly when it starts some format
    starts = any(fmt.matches(text + rest) for fmt in formats_of(["br", "ar"]) for rest in _completions(text, fmt))
    assert bool(automaton.live(labels)) is starts


def _completions(text: str, fmt: object) -> list[str]:
    """One completion of `text` to each length up to the format's (enough to test liveness)."""
    positions = getattr(fmt, "positions", ())
    if len(text) > len(positions):
        return []
    return ["".join(sorted(allowed)[0] for allowed in positions[len(text) :])]


def test_the_blank_is_never_allowed_and_no_regions_compile_to_nothing() -> None:
    automaton = compile_formats(formats_of(["br"]), ALPHABET)
    assert all(position[0] == 0 for position in automaton.allow)
    assert automaton.step(automaton.all, automaton.max_length, 1) == 0  # past the longest format
    assert automaton_for((), ALPHABET) is None
    with pytest.raises(ValueError, match="no plate formats"):
        compile_formats((), ALPHABET)


@pytest.mark.parametrize(
    ("value", "ok"),
    [([], True), (["br"], True), (["br", "ar"], True), (["ar", "br"], True), (["br", "br"], False), (["xx"], False)],
)
def test_reader_config_takes_known_regions_once(value: list[str], ok: bool) -> None:
    if ok:
        assert ReaderConfig.model_validate({"plate_formats": value}).plate_formats == tuple(value)
    else:
        with pytest.raises(ValidationError):
            ReaderConfig.model_validate({"plate_formats": value})


def test_formats_are_off_by_default() -> None:
    assert ReaderConfig().plate_formats == ()
    assert ReaderConfig.raw().plate_formats == ()
    with pytest.raises(ValidationError):
        ReaderConfig(format_ratio=0.0)


def test_formats_need_a_ctc_runtime() -> None:
    assert ReaderConfig(runtime="plate_ocr", plate_formats=("br",)).plate_formats == ("br",)
    assert ReaderConfig(runtime="easyocr").plate_formats == ()
    with pytest.raises(ValidationError, match="CTC reader"):
        ReaderConfig(runtime="easyocr", plate_formats=("br",))
