"""Turn the ro_dashcam frames (Pascal VOC boxes) into an ultralytics YOLO dataset, split by video.

The output folder holds symlinks to the original images (the data never enters the repo), one YOLO label file
per image and a data.yaml. Frames of one video never land in both splits: consecutive frames are near-duplicates.
"""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import yaml

from models.evaluation.detector import parse_box_lines, without_comments

CLASS_NAMES: tuple[str, ...] = ("license-plate",)


@dataclass(frozen=True)
class VocBox:
    """A box in pixels, corners as Pascal VOC writes them."""

    xmin: float
    ymin: float
    xmax: float
    ymax: float


@dataclass(frozen=True)
class YoloBox:
    """A box as YOLO label files want it: centre and size, each a fraction of the image size."""

    cx: float
    cy: float
    w: float
    h: float


@dataclass(frozen=True)
class VocAnnotation:
    filename: str
    width: int
    height: int
    boxes: tuple[tuple[str, VocBox], ...]  # (class name, box)


@dataclass(frozen=True)
class Frame:
    image: str
    video: str


def clip_box(box: VocBox, width: int, height: int) -> VocBox:
    """Clip a box to the image; hand-drawn boxes sometimes poke a pixel outside."""
    return VocBox(
        xmin=min(max(box.xmin, 0.0), width),
        ymin=min(max(box.ymin, 0.0), height),
        xmax=min(max(box.xmax, 0.0), width),
        ymax=min(max(box.ymax, 0.0), height),
    )


def voc_to_yolo(box: VocBox, width: int, height: int) -> YoloBox | None:
    """Convert a VOC pixel box to a normalised YOLO box; None if nothing of it lies inside the image."""
    b = clip_box(box, width, height)
    w, h = b.xmax - b.xmin, b.ymax - b.ymin
    if w <= 0 or h <= 0:
        return None
    return YoloBox(cx=(b.xmin + w / 2) / width, cy=(b.ymin + h / 2) / height, w=w / width, h=h / height)


def yolo_line(class_id: int, box: YoloBox) -> str:
    """One line of a YOLO label file."""
    return f"{class_id} {box.cx:.6f} {box.cy:.6f} {box.w:.6f} {box.h:.6f}"


def parse_voc(xml_text: str) -> VocAnnotation:
    """Parse one Pascal VOC annotation document."""
    root = ET.fromstring(xml_text)
    size = root.find("size")
    if size is None:
        raise ValueError("VOC annotation without <size>")
    boxes = tuple((_text(obj, "name"), _bndbox(obj)) for obj in root.iter("object"))
    return VocAnnotation(
        filename=_text(root, "filename"),
        width=int(float(_text(size, "width"))),
        height=int(float(_text(size, "height"))),
        boxes=boxes,
    )


def _text(node: ET.Element, tag: str) -> str:
    child = node.find(tag)
    if child is None or child.text is None:
        raise ValueError(f"VOC annotation: <{node.tag}> lacks <{tag}>")
    return child.text.strip()


def _bndbox(obj: ET.Element) -> VocBox:
    bb = obj.find("bndbox")
    if bb is None:
        raise ValueError("VOC <object> without <bndbox>")
    return VocBox(*(float(_text(bb, k)) for k in ("xmin", "ymin", "xmax", "ymax")))


def yolo_label_text(annotation: VocAnnotation, class_names: Iterable[str] = CLASS_NAMES) -> str:
    """The label file for one image; unknown classes are an error rather than silently dropped."""
    ids = {name: i for i, name in enumerate(class_names)}
    lines = []
    for name, box in annotation.boxes:
        if name not in ids:
            raise ValueError(f"{annotation.filename}: unknown class {name!r}")
        yolo = voc_to_yolo(box, annotation.width, annotation.height)
        if yolo is not None:
            lines.append(yolo_line(ids[name], yolo))
    return "".join(f"{line}\n" for line in lines)


def parse_box_file(text: str) -> dict[str, list[VocBox]]:
    """`file x y w h [TEXT]` lines (pixels, top-left corner; `#` starts a comment line) -> boxes by file name,
    read as `platepatrol models eval --extra-labels` reads them; a box must have a size."""
    lines = without_comments(text)
    numbers = [number for number, line in enumerate(lines.splitlines(), 1) if line.split()]
    out: dict[str, list[VocBox]] = {}
    for number, (name, (x0, y0, x1, y1), _) in zip(numbers, parse_box_lines(lines), strict=True):
        if x1 <= x0 or y1 <= y0:
            raise ValueError(f"line {number}: expected 'file x y w h' with w, h > 0")
        out.setdefault(name, []).append(VocBox(x0, y0, x1, y1))
    return out


