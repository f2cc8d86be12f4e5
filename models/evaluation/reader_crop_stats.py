"""How real plate crops and rendered ones differ: simple per-crop statistics and a contact sheet.

The reader generalises from rendered plates to real ones only as far as they look alike, so before changing the
renderer we measure the gap on things a camera and a detector decide: crop size and aspect, contrast, overexposure,
sharpness, how much of the crop's height the characters take, and whether the ink is lighter than the plate.
Every statistic is computed the same way on both sides, from the grayscale crop alone (no labels), so the numbers
compare even where each estimate is rough.

    python -m models.evaluation.reader_crop_stats --real ../shared/data/ar_crops --renderer 1 --renderer 2 \
        --sheet models/reader/ar_contact_sheet.png
"""

from __future__ import annotations

import argparse
import csv
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

Gray = npt.NDArray[np.uint8]
SHEET_HEIGHT = 64  # the reader's input height: the sheet shows crops as the network sees them
AR_LAYOUTS = ("ar_old", "ar_mercosur")


@dataclass(frozen=True)
class CropStats:
    height: int
    width: int
    aspect: float  # width / height
    mean: float  # mean grey level, 0-255
    contrast: float  # 95th minus 5th percentile of grey
    saturated: float  # share of pixels at 250 or above (overexposed IR sheeting)
    sharpness: float  # variance of the Laplacian at height 64 (higher: sharper)
    text_band: float  # height of the character band / crop height (see text_band_fraction)
    light_ink: bool  # the characters are lighter than the plate around them


def text_band_fraction(gray: Gray) -> float:
    """The share of the crop's height taken by the characters, estimated from vertical strokes.

    Characters are made of vertical edges; a plate's rim, bands and header are mostly horizontal ones. The
    row profile of |d/dx| (smoothed) is cut at half its peak, and the run of rows around the peak is the band."""
    small = _at_height(gray)
    edges = np.abs(cv2.Sobel(small.astype(np.float32), cv2.CV_32F, 1, 0, ksize=3)).sum(axis=1)
    profile = np.convolve(edges, np.ones(3, np.float32) / 3, mode="same")
    peak = int(np.argmax(profile))
    if profile[peak] <= 0:
        return 0.0
    above = profile >= 0.5 * profile[peak]
    top, bottom = peak, peak
    while top > 0 and above[top - 1]:
        top -= 1
    while bottom < len(above) - 1 and above[bottom + 1]:
        bottom += 1
    return (bottom - top + 1) / len(profile)


