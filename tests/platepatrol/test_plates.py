import pytest

from platepatrol.plates import PLATE_ALPHABET, normalise_plate


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", ""),
        ("   ", ""),
        ("b 123 abc", "B123ABC"),
        ("CJ-12-XYZ", "CJ12XYZ"),
        ("äb·1", "B1"),  # letters outside A-Z are not plate characters
        ("０１", ""),  # full-width digits are not ASCII digits
        ("AB123CD", "AB123CD"),
    ],
)
def test_normalise_plate(raw: str, expected: str) -> None:
    assert normalise_plate(raw) == expected


def test_alphabet_is_letters_and_digits() -> None:
    assert len(PLATE_ALPHABET) == 36
    assert normalise_plate(PLATE_ALPHABET.lower()) == PLATE_ALPHABET
