"""`eval-reader`: the reader on its own held-out BR plates, a labelled folder, or rendered plates never trained on.

A thin layer over models/evaluation/reader.py (the metrics and the timed batched reading of
`platepatrol models eval --reader`), kept for the sets that are not folders: the BR split and synthetic plates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edge.types import Image, Reading
from models.evaluation.label_corrections import LabelCorrection
from models.evaluation.reader import (
    ReaderScore,
    batch_reader_of,
    edit_distance,
    load_reader,
    read_timed,
    score_audited,
    score_reads,
)
from models.training.reader_data import LabelledCrop, load_labels, split_by_plate
from models.training.reader_train import ReaderTrainConfig
from models.training.synthetic_plates import render_plate

__all__ = ["edit_distance", "evaluate", "held_out_br", "synthetic_set", "trained_br_plates", "wrong_reads"]

SYNTHETIC_EVAL_SEED = 2_000_000_000_000  # far from every training run's seeds


def held_out_br(config: ReaderTrainConfig) -> list[LabelledCrop]:
    return split_by_plate(load_labels(config.br_crops), config.test_fraction, config.split_seed)[1]


def trained_br_plates(config: ReaderTrainConfig) -> frozenset[str]:
    """The BR plate texts (as given) the config trains on: crops of these are not held out whatever their label."""
    return frozenset(
        c.text for c in split_by_plate(load_labels(config.br_crops), config.test_fraction, config.split_seed)[0]
    )


def _load_images(crops: Sequence[LabelledCrop]) -> list[Image]:
    images = []
    for crop in crops:
        image = cv2.imread(str(crop.path), cv2.IMREAD_COLOR)  # BGR, as the edge's crops are
        if image is None:
            raise FileNotFoundError(crop.path)
        images.append(np.asarray(image, dtype=np.uint8))
    return images


def synthetic_set(
    count: int, seed: int, layout: str | None = None, renderer: int = 1, min_height: int = 0
) -> tuple[list[Image], list[str], list[int]]:
    """Rendered plates from seeds far from the training runs' (which start at seed * 10**9); `layout` None: any.

    Images, texts and seeds of the renders of seeds `seed`..`seed + count - 1` at least `min_height` px high: the
    renders include crops too small for anyone to read, which a photo of a parked car rarely has."""
    plates = [(seed + i, render_plate(seed + i, layout=layout, renderer=renderer)) for i in range(count)]
    kept = [(s, p) for s, p in plates if p.image.shape[0] >= min_height]
    return [p.image for _, p in kept], [p.text for _, p in kept], [s for s, _ in kept]


@dataclass(frozen=True)
class WrongRead:
    """One crop read wrong: what it is, what was read (empty for no reading) and the reader's confidence."""

    name: str
    truth: str
    read: str
    confidence: float

    def line(self) -> str:
        return f"{self.name}\t{self.truth}\t{self.read or '-'}\t{self.confidence:.3f}"


def wrong_reads(names: Sequence[str], readings: Sequence[Reading | None], truths: Sequence[str]) -> list[WrongRead]:
    """The crops whose reading is not exactly the truth, in input order."""
    wrong = []
    for name, reading, truth in zip(names, readings, truths, strict=True):
        text = reading.text if reading is not None else ""
        if text != truth:
            wrong.append(WrongRead(name, truth, text, reading.confidence if reading is not None else 0.0))
    return wrong


def evaluate(
    runtime: str,
    crops: Sequence[LabelledCrop] | None = None,
    folder: Path | None = None,
    synthetic: int = 0,
    batch: int = 32,
    threads: int = 1,
    weights: Path | None = None,
    errors: list[WrongRead] | None = None,
    plate_formats: Sequence[str] = (),
    format_ratio: float | None = None,
    synthetic_seed: int = SYNTHETIC_EVAL_SEED,
    synthetic_layout: str | None = None,
    synthetic_renderer: int = 1,
    synthetic_min_height: int = 0,
    corrections: Mapping[str, LabelCorrection] | None = None,
    trained_plates: frozenset[str] = frozenset(),
) -> list[ReaderScore]:
    """Read every crop with the edge's plugin; time only the reading (images are decoded or rendered first).

    The score as given, then, with `corrections` (audited labels by file name), the score on the audited labels
    (leaving out unreadable crops and those whose audited plate is in `trained_plates`). With `errors`, the wrong
    reads (as given) are appended to it."""
    if synthetic:
        images, truths, seeds = synthetic_set(
            synthetic, synthetic_seed, synthetic_layout, synthetic_renderer, synthetic_min_height
        )
        name = f"synthetic_{synthetic}" + (f"_at_least_{synthetic_min_height}px" if synthetic_min_height else "")
        names = [f"seed {s}" for s in seeds]
    else:
        chosen = list(crops) if crops is not None else load_labels(folder) if folder is not None else []
        images, truths = _load_images(chosen), [c.text for c in chosen]
        name = folder.name if folder is not None else "held_out_br"
        names = [c.path.name for c in chosen]
    reader = load_reader(runtime, weights, threads, plate_formats, format_ratio)
    readings, seconds = read_timed(batch_reader_of(reader), images, batch)
    if errors is not None:
        errors += wrong_reads(names, readings, truths)
    scores = [score_reads(name, readings, truths, seconds)]
    if corrections is not None:
        scores.append(score_audited(name, readings, names, truths, seconds, corrections, trained_plates)[0])
    return scores