def light_ink(gray: Gray) -> bool:
    """True when the characters are lighter than the plate: inside the character band, the Otsu class that
    holds fewer pixels (the strokes) is the brighter one."""
    small = _at_height(gray)
    band = text_band_fraction(gray)
    rows = max(1, round(band * small.shape[0]))
    centre = int(np.argmax(np.abs(cv2.Sobel(small.astype(np.float32), cv2.CV_32F, 1, 0, ksize=3)).sum(axis=1)))
    top = max(0, min(small.shape[0] - rows, centre - rows // 2))
    region = small[top : top + rows]
    threshold, _ = cv2.threshold(region, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    bright = int((region > threshold).sum())
    return bright < region.size - bright


def crop_stats(gray: Gray) -> CropStats:
    h, w = gray.shape
    small = _at_height(gray)
    low, high = np.percentile(gray, (5, 95))
    return CropStats(
        height=h,
        width=w,
        aspect=w / h,
        mean=float(gray.mean()),
        contrast=float(high - low),
        saturated=float((gray >= 250).mean()),
        sharpness=float(cv2.Laplacian(small.astype(np.float32), cv2.CV_32F).var()),
        text_band=text_band_fraction(gray),
        light_ink=light_ink(gray),
    )


def _at_height(gray: Gray, height: int = SHEET_HEIGHT) -> Gray:
    h, w = gray.shape
    return np.asarray(cv2.resize(gray, (max(1, round(w * height / h)), height), interpolation=cv2.INTER_AREA))


def summarise(stats: Sequence[CropStats]) -> dict[str, tuple[float, float, float]]:
    """(10th, 50th, 90th percentile) of each numeric statistic; light_ink as its share (three times)."""
    summary: dict[str, tuple[float, float, float]] = {}
    for field in fields(CropStats):
        values = np.array([float(getattr(s, field.name)) for s in stats])
        if field.name == "light_ink":
            share = float(values.mean()) if len(values) else 0.0
            summary[field.name] = (share, share, share)
        else:
            p10, p50, p90 = np.percentile(values, (10, 50, 90)) if len(values) else (0.0, 0.0, 0.0)
            summary[field.name] = (float(p10), float(p50), float(p90))
    return summary


def contact_sheet(columns: Sequence[Sequence[Gray]], tile_width: int = 256, height: int = SHEET_HEIGHT) -> Gray:
    """Columns of crops side by side, each crop at the reader's height, cut or padded (white) to `tile_width`:
    real crops in one column and rendered ones in the next show the difference at the network's scale."""
    rows = max((len(column) for column in columns), default=0)
    sheet = np.full((rows * (height + 4), len(columns) * (tile_width + 8)), 255, np.uint8)
    for c, column in enumerate(columns):
        for r, gray in enumerate(column):
            tile = _at_height(gray, height)[:, :tile_width]
            y, x = r * (height + 4), c * (tile_width + 8)
            sheet[y : y + height, x : x + tile.shape[1]] = tile
    return sheet


def real_crops(folder: Path) -> list[Gray]:
    with (folder / "labels.csv").open(encoding="utf-8", newline="") as file:
        names = [row["image"] for row in csv.DictReader(file)]
    crops = []
    for name in names:
        image = cv2.imread(str(folder / "images" / name), cv2.IMREAD_GRAYSCALE)
        if image is None:
            raise FileNotFoundError(folder / "images" / name)
        crops.append(np.asarray(image, dtype=np.uint8))
    return crops


def rendered_crops(count: int, seed: int, renderer: int, layouts: Sequence[str] = AR_LAYOUTS) -> list[Gray]:
    """`count` rendered crops of `layouts` (taken in turn), in grayscale as the reader sees them."""
    from edge.read.plate_ocr import to_gray
    from models.training.synthetic_plates import render_plate

    return [
        to_gray(render_plate(seed + i, layout=layouts[i % len(layouts)], renderer=renderer).image) for i in range(count)
    ]


def format_table(summaries: dict[str, dict[str, tuple[float, float, float]]]) -> str:
    names = list(summaries)
    lines = ["statistic (p10 / p50 / p90)".ljust(30) + "".join(n.ljust(26) for n in names)]
    for field in fields(CropStats):
        cells = []
        for name in names:
            p10, p50, p90 = summaries[name][field.name]
            cells.append(
                (f"{p50:.2f}" if field.name == "light_ink" else f"{p10:.3g} / {p50:.3g} / {p90:.3g}").ljust(26)
            )
        lines.append(field.name.ljust(30) + "".join(cells))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--real", type=Path, action="append", default=[], help="labelled crop folder(s)")
    parser.add_argument("--renderer", type=int, action="append", default=[], help="renderer version(s) to compare")
    parser.add_argument("--count", type=int, default=300, help="rendered crops per renderer")
    parser.add_argument("--seed", type=int, default=3_000_000_000_000, help="first render seed (not a training seed)")
    parser.add_argument("--sheet", type=Path, help="write a contact sheet PNG: real | each renderer")
    parser.add_argument("--sheet-rows", type=int, default=24)
    args = parser.parse_args(argv)
    real = {folder.name: real_crops(folder) for folder in args.real}
    rendered = {f"rendered AR r{r}": rendered_crops(args.count, args.seed, r) for r in args.renderer}
    sets = real | rendered
    print(format_table({name: summarise([crop_stats(g) for g in crops]) for name, crops in sets.items()}))
    if args.sheet is not None:
        # Real crops spread over the folder; rendered ones in order, so their layouts alternate.
        picked = [crops[:: max(1, len(crops) // args.sheet_rows)][: args.sheet_rows] for crops in real.values()]
        picked += [crops[: args.sheet_rows] for crops in rendered.values()]
        cv2.imwrite(str(args.sheet), contact_sheet(picked))
        print(f"sheet: {args.sheet}")


if __name__ == "__main__":
    main()
