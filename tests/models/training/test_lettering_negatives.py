"""Lettering negatives: every kind draws a real image with text on it, deterministically, and bad input is refused."""

from __future__ import annotations

import random

import numpy as np
import pytest

from models.training.detector_synth import plate_fonts, script_fonts
from models.training.lettering_negatives import (
    KIND_WEIGHTS,
    KIND_WIDTHS,
    KINDS,
    degrade,
    lettering_sprite,
    phone_number,
    pick_kind,
    route_number,
)


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_draws_lettering(kind: str) -> None:
    fonts = plate_fonts() + script_fonts()
    for seed in range(5):
        sprite, mask = lettering_sprite(random.Random(seed), kind, fonts)
        h, w = sprite.shape[:2]
        assert sprite.dtype == np.uint8 and sprite.shape[2] == 3 and h >= 40 and w >= 40
        # text or dots drawn on the ground: not a flat board
        assert float(sprite.std()) > 15
        if mask is not None:
            assert mask.shape == (h, w) and mask.dtype == np.uint8
            assert 0.3 < float((mask > 0).mean()) <= 1.0  # a shape (or a square board), not empty


@pytest.mark.parametrize("kind", KINDS)
def test_sprites_are_a_function_of_the_random_stream(kind: str) -> None:
    fonts = plate_fonts()
    a, ma = lettering_sprite(random.Random(7), kind, fonts)
    b, mb = lettering_sprite(random.Random(7), kind, fonts)
    c, _ = lettering_sprite(random.Random(8), kind, fonts)
    assert np.array_equal(a, b) and (ma is None) == (mb is None)
    assert ma is None or mb is None or np.array_equal(ma, mb)
    assert a.shape != c.shape or not np.array_equal(a, c)


def test_unknown_kind_and_no_fonts_are_errors() -> None:
    with pytest.raises(ValueError, match="unknown lettering kind"):
        lettering_sprite(random.Random(0), "graffiti", plate_fonts())
    with pytest.raises(ValueError, match="no fonts"):
        lettering_sprite(random.Random(0), "van", ())


def test_kinds_tables_agree_and_every_kind_is_picked() -> None:
    assert len(KIND_WEIGHTS) == len(KINDS) and set(KIND_WIDTHS) == set(KINDS)
    assert all(0 < lo < hi <= 1 for lo, hi in KIND_WIDTHS.values())
    rng = random.Random(0)
    assert {pick_kind(rng) for _ in range(500)} == set(KINDS)


def test_numbers_look_like_phones_and_routes() -> None:
    rng = random.Random(1)
    for _ in range(200):
        phone = phone_number(rng)
        assert sum(c.isdigit() for c in phone) >= 4 and not any(c.isalpha() for c in phone)
        route = route_number(rng)
        assert 1 <= sum(c.isdigit() for c in route) <= 3 and len(route) <= 4


@pytest.mark.parametrize("kind", KINDS)
def test_degraded_sprites_are_softer_and_keep_their_size(kind: str) -> None:
    fonts = plate_fonts() + script_fonts()
    sprite, _ = lettering_sprite(random.Random(3), kind, fonts)
    a, b = degrade(random.Random(1), sprite, kind), degrade(random.Random(1), sprite, kind)
    assert np.array_equal(a, b) and a.shape == sprite.shape and a.dtype == np.uint8
    assert float(a.std()) < float(sprite.std())  # lower contrast: what the real false alarms look like
