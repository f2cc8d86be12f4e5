"""Stage 9's vehicle negatives: bus badges, light boxes, reflective windows, each a pure function of its seed."""

from __future__ import annotations

import random

import numpy as np
import pytest

from models.training.detector_synth import plate_fonts, script_fonts
from models.training.vehicle_negatives import KINDS, pick_kind, vehicle_sprite, wordmark


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_draws_the_same_sprite_for_the_same_seed(kind: str) -> None:
    fonts = plate_fonts() + script_fonts()
    for seed in range(5):
        sprite, mask = vehicle_sprite(random.Random(seed), kind, fonts)
        again, mask2 = vehicle_sprite(random.Random(seed), kind, fonts)
        assert np.array_equal(sprite, again)
        assert (mask is None and mask2 is None) or (
            mask is not None and mask2 is not None and np.array_equal(mask, mask2)
        )
        assert sprite.dtype == np.uint8 and sprite.ndim == 3 and sprite.shape[2] == 3
        assert min(sprite.shape[:2]) >= 20 and sprite.std() > 5  # something drawn, not a flat patch
        if mask is not None:
            assert mask.shape == sprite.shape[:2] and mask.max() == 255


def test_wordmarks_are_short_capitals_and_every_kind_is_picked() -> None:
    rng = random.Random(0)
    for _ in range(200):
        word = wordmark(rng)
        assert 2 <= len(word) <= 5 and word.isalpha() and word.isupper()
    assert {pick_kind(rng) for _ in range(200)} == set(KINDS)


def test_unknown_kind_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown vehicle negative"):
        vehicle_sprite(random.Random(0), "tram", plate_fonts())
