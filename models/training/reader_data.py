"""Data for the plate reader: labelled crop folders, the split by plate, and easyocr's exact input pipeline.

easyocr's `recognize()` turns a grayscale crop into the network input like this (easyocr/utils.py
`get_image_list` + recognition.py `AlignCollate`/`NormalizePAD`): resize with cv2 to height imgH keeping the
aspect (`int(imgH * w / h)` wide, cv2 interpolation 1 = linear, because easyocr passes PIL's LANCZOS enum to
cv2), scale to [-1, 1], and right-pad the width to `ceil(w / h) * imgH` by repeating the last column. Training
on anything else costs accuracy at inference, so training uses the plugin's own `network_input`.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from cv2.typing import MatLike
from torch.utils.data import Dataset

from edge.read.plate_ocr import IMG_HEIGHT, Gray, network_input, stack_inputs, to_gray, two_row_to_one
from edge.types import Box
from models.training.synthetic_plates import LAYOUTS, RENDERERS, TWO_ROW_LAYOUTS, render_plate
from platepatrol.plates import PLATE_ALPHABET, normalise_plate

__all__ = ["IMG_HEIGHT", "network_input", "stack_inputs", "to_gray", "two_row_to_one"]  # one pipeline, two users

Batch = tuple[torch.Tensor, list[str]]


@dataclass(frozen=True)
class LabelledCrop:
    path: Path
    text: str
    box: Box | None = None  # a plate in a full image, cut out as the car cuts a detection; None: the image is the crop


def load_labels(folder: Path) -> list[LabelledCrop]:
    """`folder/labels.csv` (image,text) with images in `folder/images/`."""
    with (folder / "labels.csv").open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    return [LabelledCrop(folder / "images" / row["image"], normalise_plate(row["text"])) for row in rows]


def load_plate_boxes(labels: Path, images: Path) -> list[LabelledCrop]:
    """The readable plates of a `file x y w h TEXT` file (e.g. models/reader/labels/ro_dashcam/), images in `images`;
    plates labelled '?' are left out."""
    from models.evaluation.reader import label_lines

    crops = [LabelledCrop(path, text, box) for path, box, text in label_lines(labels, images) if text]
    if not crops:
        raise ValueError(f"{labels}: no 'file x y w h TEXT' lines with a plate's text")
    return crops


def split_by_plate(
    crops: Sequence[LabelledCrop], test_fraction: float, seed: int
) -> tuple[list[LabelledCrop], list[LabelledCrop]]:
    """Hold out a fraction of distinct plates: every crop of a plate lands on the same side."""
    plates = sorted({crop.text for crop in crops})
    random.Random(seed).shuffle(plates)
    test_plates = set(plates[: round(len(plates) * test_fraction)])
    train = [crop for crop in crops if crop.text not in test_plates]
    test = [crop for crop in crops if crop.text in test_plates]
    return train, test


def read_gray(path: Path) -> Gray:
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise FileNotFoundError(path)
    return np.asarray(image, dtype=np.uint8)


def read_crop(crop: LabelledCrop) -> Gray:
    """The crop's grey pixels: the image itself, or its plate box cut out with the car's margins."""
    if crop.box is None:
        return read_gray(crop.path)
    from edge.observe import crop_plate

    image = cv2.imread(str(crop.path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(crop.path)
    return to_gray(crop_plate(np.asarray(image, dtype=np.uint8), crop.box))


def augment_real(rng: random.Random, gray: Gray) -> Gray:
    """Mild changes for real crops: the detector's loose/tight boxes, contrast, blur, scale and JPEG."""
    h, w = gray.shape
    x0, x1 = rng.randint(0, w // 12), w - rng.randint(0, w // 12)
    y0, y1 = rng.randint(0, h // 8), h - rng.randint(0, h // 8)
    out: MatLike = gray[y0:y1, x0:x1]
    angle = rng.uniform(-4, 4)
    matrix = cv2.getRotationMatrix2D((out.shape[1] / 2, out.shape[0] / 2), angle, 1.0)
    out = cv2.warpAffine(out, matrix, (out.shape[1], out.shape[0]), borderMode=cv2.BORDER_REPLICATE)
    if rng.random() < 0.4:
        scale = rng.uniform(0.3, 0.8)
        small = cv2.resize(out, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        out = cv2.resize(small, (out.shape[1], out.shape[0]), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.3:
        out = cv2.GaussianBlur(out, (3, 3), rng.uniform(0.3, 1.2))
    out = np.clip(out.astype(np.float32) * rng.uniform(0.6, 1.3) + rng.uniform(-30, 30), 0, 255).astype(np.uint8)
    if rng.random() < 0.08:  # light-on-dark plates (old Argentine, Brazilian commercial) and IR's swapped brightness
        out = 255 - out
    if rng.random() < 0.3:
        ok, jpeg = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, rng.randint(25, 90)])
        decoded = cv2.imdecode(jpeg, cv2.IMREAD_GRAYSCALE) if ok else None
        out = out if decoded is None else decoded
    return np.asarray(out, dtype=np.uint8)


class RealCrops(Dataset[tuple[Gray, str]]):
    """Labelled crops, loaded once (a thousand small images); `item` augments with the caller's RNG."""

    def __init__(self, crops: Sequence[LabelledCrop], augment: bool = False) -> None:
        self._images = [read_crop(crop) for crop in crops]
        self._texts = [crop.text for crop in crops]
        self._augment = augment

    def __len__(self) -> int:
        return len(self._images)

    def __getitem__(self, index: int) -> tuple[Gray, str]:
        return self._images[index], self._texts[index]

    def item(self, index: int, rng: random.Random) -> tuple[Gray, str]:
        image = augment_real(rng, self._images[index]) if self._augment else self._images[index]
        return image, self._texts[index]


class SyntheticCrops(Dataset[tuple[Gray, str]]):
    """Rendered plates: item i is the plate of seed `seed + i`, so the dataset is reproducible and needs no disk.

    `layout_weights` (layout -> weight, the rest 0) draws each item's layout from its seed with these weights
    instead of the renderer's uniform choice; None keeps the renderer's own choice (the runs before v4).
    `renderer` is synthetic_plates.render_plate's (1: v1-v4's; 2: Argentine plates after the real ar_crops; 3: 2 plus
    motorcycle plates and stronger night overexposure)."""

    def __init__(
        self, length: int, seed: int, layout_weights: Mapping[str, float] | None = None, renderer: int = 1
    ) -> None:
        if renderer not in RENDERERS:
            raise ValueError(f"unknown renderer {renderer!r}; expected one of {RENDERERS}")
        self._length = length
        self._seed = seed
        self._renderer = renderer
        self._layouts: tuple[tuple[str, ...], tuple[float, ...]] | None = None
        if layout_weights is not None:
            check_layout_weights(layout_weights)
            self._layouts = (tuple(layout_weights), tuple(layout_weights.values()))

    def __len__(self) -> int:
        return self._length

    def layout_of(self, index: int) -> str | None:
        """The layout item `index` is drawn in (None: the renderer chooses)."""
        if self._layouts is None:
            return None
        names, weights = self._layouts
        return random.Random(f"layout {self._seed + index}").choices(names, weights)[0]

    def __getitem__(self, index: int) -> tuple[Gray, str]:
        plate = render_plate(self._seed + index, layout=self.layout_of(index), renderer=self._renderer)
        gray = to_gray(plate.image)
        if plate.layout in TWO_ROW_LAYOUTS:  # two_row, and renderer 3's Argentine motorcycle plates
            gray = two_row_to_one(gray)
        return gray, plate.text


def check_layout_weights(weights: Mapping[str, float]) -> None:
    """Known layouts, weights >= 0, at least one > 0; else a ValueError naming the problem."""
    unknown = sorted(set(weights) - set(LAYOUTS))
    if unknown:
        raise ValueError(f"unknown layout(s) {', '.join(unknown)}; expected some of {', '.join(LAYOUTS)}")
    if any(w < 0 for w in weights.values()) or not any(w > 0 for w in weights.values()):
        raise ValueError("layout weights must be >= 0 with at least one > 0")


def collate(batch: Sequence[tuple[Gray, str]]) -> Batch:
    return stack_inputs([image for image, _ in batch]), [text for _, text in batch]


def encode_targets(texts: Sequence[str], alphabet: str = PLATE_ALPHABET) -> tuple[torch.Tensor, torch.Tensor]:
    """CTC targets: class i + 1 for alphabet[i] (0 is the blank), concatenated, with each text's length."""
    index = {ch: i + 1 for i, ch in enumerate(alphabet)}
    flat = [index[ch] for text in texts for ch in text]
    return torch.tensor(flat, dtype=torch.long), torch.tensor([len(t) for t in texts], dtype=torch.long)
