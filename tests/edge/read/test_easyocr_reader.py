"""The easyocr plugin (English weights, CRAFT lines, the registration chosen among them) on rendered plates."""

from __future__ import annotations

import numpy as np
import pytest

from edge.config import ReaderConfig
from edge.read import PlateReader, make_reader
from models.training.synthetic_plates import render_clean


@pytest.fixture(scope="module")
def reader() -> PlateReader:
    return make_reader(ReaderConfig(runtime="easyocr"))


@pytest.mark.parametrize(
    ("seed", "layout", "text"), [(0, "br_old", "ABC1234"), (2, "us", "7TUV482"), (3, "ar_mercosur", "AB 123 CD")]
)
def test_it_reads_the_registration_of_a_clean_plate(reader: PlateReader, seed: int, layout: str, text: str) -> None:
    """The US plate's state name and slogan are text too: the registration is the tallest line."""
    reading = reader.read(render_clean(seed, layout, (text,)))
    assert reading is not None and reading.text == text.replace(" ", "")
    assert 0.0 < reading.confidence <= 1.0


def test_nothing_to_read_is_none(reader: PlateReader) -> None:
    assert reader.read(np.zeros((0, 0, 3), np.uint8)) is None
    assert reader.read(np.full((40, 120, 3), 128, np.uint8)) is None  # a blank plate-sized patch
