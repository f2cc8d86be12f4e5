"""Detector evaluation: recall and precision at IoU 0.5 per source, and a precision-recall curve.

`platepatrol models eval --detector FOLDER...` runs the car's own detector plugin (ONNX Runtime by default, the
shipped weights unless `--weights` says otherwise) over every image of each folder and matches its boxes to the
labelled plates, greedily by score, at IoU >= 0.5. Each folder is one source. Labels may be, found by file stem
anywhere under the folder (or beside it, in ultralytics' `images/` -> `labels/` layout):

- Pascal VOC XML (`<object><bndbox>`), as ../shared/data/ro_dashcam;
- YOLO txt (`class cx cy w h`, fractions of the image size), as ultralytics datasets;
- one line per plate `file x y w h TEXT` (pixels, top-left corner; openalpr's benchmark format): one `.txt` per
  image or one file for many images.

An image with no label is an image without plates: every detection on it is a false alarm.

`--extra-labels FILE` adds plates the annotators missed (`file x y w h` lines, `#` comments; matched by file name in
every folder) to the labels found, never instead of them: models/detector/labels/ holds the audited ones.
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from edge.types import Detection, Image

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp"})
IOU_THRESHOLD = 0.5
CURVE_MIN_SCORE = 0.05  # detections down to this score are kept for the precision-recall curve

Xyxy = tuple[float, float, float, float]


class Detector(Protocol):
    def detect(self, image: Image) -> list[Detection]: ...


@dataclass(frozen=True)
class LabelledImage:
    path: Path
    boxes: tuple[Xyxy, ...] | None  # None: YOLO labels that need the image size (resolved when it is read)
    yolo: tuple[tuple[float, float, float, float], ...] = ()


@dataclass
class SourceResult:
    """Everything measured on one folder."""

    name: str
    label_format: str
    images: int = 0
    plates: int = 0
    scored: list[tuple[float, bool]] = field(default_factory=list)  # every detection: (score, true positive)

    def at(self, threshold: float) -> tuple[float, float, int]:
        """(precision, recall, detections) counting detections scored >= threshold."""
        kept = [tp for score, tp in self.scored if score >= threshold]
        precision, recall = precision_recall(sum(kept), len(kept), self.plates)
        return precision, recall, len(kept)


# --------------------------------------------------------------------------------------------------------------
# Label formats


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def parse_voc_boxes(xml_text: str) -> list[Xyxy]:
    """Every object's box of a VOC document, whatever its class name (the folders we read have one class)."""
    root = ET.fromstring(xml_text)
    boxes = []
    for obj in root.iter("object"):
        bb = obj.find("bndbox")
        if bb is None:
            continue
        values = [bb.findtext(k) for k in ("xmin", "ymin", "xmax", "ymax")]
        if any(v is None for v in values):
            raise ValueError("VOC <bndbox> lacks one of xmin, ymin, xmax, ymax")
        x1, y1, x2, y2 = (float(v) for v in values if v is not None)
        boxes.append((x1, y1, x2, y2))
    return boxes


def parse_yolo_lines(text: str) -> list[tuple[float, float, float, float]]:
    """`class cx cy w h [...]` lines -> (cx, cy, w, h) fractions; blank lines are skipped."""
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        tokens = line.split()
        if not tokens:
            continue
        if len(tokens) < 5 or not all(_is_number(t) for t in tokens[:5]):
            raise ValueError(f"line {number}: expected 'class cx cy w h', got {line!r}")
        cx, cy, w, h = (float(t) for t in tokens[1:5])
        out.append((cx, cy, w, h))
    return out