def hard_negative_window(box: VocBox, width: int, height: int, scale: float, min_side: float = 192.0) -> VocBox:
    """A 16:9 window `scale` times as wide as `box` (at least `min_side`), centred on it, shifted to lie inside."""
    w = min(float(width), max((box.xmax - box.xmin) * scale, min_side))
    h = min(float(height), w * 9 / 16)
    cx, cy = (box.xmin + box.xmax) / 2, (box.ymin + box.ymax) / 2
    x0 = min(max(cx - w / 2, 0.0), width - w)
    y0 = min(max(cy - h / 2, 0.0), height - h)
    return VocBox(round(x0), round(y0), round(x0 + w), round(y0 + h))


def boxes_in_window(boxes: Iterable[VocBox], window: VocBox, min_side: float = 3.0) -> list[VocBox]:
    """The plates inside `window`, clipped to it, in its own pixels; slivers under `min_side` px are dropped."""
    out = []
    for b in boxes:
        x1, y1 = max(b.xmin, window.xmin) - window.xmin, max(b.ymin, window.ymin) - window.ymin
        x2, y2 = min(b.xmax, window.xmax) - window.xmin, min(b.ymax, window.ymax) - window.ymin
        if x2 - x1 >= min_side and y2 - y1 >= min_side:
            out.append(VocBox(x1, y1, x2, y2))
    return out


def read_frames(csv_path: Path) -> list[Frame]:
    """Read frames.csv (image,video,second,original_split)."""
    with csv_path.open(newline="", encoding="utf-8") as f:
        return [Frame(image=row["image"], video=row["video"]) for row in csv.DictReader(f)]


def split_by_video(frames: Iterable[Frame], splits: Mapping[str, Iterable[str]]) -> dict[str, list[Frame]]:
    """Group frames into named splits by their video; frames of videos in no split are left out."""
    video_to_split: dict[str, str] = {}
    for split, videos in splits.items():
        for video in videos:
            if video in video_to_split:
                raise ValueError(f"video {video!r} is in splits {video_to_split[video]!r} and {split!r}")
            video_to_split[video] = split
    out: dict[str, list[Frame]] = {split: [] for split in splits}
    for frame in frames:
        if frame.video in video_to_split:
            out[video_to_split[frame.video]].append(frame)
    return {split: sorted(fs, key=lambda f: f.image) for split, fs in out.items()}


@dataclass(frozen=True)
class HeldBack:
    """Blocks (video, first, last: frame positions in time order, inclusive) of the training videos kept out of
    training as the split `split`, each with `gap_frames` frames on both sides that no split gets."""

    blocks: tuple[tuple[str, int, int], ...]
    gap_frames: int
    split: str = "realval"

    def split_frames(self, frames: Sequence[Frame]) -> tuple[list[Frame], list[Frame]]:
        """(frames left for training, the blocks' frames), each sorted by name; gap frames are in neither."""
        validation, dropped = self.names(frames)
        return (
            [f for f in frames if f.image not in dropped],
            sorted((f for f in frames if f.image in validation), key=lambda f: f.image),
        )

    def names(self, frames: Sequence[Frame]) -> tuple[set[str], set[str]]:
        """(the blocks' frame names, the names of every frame not to train on: blocks and gaps)."""
        by_video: dict[str, list[str]] = {}
        for frame in sorted(frames, key=lambda f: f.image):  # the name carries the zero-padded second
            by_video.setdefault(frame.video, []).append(frame.image)
        validation: set[str] = set()
        dropped: set[str] = set()
        for video, first, last in self.blocks:
            names = by_video.get(video, [])
            if last >= len(names):
                raise ValueError(f"block {first}-{last} of {video!r}: the video has {len(names)} frames")
            validation.update(names[first : last + 1])
            dropped.update(names[max(0, first - self.gap_frames) : last + 1 + self.gap_frames])
        return validation, dropped


