"""Regional plate formats ("country patterns"): the shapes a jurisdiction's registrations take, for decoding.

A format is a compact pattern, one symbol per character: `L` a letter A-Z, `N` a digit 0-9. A region is a named
set of formats (`REGIONS`); the reader may be told which regions it patrols (`ReaderConfig.plate_formats`) and
then prefers, among the texts the network finds likely, one that fits a format (edge/read/ctc.py).

Only formats we are sure of are listed. Brazil: the old grey plates `LLLNNNN` (ABC1234) and Mercosul plates
`LLLNLNN` (ABC1D23, since 2018). Argentina: the old plates `LLLNNN` (ABC123, 1995-2016) and Mercosur plates
`LLNNNLL` (AB123CD, since 2016). Motorcycle and special series (diplomatic, official) are left out: a reading
that fits no format keeps the network's own best text when the format's best is far less probable.

`FormatAutomaton` is the formats compiled for a network's alphabet: per position, which classes each format
allows, as bit masks over the formats (one bit per format), so a prefix's live formats are one integer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import get_args

from edge.config import PlateRegion

LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
DIGITS = frozenset("0123456789")
SYMBOLS: dict[str, frozenset[str]] = {"L": LETTERS, "N": DIGITS}
MAX_LENGTH = 12  # no registration is longer; a longer pattern is a typo


@dataclass(frozen=True)
class PlateFormat:
    """One registration shape: `pattern` (e.g. 'LLLNLNN') and, per position, the characters allowed there."""

    region: str
    name: str
    pattern: str
    positions: tuple[frozenset[str], ...]

    def __len__(self) -> int:
        return len(self.positions)

    def matches(self, text: str) -> bool:
        if len(text) != len(self.positions):
            return False
        return all(ch in allowed for ch, allowed in zip(text, self.positions, strict=True))


def parse_pattern(pattern: str) -> tuple[frozenset[str], ...]:
    """'LLNNNLL' -> the allowed characters per position; ValueError for an empty, too long or unknown pattern."""
    if not pattern:
        raise ValueError("a plate format pattern cannot be empty")
    if len(pattern) > MAX_LENGTH:
        raise ValueError(f"plate format {pattern!r}: longer than {MAX_LENGTH} characters")
    unknown = sorted(set(pattern) - set(SYMBOLS))
    if unknown:
        raise ValueError(f"plate format {pattern!r}: unknown symbols {unknown} (L: letter, N: digit)")
    return tuple(SYMBOLS[symbol] for symbol in pattern)


def plate_format(region: str, name: str, pattern: str) -> PlateFormat:
    return PlateFormat(region, name, pattern, parse_pattern(pattern))


REGIONS: dict[str, tuple[PlateFormat, ...]] = {
    "br": (plate_format("br", "old", "LLLNNNN"), plate_format("br", "mercosul", "LLLNLNN")),
    "ar": (plate_format("ar", "old", "LLLNNN"), plate_format("ar", "mercosur", "LLNNNLL")),
}
assert set(REGIONS) == set(get_args(PlateRegion)), "edge.config.PlateRegion must name exactly the regions here"


def formats_of(regions: Iterable[str]) -> tuple[PlateFormat, ...]:
    """The formats of the named regions, in order, each pattern once (two regions may share one)."""
    found: dict[str, PlateFormat] = {}
    for region in regions:
        if region not in REGIONS:
            raise ValueError(f"unknown plate format region {region!r}; known: {', '.join(sorted(REGIONS))}")
        for fmt in REGIONS[region]:
            found.setdefault(fmt.pattern, fmt)
    return tuple(found.values())


def conforms(text: str, formats: Sequence[PlateFormat]) -> bool:
    return any(fmt.matches(text) for fmt in formats)


@dataclass(frozen=True)
class FormatAutomaton:
    """Formats compiled for an alphabet (class c >= 1 is alphabet[c - 1]; class 0 is the CTC blank).

    allow[k][c]: the formats (bits) that allow class c at position k; complete[n]: the formats of length n.
    A prefix's live formats are the AND of allow[k][prefix[k]] over its positions (`ALL` for the empty one).
    """

    formats: tuple[PlateFormat, ...]
    allow: tuple[tuple[int, ...], ...]
    complete: tuple[int, ...]

    @property
    def all(self) -> int:
        return (1 << len(self.formats)) - 1

    @property
    def max_length(self) -> int:
        return len(self.allow)

    def step(self, live: int, position: int, cls: int) -> int:
        """The formats still live after class `cls` at `position` (0: the prefix has left every format)."""
        return live & self.allow[position][cls] if position < len(self.allow) else 0

    def live(self, labels: Sequence[int]) -> int:
        state = self.all
        for position, cls in enumerate(labels):
            state = self.step(state, position, cls)
            if not state:
                return 0
        return state

    def accepts(self, labels: Sequence[int]) -> bool:
        """Whether the class sequence spells a whole plate of some format."""
        n = len(labels)
        return n < len(self.complete) and bool(self.live(labels) & self.complete[n])


def compile_formats(formats: Sequence[PlateFormat], alphabet: str) -> FormatAutomaton:
    if not formats:
        raise ValueError("no plate formats to compile")
    length = max(len(fmt) for fmt in formats)
    allow = tuple(
        tuple(
            0
            if c == 0
            else sum(1 << i for i, fmt in enumerate(formats) if k < len(fmt) and alphabet[c - 1] in fmt.positions[k])
            for c in range(len(alphabet) + 1)
        )
        for k in range(length)
    )
    complete = tuple(sum(1 << i for i, fmt in enumerate(formats) if len(fmt) == n) for n in range(length + 1))
    return FormatAutomaton(tuple(formats), allow, complete)


@lru_cache(maxsize=16)
def automaton_for(regions: tuple[str, ...], alphabet: str) -> FormatAutomaton | None:
    """The compiled formats of `regions` for `alphabet`, or None when no region is named (decoding unconstrained)."""
    return compile_formats(formats_of(regions), alphabet) if regions else None


def parse_regions(text: str | None) -> tuple[str, ...]:
    """A command line's `--plate-formats br,ar` as region names ('' or 'none': no formats); checked by the config."""
    if text is None or text.strip().lower() in ("", "none"):
        return ()
    return tuple(part.strip().lower() for part in text.split(",") if part.strip())