def yolo_to_xyxy(box: tuple[float, float, float, float], width: int, height: int) -> Xyxy:
    cx, cy, w, h = box
    return ((cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height)


def parse_box_lines(text: str) -> list[tuple[str, Xyxy, str]]:
    """`file x y w h TEXT` lines (pixels, top-left corner) -> (file name, box, text); TEXT may be missing."""
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        tokens = line.split()
        if not tokens:
            continue
        if len(tokens) < 5 or _is_number(tokens[0]) or not all(_is_number(t) for t in tokens[1:5]):
            raise ValueError(f"line {number}: expected 'file x y w h TEXT', got {line!r}")
        x, y, w, h = (float(t) for t in tokens[1:5])
        out.append((Path(tokens[0]).name, (x, y, x + w, y + h), " ".join(tokens[5:])))
    return out


def without_comments(text: str) -> str:
    """`#` lines blanked, so that line numbers in errors stay those of the file."""
    return "\n".join("" if line.lstrip().startswith("#") else line for line in text.splitlines())


def load_extra_labels(path: Path) -> dict[str, list[Xyxy]]:
    """A `file x y w h [TEXT]` file of plates to add to a folder's labels, by file name; `#` lines are comments."""
    out: dict[str, list[Xyxy]] = {}
    for name, box, _ in parse_box_lines(without_comments(path.read_text(encoding="utf-8"))):
        out.setdefault(name, []).append(box)
    return out


def txt_kind(text: str) -> str | None:
    """'yolo', 'lines' or None (empty or neither) from a label file's first non-blank line."""
    for line in text.splitlines():
        tokens = line.split()
        if not tokens:
            continue
        if len(tokens) >= 5 and all(_is_number(t) for t in tokens[:5]):
            return "yolo"
        if len(tokens) >= 5 and not _is_number(tokens[0]) and all(_is_number(t) for t in tokens[1:5]):
            return "lines"
        return None
    return None


def _yolo_label_beside(image: Path) -> Path | None:
    """ultralytics' layout: .../images/<split>/x.jpg is labelled by .../labels/<split>/x.txt."""
    parts = list(image.parts)
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] == "images":
            candidate = Path(*parts[:i], "labels", *parts[i + 1 :]).with_suffix(".txt")
            return candidate if candidate.is_file() else None
    return None


