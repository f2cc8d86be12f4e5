import pytest

from edge.read.text_lines import TextBox, registration


def box(text: str, left: float, top: float = 10, height: float = 60, confidence: float = 0.9) -> TextBox:
    return TextBox(text, confidence, left, top, height)


def test_nothing_readable() -> None:
    assert registration([]) is None
    assert registration([box("--", 0)]) is None


def test_one_line() -> None:
    text, confidence = registration([box("b 123 abc", 0)]) or ("", 0.0)
    assert text == "B123ABC"
    assert confidence == pytest.approx(0.9)


def test_pieces_join_left_to_right() -> None:
    text, _ = registration([box("LPM", 200), box("B98", 10)]) or ("", 0)
    assert text == "B98LPM"


def test_the_small_country_band_is_left_out() -> None:
    text, _ = registration([box("RO", 0, top=40, height=25), box("B58DTK", 60)]) or ("", 0)
    assert text == "B58DTK"


def test_two_rows_read_top_row_first() -> None:
    text, _ = registration([box("123", 0, top=80), box("ABC", 10, top=10)]) or ("", 0)
    assert text == "ABC123"


def test_confidence_is_weighted_by_characters() -> None:
    _, confidence = registration([box("AAAA", 0, confidence=1.0), box("B", 300, confidence=0.5)]) or ("", 0)
    assert confidence == pytest.approx((4 * 1.0 + 0.5) / 5)
