"""Renderers 2 and 3 (Argentine plates drawn after the real ar_crops) and the switch that keeps renderer 1 as it was."""

from __future__ import annotations

import random

import numpy as np
import pytest

from models.training.synthetic_plates import (
    AR_LAYOUTS,
    AR_MOTO,
    LAYOUTS,
    RENDERERS,
    SQUARE_DOT,
    TWO_ROW_LAYOUTS,
    _ar_row,
    draw_ar_moto,
    draw_ar_plate,
    label_of,
    moto_rows,
    render_plate,
)


@pytest.mark.parametrize("layout", AR_LAYOUTS)
def test_renderer_2_is_deterministic_per_seed(layout: str) -> None:
    a, b = render_plate(11, layout, renderer=2), render_plate(11, layout, renderer=2)
    assert np.array_equal(a.image, b.image) and a.text == b.text


@pytest.mark.parametrize("renderer", [2, 3])
@pytest.mark.parametrize("layout", [layout for layout in LAYOUTS if layout not in AR_LAYOUTS])
def test_later_renderers_draw_other_layouts_as_renderer_1(layout: str, renderer: int) -> None:
    for seed in range(5):
        one, later = render_plate(seed, layout), render_plate(seed, layout, renderer=renderer)
        assert np.array_equal(one.image, later.image) and one.text == later.text


def test_renderer_1_is_the_default() -> None:
    for seed in range(10):
        assert np.array_equal(render_plate(seed).image, render_plate(seed, renderer=1).image)


@pytest.mark.parametrize("layout", AR_LAYOUTS)
def test_renderer_2_argentine_crops_are_grey_with_the_same_text(layout: str) -> None:
    for seed in range(20):
        one, two = render_plate(seed, layout), render_plate(seed, layout, renderer=2)
        assert two.text == one.text and two.layout == layout  # the text is drawn before the look
        assert two.image.ndim == 3 and two.image.shape[0] >= 30 and two.image.shape[1] >= 30
        assert np.array_equal(two.image[..., 0], two.image[..., 1]) and np.array_equal(
            two.image[..., 1], two.image[..., 2]
        )
        low, high = np.percentile(two.image[..., 0], (5, 95))
        assert high - low >= 30  # never washed out past reading


def test_renderer_2_differs_from_renderer_1_on_argentine_plates() -> None:
    one, two = render_plate(3, "ar_old"), render_plate(3, "ar_old", renderer=2)
    assert one.image.shape != two.image.shape or not np.array_equal(one.image, two.image)


def test_unknown_renderer_is_refused() -> None:
    with pytest.raises(ValueError, match="renderer"):
        render_plate(0, "ar_old", renderer=max(RENDERERS) + 1)


def test_old_plates_split_their_groups_without_changing_the_label() -> None:
    middles = {_ar_row(random.Random(seed), "ABC 123", "ar_old")[3:-3] for seed in range(200)}
    assert middles == {" ", f" {SQUARE_DOT} ", SQUARE_DOT, "-"}
    assert all(label_of((f"ABC{m}123",)) == "ABC123" for m in middles)
    assert _ar_row(random.Random(0), "AB 123 CD", "ar_mercosur") == "AB 123 CD"


