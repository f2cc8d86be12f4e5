"""Renderer 2 (Argentine plates drawn after the real ar_crops) and the switch that keeps renderer 1 as it was."""

from __future__ import annotations

import random

import numpy as np
import pytest

from models.training.synthetic_plates import (
    AR_LAYOUTS,
    LAYOUTS,
    RENDERERS,
    SQUARE_DOT,
    _ar_row,
    draw_ar_plate,
    label_of,
    render_plate,
)


@pytest.mark.parametrize("layout", AR_LAYOUTS)
def test_renderer_2_is_deterministic_per_seed(layout: str) -> None:
    a, b = render_plate(11, layout, renderer=2), render_plate(11, layout, renderer=2)
    assert np.array_equal(a.image, b.image) and a.text == b.text


@pytest.mark.parametrize("layout", [layout for layout in LAYOUTS if layout not in AR_LAYOUTS])
def test_renderer_2_draws_other_layouts_as_renderer_1(layout: str) -> None:
    for seed in range(5):
        one, two = render_plate(seed, layout), render_plate(seed, layout, renderer=2)
        assert np.array_equal(one.image, two.image) and one.text == two.text


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
