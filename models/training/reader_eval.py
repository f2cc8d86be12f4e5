"""Measure a plate reader on labelled crops: exact-plate accuracy, character error rate and speed."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from rich.progress import track

from edge.config import ReaderConfig
from edge.types import Image, Reading
from models.training.reader_data import LabelledCrop, load_labels, split_by_plate
from models.training.reader_train import ReaderTrainConfig
from models.training.synthetic_plates import render_plate

SYNTHETIC_EVAL_SEED = 2_000_000_000_000  # far from every training run's seeds


@dataclass(frozen=True)
class ReaderMetrics:
    crops: int
    exact: float  # share of crops read exactly
    cer: float  # edit distance / reference characters, over the whole set
    no_reading: int  # crops the reader returned None for
    ms_per_crop: float

    def as_dict(self) -> dict[str, float | int]:
        return {key: round(value, 4) if isinstance(value, float) else value for key, value in asdict(self).items()}


def edit_distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (ca != cb))
    return row[-1]


def held_out_br(config: ReaderTrainConfig) -> list[LabelledCrop]:
    return split_by_plate(load_labels(config.br_crops), config.test_fraction, config.split_seed)[1]


def score(readings: Sequence[Reading | None], truths: Sequence[str], seconds: float) -> ReaderMetrics:
    texts = [r.text if r is not None else "" for r in readings]
    errors = sum(edit_distance(t, truth) for t, truth in zip(texts, truths, strict=True))
    return ReaderMetrics(
        crops=len(truths),
        exact=sum(t == truth for t, truth in zip(texts, truths, strict=True)) / max(1, len(truths)),
        cer=errors / max(1, sum(len(t) for t in truths)),
        no_reading=sum(r is None for r in readings),
        ms_per_crop=1000 * seconds / max(1, len(truths)),
    )


def _load_images(crops: Sequence[LabelledCrop]) -> list[Image]:
    images = []
    for crop in crops:
        image = cv2.imread(str(crop.path), cv2.IMREAD_COLOR)  # BGR, as the edge's crops are
        if image is None:
            raise FileNotFoundError(crop.path)
        images.append(np.asarray(image, dtype=np.uint8))
    return images


def synthetic_set(count: int, seed: int) -> tuple[list[Image], list[str]]:
    """Rendered plates from seeds far from the training run's (which start at seed * 10**9)."""
    plates = [render_plate(seed + i) for i in range(count)]
    return [p.image for p in plates], [p.text for p in plates]


def evaluate(
    runtime: Literal["plate_ocr", "easyocr"],
    crops: Sequence[LabelledCrop] | None = None,
    folder: Path | None = None,
    synthetic: int = 0,
    batch: int = 32,
    threads: int = 1,
) -> ReaderMetrics:
    """Read every crop with the edge's plugin; time only the reading (images are decoded or rendered first)."""
    if synthetic:
        images, truths = synthetic_set(synthetic, SYNTHETIC_EVAL_SEED)
    else:
        chosen = list(crops) if crops is not None else load_labels(folder) if folder is not None else []
        images, truths = _load_images(chosen), [c.text for c in chosen]
    readings, seconds = _read_all(runtime, images, batch, threads)
    return score(readings, truths, seconds)


def _read_all(
    runtime: Literal["plate_ocr", "easyocr"], images: list[Image], batch: int, threads: int
) -> tuple[list[Reading | None], float]:
    config = ReaderConfig(threads=threads)
    readings: list[Reading | None] = []
    if runtime == "plate_ocr":
        from edge.read.plate_ocr import load

        reader = load(config)
        reader.read_batch(images[:batch])  # warm-up: first passes allocate
        began = time.perf_counter()
        for start in track(range(0, len(images), batch), description="reading"):
            readings += reader.read_batch(images[start : start + batch])
    else:
        from edge.read.easyocr_reader import load as load_baseline

        baseline = load_baseline(config)
        began = time.perf_counter()
        readings = [baseline.read(image) for image in track(images, description="reading")]
    return readings, time.perf_counter() - began