def test_old_plates_are_light_on_dark_inside_a_light_rim() -> None:
    plate = draw_ar_plate(random.Random(5), "ar_old", ("ABC 123",))[..., 0].astype(int)
    h, w = plate.shape
    rim, field = plate[2, w // 2], np.median(plate[h // 2, w // 10 : w // 5])
    assert rim > 150 and field < 100  # the rim's top edge and the field left of the characters
    assert plate[h // 3 : 2 * h // 3].max() > 150  # light characters in the field


def test_mercosur_plates_are_dark_on_light_and_may_sit_in_a_holder() -> None:
    sizes = set()
    for seed in range(12):
        plate = draw_ar_plate(random.Random(seed), "ar_mercosur", ("AB 123 CD",))
        sizes.add(plate.shape[0])
        assert plate.shape[1] / plate.shape[0] > 2.3
    assert min(sizes) == 120 and max(sizes) > 120  # bare plates and plates in a holder


# --- renderer 3: motorcycle plates, Mercosur's flat-topped A, stronger night overexposure -------------------------


def test_renderer_3_draws_a_share_of_argentine_plates_as_two_row_motorcycle_plates() -> None:
    plates = [render_plate(seed, AR_LAYOUTS[seed % 2], renderer=3) for seed in range(120)]
    motos = [p for p in plates if p.layout == AR_MOTO]
    assert 0.05 < len(motos) / len(plates) < 0.3  # MOTO_SHARE 0.15
    assert AR_MOTO in TWO_ROW_LAYOUTS and AR_MOTO not in LAYOUTS  # never drawn by renderers 1 and 2
    shapes = {("D" if c.isdigit() else "L") for p in motos for c in p.text[:1]}
    assert shapes == {"D", "L"}  # old '123 / ABC' and Mercosur 'A12 / 3BCD'
    for p in motos:
        pattern = "".join("D" if c.isdigit() else "L" for c in p.text)
        assert pattern in ("DDDLLL", "LDDDLLL")
        assert p.image.shape[1] / p.image.shape[0] < 2.0  # squarish, as the real two-row crops
        assert np.array_equal(p.image[..., 0], p.image[..., 2])  # grey
    for seed, p in enumerate(plates):  # the one-row plates keep renderer 2's text (drawn before the look)
        assert p.layout == AR_MOTO or p.text == render_plate(seed, p.layout, renderer=2).text
    first = next(seed for seed, p in enumerate(plates) if p.layout == AR_MOTO)
    assert np.array_equal(render_plate(first, AR_LAYOUTS[first % 2], renderer=3).image, plates[first].image)


def test_renderer_3_draws_no_motorcycle_plate_when_rows_are_given() -> None:
    for seed in range(40):
        plate = render_plate(seed, "ar_mercosur", rows=("AB 123 CD",), renderer=3)
        assert plate.layout == "ar_mercosur" and plate.text == "AB123CD"


def test_motorcycle_rows_and_plates() -> None:
    old = moto_rows(random.Random(1), "ar_old")
    new = moto_rows(random.Random(1), "ar_mercosur")
    assert len(old) == 2 and old[0].isdigit() and old[1].isalpha() and len(old[1]) == 3
    assert len(new) == 2 and new[0][0].isalpha() and new[0][1:].isdigit() and new[1][0].isdigit()
    plate = draw_ar_moto(random.Random(2), "ar_old", old)
    assert plate.shape[0] == 130 and 1.0 <= plate.shape[1] / plate.shape[0] <= 1.45


def test_flat_topped_a_has_a_flat_top() -> None:
    from models.training.synthetic_plates import _GLYPH_HEIGHT, _flat_top_a, _font, _glyph, reader_fonts

    font = _font(reader_fonts()[0], _GLYPH_HEIGHT)
    plain, flat = np.asarray(_glyph("A", font)) > 127, np.asarray(_flat_top_a(font)) > 127
    top = slice(0, _GLYPH_HEIGHT // 12)
    assert flat.shape == plain.shape
    assert flat[top].any(axis=0).sum() > 1.5 * plain[top].any(axis=0).sum()  # a wide bar, not an apex


def test_stronger_overexposure_never_burns_the_middle_out() -> None:
    from models.training.synthetic_plates import _overexpose_strong

    white = np.full((60, 150), 240, np.uint8)
    white[20:40, 30:120:10] = 20  # thin dark strokes on a bright plate
    for seed in range(10):
        out = _overexpose_strong(random.Random(seed), white, light_ink=False)
        middle = out[15:45, 19:131]
        assert (middle >= 245).mean() <= 0.6 or np.array_equal(out, white)