def load_folder(folder: Path) -> tuple[list[LabelledImage], str]:
    """The images under `folder` with their plate boxes, and the label format found (voc, yolo, lines, none)."""
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder")
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    images = [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES]
    if not images:
        raise ValueError(f"{folder}: no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    xml_by_stem = {p.stem: p for p in files if p.suffix.lower() == ".xml"}
    yolo_by_stem: dict[str, Path] = {}
    line_boxes: dict[str, list[Xyxy]] = {}
    for txt in (p for p in files if p.suffix.lower() == ".txt"):
        text = txt.read_text(encoding="utf-8", errors="replace")
        kind = txt_kind(text)
        if kind == "lines":
            for name, box, _ in parse_box_lines(text):
                line_boxes.setdefault(name, []).append(box)
        elif kind == "yolo" or (kind is None and not text.strip()):
            yolo_by_stem[txt.stem] = txt  # an empty YOLO file: an image without plates
    formats: set[str] = set()
    out = []
    for image in images:
        if image.name in line_boxes:
            formats.add("lines")
            out.append(LabelledImage(image, tuple(line_boxes[image.name])))
        elif image.stem in xml_by_stem:
            formats.add("voc")
            boxes = parse_voc_boxes(xml_by_stem[image.stem].read_text(encoding="utf-8"))
            out.append(LabelledImage(image, tuple(boxes)))
        elif (label := yolo_by_stem.get(image.stem) or _yolo_label_beside(image)) is not None:
            formats.add("yolo")
            yolo = parse_yolo_lines(label.read_text(encoding="utf-8"))
            out.append(LabelledImage(image, None, tuple(yolo)))
        else:
            out.append(LabelledImage(image, ()))
    if not formats:
        raise ValueError(f"{folder}: no labels found (VOC .xml, YOLO .txt, or 'file x y w h TEXT' lines)")
    return out, "+".join(sorted(formats))


# --------------------------------------------------------------------------------------------------------------
# Matching and precision-recall


def iou(a: Xyxy, b: Xyxy) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def match(
    truth: Sequence[Xyxy], detections: Iterable[tuple[float, Xyxy]], threshold: float = IOU_THRESHOLD
) -> list[tuple[float, bool]]:
    """(score, true positive) per detection: best-scored first, each takes the free plate it overlaps most.

    A detection is a true positive when that overlap is >= `threshold`; a plate matches at most one detection.
    """
    taken = [False] * len(truth)
    out = []
    for score, box in sorted(detections, key=lambda d: -d[0]):
        best, best_iou = -1, threshold
        for i, plate in enumerate(truth):
            if not taken[i]:
                overlap = iou(box, plate)
                if overlap >= best_iou:
                    best, best_iou = i, overlap
        if best >= 0:
            taken[best] = True
        out.append((score, best >= 0))
    return out


def precision_recall(true_positives: int, detections: int, plates: int) -> tuple[float, float]:
    """Precision is 1 with no detections, recall is 1 with no plates: nothing was wrong, nothing was missed."""
    precision = true_positives / detections if detections else 1.0
    recall = true_positives / plates if plates else 1.0
    return precision, recall


def pr_curve(scored: Sequence[tuple[float, bool]], plates: int) -> tuple[list[float], list[float], list[float]]:
    """(thresholds, precision, recall), one point per detection from the best score down."""
    thresholds, precisions, recalls = [], [], []
    tp = 0
    ordered = sorted(scored, key=lambda s: -s[0])
    for n, (score, hit) in enumerate(ordered, 1):
        tp += hit
        if n < len(ordered) and ordered[n][0] == score:
            continue  # ties enter together
        p, r = precision_recall(tp, n, plates)
        thresholds.append(score)
        precisions.append(p)
        recalls.append(r)
    return thresholds, precisions, recalls


def average_precision(scored: Sequence[tuple[float, bool]], plates: int) -> float:
    """Area under the interpolated precision-recall curve (all points), as VOC 2010+ and COCO compute it."""
    if plates == 0:
        return math.nan
    _, precisions, recalls = pr_curve(scored, plates)
    ap, last_recall = 0.0, 0.0
    for i, recall in enumerate(recalls):
        best_after = max(precisions[i:])
        ap += (recall - last_recall) * best_after
        last_recall = recall
    return ap


# --------------------------------------------------------------------------------------------------------------
# Running


GENERIC_NAMES = frozenset({"val", "valid", "test", "train", "images", "labels", "data"})


def source_name(folder: Path) -> str:
    """The folder's name, with its parents while it is a generic one ('val' -> 'ro_dashcam/images/val')."""
    parts = folder.resolve().parts if folder.name in GENERIC_NAMES or not folder.name else (folder.name,)
    name = parts[-1]
    for part in reversed(parts[:-1]):
        if name.split("/")[0] not in GENERIC_NAMES:
            break
        name = f"{part}/{name}"
    return name


def evaluate_folder(
    folder: Path,
    detector: Detector,
    progress: bool = True,
    extra_labels: Mapping[str, Sequence[Xyxy]] | None = None,
) -> SourceResult:
    """Match the detector's boxes to the folder's labels (plus `extra_labels` by file name) image by image."""
    images, label_format = load_folder(folder)
    extra_labels = extra_labels or {}
    if any(item.path.name in extra_labels for item in images):
        label_format += "+extra"
    result = SourceResult(name=source_name(folder), label_format=label_format)
    items: Iterable[LabelledImage] = images
    if progress:
        from rich.progress import track

        items = track(images, description=f"{result.name}", total=len(images), transient=True)
    for item in items:
        frame = cv2.imread(str(item.path), cv2.IMREAD_COLOR)
        if frame is None:
            raise ValueError(f"{item.path}: not a readable image")
        h, w = frame.shape[:2]
        truth = list(item.boxes) if item.boxes is not None else [yolo_to_xyxy(b, w, h) for b in item.yolo]
        truth += extra_labels.get(item.path.name, ())
        image = np.asarray(frame, dtype=np.uint8)
        found = [(d.score, (d.box.x1, d.box.y1, d.box.x2, d.box.y2)) for d in detector.detect(image)]
        result.images += 1
        result.plates += len(truth)
        result.scored.extend(match(truth, found))
    return result


def combined(results: Sequence[SourceResult]) -> SourceResult:
    total = SourceResult(name="all", label_format="")
    for r in results:
        total.images += r.images
        total.plates += r.plates
        total.scored.extend(r.scored)
    return total


def report_table(results: Sequence[SourceResult], threshold: float) -> str:
    rows = [*results, combined(results)] if len(results) > 1 else list(results)
    lines = [
        f"IoU >= {IOU_THRESHOLD}, detections scored >= {threshold:g}",
        f"{'source':<28} {'format':<10} {'images':>6} {'plates':>6} {'found':>6} {'recall':>7} {'precision':>9} "
        f"{'AP50':>6}",
    ]
    for r in rows:
        precision, recall, found = r.at(threshold)
        ap = average_precision(r.scored, r.plates)
        lines.append(
            f"{r.name[:28]:<28} {r.label_format:<10} {r.images:>6} {r.plates:>6} {found:>6} {recall:>7.3f} "
            f"{precision:>9.3f} {ap:>6.3f}"
        )
    return "\n".join(lines)


def plot_pr(results: Sequence[SourceResult], threshold: float, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 5), dpi=120)
    for r in results:
        _, precisions, recalls = pr_curve(r.scored, r.plates)
        ax.plot(recalls, precisions, label=f"{r.name} (AP50 {average_precision(r.scored, r.plates):.3f})")
        precision, recall, _ = r.at(threshold)
        ax.scatter([recall], [precision], marker="o", s=25)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1.01)
    ax.set_ylim(0, 1.01)
    ax.grid(alpha=0.3)
    ax.set_title(f"Plate detector, IoU {IOU_THRESHOLD} (dots: score >= {threshold:g})")
    ax.legend(loc="lower left", fontsize=8)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, bbox_inches="tight")
    plt.close(fig)
    return out


