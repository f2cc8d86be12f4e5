"""Hard-negative mining: the detections on a labelled folder that match no plate, cropped for judging by eye.

    python -m models.evaluation.detector_mining --weights W.onnx --folder F --out DIR [--min-score 0.2]
        [--known models/detector/labels/ro_dashcam_train_hard_negatives.txt]

runs the car's detector plugin over the folder (training frames only: never the held-out videos) and keeps each
detection scored >= `--min-score` that overlaps no labelled plate (IoU < OVERLAP_WITH_PLATE: a loose box on a
real plate is a localisation error, not a false alarm) and no already known non-plate (`--known`, IoU >=
SAME_AS_KNOWN). It writes DIR/candidates.txt (`file x y w h score`, numbered in the order of the sheets) and
DIR/sheet_NN.png: the candidates cropped with context (3x the box), the box outlined, numbered. A person judges
each crop; the non-plates become lines of a hard-negatives file (`file x y w h`).
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from models.evaluation.detector import (
    Detector,
    Xyxy,
    iou,
    load_extra_labels,
    load_folder,
    make_eval_detector,
    yolo_to_xyxy,
)

OVERLAP_WITH_PLATE = 0.1  # a detection overlapping a labelled plate this much is about that plate
SAME_AS_KNOWN = 0.3  # a detection overlapping a known non-plate this much is that one again
TILE = 240  # px, the side of one crop on a sheet
COLUMNS = 6
ROWS = 5


@dataclass(frozen=True)
class Candidate:
    image: Path
    box: Xyxy
    score: float

    def line(self) -> str:
        x1, y1, x2, y2 = self.box
        return f"{self.image.name} {round(x1)} {round(y1)} {round(x2 - x1)} {round(y2 - y1)} {self.score:.3f}"


def unmatched(
    detections: Sequence[tuple[float, Xyxy]], plates: Sequence[Xyxy], known: Sequence[Xyxy], min_score: float
) -> list[tuple[float, Xyxy]]:
    """The detections >= min_score that are about no plate and no known non-plate, best first."""
    out = []
    for score, box in sorted(detections, key=lambda d: -d[0]):
        if score < min_score:
            continue
        if any(iou(box, p) >= OVERLAP_WITH_PLATE for p in plates):
            continue
        if any(iou(box, k) >= SAME_AS_KNOWN for k in known):
            continue
        out.append((score, box))
    return out


def mine(
    folder: Path, detector: Detector, min_score: float, known: Mapping[str, Sequence[Xyxy]] | None = None
) -> list[Candidate]:
    """Every unmatched detection of the folder's images (see `unmatched`), by image name then score."""
    known = known or {}
    items, _ = load_folder(folder)
    out: list[Candidate] = []
    for item in items:
        read = cv2.imread(str(item.path), cv2.IMREAD_COLOR)
        if read is None:
            raise FileNotFoundError(item.path)
        image = np.asarray(read, dtype=np.uint8)
        h, w = image.shape[:2]
        plates = list(item.boxes) if item.boxes is not None else [yolo_to_xyxy(b, w, h) for b in item.yolo]
        found = [(d.score, (d.box.x1, d.box.y1, d.box.x2, d.box.y2)) for d in detector.detect(image)]
        for score, box in unmatched(found, plates, known.get(item.path.name, ()), min_score):
            out.append(Candidate(item.path, box, score))
    return out


def crop_tile(image: npt.NDArray[np.uint8], box: Xyxy, label: str, context: float = 3.0) -> npt.NDArray[np.uint8]:
    """A TILE x TILE crop centred on `box`, `context` times its larger side, the box outlined, `label` written."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = box
    side = max(x2 - x1, y2 - y1) * context
    side = max(side, 48.0)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    left, top = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
    right, bottom = int(min(w, cx + side / 2)), int(min(h, cy + side / 2))
    cut = image[top:bottom, left:right]
    k = TILE / max(cut.shape[0], cut.shape[1])
    crop = np.ascontiguousarray(cv2.resize(cut, (max(1, round(cut.shape[1] * k)), max(1, round(cut.shape[0] * k)))))
    cv2.rectangle(
        crop,
        (round((x1 - left) * k), round((y1 - top) * k)),
        (round((x2 - left) * k), round((y2 - top) * k)),
        (0, 255, 0),
        1,
    )
    tile = np.zeros((TILE, TILE, 3), dtype=np.uint8)
    tile[: crop.shape[0], : crop.shape[1]] = crop
    cv2.putText(tile, label, (3, TILE - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 255, 255), 1, cv2.LINE_AA)
    return tile


def write_sheets(candidates: Sequence[Candidate], out: Path) -> list[Path]:
    """Contact sheets of the candidates, numbered from 0 in order; returns the files."""
    out.mkdir(parents=True, exist_ok=True)
    per_sheet = COLUMNS * ROWS
    sheets = []
    for start in range(0, len(candidates), per_sheet):
        sheet = np.full((ROWS * TILE, COLUMNS * TILE, 3), 64, dtype=np.uint8)
        for j, cand in enumerate(candidates[start : start + per_sheet]):
            image = cv2.imread(str(cand.image), cv2.IMREAD_COLOR)
            tile = crop_tile(np.asarray(image, dtype=np.uint8), cand.box, f"{start + j} {cand.score:.2f}")
            r, c = divmod(j, COLUMNS)
            sheet[r * TILE : (r + 1) * TILE, c * TILE : (c + 1) * TILE] = tile
        path = out / f"sheet_{start // per_sheet:02d}.png"
        cv2.imwrite(str(path), sheet)
        sheets.append(path)
    return sheets


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, required=True)
    parser.add_argument("--folder", type=Path, required=True, help="labelled TRAINING frames")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--min-score", type=float, default=0.2)
    parser.add_argument("--known", type=Path, action="append", default=[], help="'file x y w h' non-plates")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    known: dict[str, list[Xyxy]] = {}
    for path in args.known:
        for name, boxes in load_extra_labels(path).items():
            known.setdefault(name, []).extend(boxes)
    detector, _ = make_eval_detector(args.weights, args.threads)
    candidates = mine(args.folder, detector, args.min_score, known)
    args.out.mkdir(parents=True, exist_ok=True)
    lines = "".join(f"{i} {c.line()}\n" for i, c in enumerate(candidates))
    (args.out / "candidates.txt").write_text(lines, encoding="utf-8")
    sheets = write_sheets(candidates, args.out)
    print(f"{len(candidates)} candidates, {len(sheets)} sheets in {args.out}")


if __name__ == "__main__":
    main()
