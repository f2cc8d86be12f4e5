"""The crop statistics that compare real and rendered crops."""

from __future__ import annotations

import numpy as np

from models.evaluation.reader_crop_stats import (
    CropStats,
    contact_sheet,
    crop_stats,
    format_table,
    light_ink,
    summarise,
    text_band_fraction,
)


def _plate(light: bool) -> np.ndarray:
    """64 x 160: characters as vertical bars in rows 16-47 (half the height)."""
    paper, ink = (30, 220) if light else (220, 30)
    image = np.full((64, 160), paper, np.uint8)
    for x in range(10, 150, 20):
        image[16:48, x : x + 5] = ink
    return image


def test_text_band_is_the_share_of_rows_with_vertical_strokes() -> None:
    assert abs(text_band_fraction(_plate(False)) - 0.5) <= 0.07
    assert text_band_fraction(np.zeros((40, 100), np.uint8)) == 0.0


def test_ink_polarity() -> None:
    assert light_ink(_plate(True)) and not light_ink(_plate(False))


def test_crop_stats_of_a_plate() -> None:
    stats = crop_stats(_plate(False))
    assert (stats.height, stats.width, stats.aspect) == (64, 160, 2.5)
    assert stats.contrast > 100 and stats.saturated == 0.0 and not stats.light_ink and stats.sharpness > 0


def test_summary_has_percentiles_and_the_light_ink_share() -> None:
    stats = [crop_stats(_plate(light)) for light in (True, False, False, False)]
    summary = summarise(stats)
    assert summary["light_ink"] == (0.25, 0.25, 0.25)
    assert summary["height"] == (64.0, 64.0, 64.0)
    assert "text_band" in format_table({"a": summary, "b": summary})


def test_contact_sheet_puts_columns_side_by_side_at_the_readers_height() -> None:
    sheet = contact_sheet([[_plate(True)] * 3, [_plate(False)]], tile_width=100)
    assert sheet.shape == (3 * 68, 2 * 108)
    assert sheet[0, 0] == 30 and sheet[70, 108] == 255  # the second column is shorter: white below
    assert isinstance(CropStats.__dataclass_fields__, dict)