def make_eval_detector(weights: Path | None, threads: int | None = None) -> tuple[Detector, float]:
    """The car's detector plugin (ONNX unless the weights are a .pt), keeping low scores for the curve."""
    from edge.config import DetectorConfig
    from edge.detect import make_detector

    car = DetectorConfig()
    runtime = "ultralytics" if weights is not None and weights.suffix == ".pt" else "onnx"
    config = car.model_copy(
        update={"runtime": runtime, "weights": weights, "min_score": CURVE_MIN_SCORE, "threads": threads or car.threads}
    )
    return make_detector(config), car.min_score


def print_report(report: Mapping[str, object], json_out: Path | None) -> None:
    """A measuring command's report as indented JSON on stdout, and in `json_out` too when given."""
    text = json.dumps(report, indent=1)
    print(text)
    if json_out is not None:
        json_out.write_text(text + "\n", encoding="utf-8")


def run_detector_eval(
    folders: list[Path],
    weights: Path | None,
    plot: Path | None,
    threads: int | None = None,
    min_score: float | None = None,
    extra_labels: Path | None = None,
) -> list[SourceResult]:
    """Print recall and precision per folder (and all together) at the car's score threshold (or `min_score`);
    write the precision-recall curve if asked. `extra_labels`: a file of plates to add to the folders' labels."""
    extra = load_extra_labels(extra_labels) if extra_labels is not None else None
    detector, threshold = make_eval_detector(weights, threads)
    threshold = threshold if min_score is None else min_score
    results = [evaluate_folder(folder, detector, extra_labels=extra) for folder in folders]
    print(report_table(results, threshold))
    if plot is not None:
        print(f"precision-recall curve: {plot_pr(results, threshold, plot)}")
    return results


def threshold_for_precision(result: SourceResult, target: float, grid: Sequence[float]) -> float | None:
    """The lowest threshold of `grid` at which `result`'s precision is at least `target` (None if none is).

    The car's threshold for a new detector is set this way on a validation set, to the precision the shipped one
    has there at its own threshold: as picky as before, so that the held-out sets then say what recall it buys.
    """
    for threshold in sorted(grid):
        precision, _, found = result.at(threshold)
        if found and precision >= target:
            return threshold
    return None