def build_yolo_dataset(
    data_root: Path,
    out_dir: Path,
    train_videos: Iterable[str],
    val_videos: Iterable[str],
    extra_train: Iterable[Path] = (),
    extra_labels: Mapping[str, Sequence[VocBox]] | None = None,
    hard_negatives: Mapping[str, Sequence[VocBox]] | None = None,
    held_back: HeldBack | None = None,
    hard_negative_scales: Sequence[float] | None = None,
) -> Path:
    """Write (or bring up to date) the YOLO dataset for ro_dashcam in out_dir and return its data.yaml.

    `extra_train` are more YOLO image folders (labels in the sibling `labels/`) to train on, e.g. synthetic scenes.
    `extra_labels` (file name -> boxes) are plates the annotators missed on TRAINING frames: added to theirs; the
    val split keeps its labels as given. `hard_negatives` (file name -> boxes of things that are not plates, on
    training frames) become crops around each thing, at the zooms `hard_negative_scales` (default
    HARD_NEGATIVE_SCALES), labelled with the frame's plates only: the `hardneg` split, trained on. `held_back`
    blocks of the training videos become the split `held_back.split` (labels as given; never trained on):
    neither they nor their gap frames are trained on, directly or as crops.
    Idempotent: files already right are not touched, so a val run can rebuild it while a training run reads it.
    """
    data_root = data_root.resolve()
    extra_labels = extra_labels or {}
    hard_negatives = hard_negatives or {}
    frames = read_frames(data_root / "frames.csv")
    splits = split_by_video(frames, {"train": list(train_videos), "val": list(val_videos)})
    for split, split_frames in splits.items():
        if not split_frames:
            raise ValueError(f"split {split!r} has no frames in {data_root / 'frames.csv'}")
    train_names = {f.image for f in splits["train"]}
    for what, named in (("extra_labels", extra_labels), ("hard_negatives", hard_negatives)):
        stray = sorted(set(named) - train_names)
        if stray:  # a held-out frame here would leak it into training
            raise ValueError(f"{what} name frames that are not training frames: {stray[:5]}")
    if held_back is not None:
        splits["train"], validation = held_back.split_frames(splits["train"])
        splits[held_back.split] = validation
    for split, split_frames in splits.items():
        _sync_split(data_root, out_dir, split, split_frames, extra_labels if split == "train" else {})
    extra = list(extra_train)
    scales = tuple(hard_negative_scales) if hard_negative_scales else HARD_NEGATIVE_SCALES
    hardneg = _sync_hard_negatives(data_root, out_dir, splits["train"], extra_labels, hard_negatives, scales)
    if hardneg is not None:
        extra.append(hardneg)
    return _write_data_yaml(out_dir, sorted({f.video for f in splits["val"]}), extra)


HARD_NEGATIVE_SCALES = (3.0, 6.0)  # crop widths, in widths of the thing that is not a plate


def _sync_hard_negatives(
    data_root: Path,
    out_dir: Path,
    frames: Sequence[Frame],
    extra_labels: Mapping[str, Sequence[VocBox]],
    hard_negatives: Mapping[str, Sequence[VocBox]],
    scales: Sequence[float] = HARD_NEGATIVE_SCALES,
) -> Path | None:
    images, labels = out_dir / "images" / "hardneg", out_dir / "labels" / "hardneg"
    crops: dict[str, tuple[Path, VocBox]] = {}
    texts: dict[str, str] = {}
    for frame in frames:
        negatives = hard_negatives.get(frame.image, ())
        if not negatives:
            continue
        source = data_root / "images" / frame.image
        plates = _plates_of(data_root, frame) + list(extra_labels.get(frame.image, ()))
        height, width = _read(source).shape[:2]
        for i, negative in enumerate(negatives):
            for scale in scales:
                window = hard_negative_window(negative, width, height, scale)
                stem = f"{Path(frame.image).stem}_neg{i}_x{scale:g}"
                ww, wh = int(window.xmax - window.xmin), int(window.ymax - window.ymin)
                inside = (voc_to_yolo(b, ww, wh) for b in boxes_in_window(plates, window))
                texts[f"{stem}.txt"] = "".join(f"{yolo_line(0, b)}\n" for b in inside if b is not None)
                crops[f"{stem}.jpg"] = (source, window)
    _sync_crops(images, crops)
    _sync_texts(labels, texts)
    return images if crops else None


def _read(path: Path) -> npt.NDArray[np.uint8]:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(path)
    return np.asarray(image, dtype=np.uint8)


def _sync_crops(folder: Path, crops: Mapping[str, tuple[Path, VocBox]]) -> None:
    """Make `folder` hold exactly the crops `crops` (name -> source image, window); the crops are deterministic."""
    folder.mkdir(parents=True, exist_ok=True)
    for entry in folder.iterdir():
        if entry.name not in crops:
            entry.unlink()
    for name, (source, window) in crops.items():
        if not (folder / name).is_file():
            x0, y0, x1, y1 = (int(v) for v in (window.xmin, window.ymin, window.xmax, window.ymax))
            cv2.imwrite(str(folder / name), _read(source)[y0:y1, x0:x1], [cv2.IMWRITE_JPEG_QUALITY, 95])


def _plates_of(data_root: Path, frame: Frame) -> list[VocBox]:
    xml_path = data_root / "annotations" / f"{Path(frame.image).stem}.xml"
    if not xml_path.is_file():
        return []
    return [box for _, box in parse_voc(xml_path.read_text(encoding="utf-8")).boxes]


def _sync_split(
    data_root: Path, out_dir: Path, split: str, frames: list[Frame], extra: Mapping[str, Sequence[VocBox]]
) -> None:
    images, labels = out_dir / "images" / split, out_dir / "labels" / split
    links = {frame.image: data_root / "images" / frame.image for frame in frames}
    texts = {
        f"{Path(frame.image).stem}.txt": _label_for(data_root, frame, extra.get(frame.image, ())) for frame in frames
    }
    _sync_links(images, links)
    _sync_texts(labels, texts)


def _label_for(data_root: Path, frame: Frame, extra: Sequence[VocBox] = ()) -> str:
    if not (data_root / "images" / frame.image).is_file():
        raise FileNotFoundError(data_root / "images" / frame.image)
    xml_path = data_root / "annotations" / f"{Path(frame.image).stem}.xml"
    # A frame without an annotation file is a background frame: an empty label file says so.
    text = yolo_label_text(parse_voc(xml_path.read_text(encoding="utf-8"))) if xml_path.is_file() else ""
    if extra:
        width, height = _image_size(data_root, frame, xml_path)
        lines = (voc_to_yolo(b, width, height) for b in extra)
        text += "".join(f"{yolo_line(0, b)}\n" for b in lines if b is not None)
    return text


def _image_size(data_root: Path, frame: Frame, xml_path: Path) -> tuple[int, int]:
    if xml_path.is_file():
        annotation = parse_voc(xml_path.read_text(encoding="utf-8"))
        return annotation.width, annotation.height
    height, width = _read(data_root / "images" / frame.image).shape[:2]
    return width, height


def _sync_links(folder: Path, links: Mapping[str, Path]) -> None:
    """Make `folder` hold exactly the symlinks `links` (name -> target); stale frames would leak across splits."""
    folder.mkdir(parents=True, exist_ok=True)
    for entry in folder.iterdir():
        if entry.name not in links:
            entry.unlink()
    for name, target in links.items():
        link = folder / name
        if link.is_symlink() and link.readlink() == target:
            continue
        link.unlink(missing_ok=True)
        link.symlink_to(target)


def _sync_texts(folder: Path, texts: Mapping[str, str]) -> None:
    """Make `folder` hold exactly the text files `texts` (name -> content)."""
    folder.mkdir(parents=True, exist_ok=True)
    for entry in folder.iterdir():
        if entry.name not in texts:
            entry.unlink()
    for name, text in texts.items():
        path = folder / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")


def _write_data_yaml(out_dir: Path, val_videos: list[str], extra_train: list[Path] | None = None) -> Path:
    train: str | list[str] = "images/train"
    if extra_train:
        train = [str((out_dir / "images" / "train").resolve()), *(str(p.resolve()) for p in extra_train)]
    data = {
        "path": str(out_dir.resolve()),
        "train": train,
        "val": "images/val",
        "names": dict(enumerate(CLASS_NAMES)),
        "val_videos": val_videos,  # ignored by ultralytics; says what the val metrics were measured on
    }
    data_yaml = out_dir / "data.yaml"
    text = yaml.safe_dump(data, sort_keys=False)
    if not data_yaml.is_file() or data_yaml.read_text(encoding="utf-8") != text:
        data_yaml.write_text(text, encoding="utf-8")
    return data_yaml
