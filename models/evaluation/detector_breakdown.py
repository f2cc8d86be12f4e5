"""Where a detector misses on a synthetic set: recall by plate width, layout, scene kind and aspect.

    python -m models.evaluation.detector_breakdown --weights W.onnx [--at 0.45] [--count 300] [--seed 1001]

replays each scene of a synthetic set (detector_synth.compose_scene is a pure function of its seed) with the
generator's plate, crop and weather steps watched, so every labelled plate gets its layout (us, eu, br_old, ...,
or `real` for a real plate left in place), its placement (over a real plate, free, free on a drawn car) and its
scene (real or drawn background, close-up, night, rain, aspect); checks that the replayed boxes are the set's
labels; runs the car's detector plugin on the written images; and counts, per group, plates and plates found at
the threshold (IoU >= 0.5, greedy by score, as models.evaluation.detector.match). Widths are in pixels of the
image and of the network's input (the image's width times the plugin's letterbox scale).
"""

from __future__ import annotations

import argparse
import itertools
import math
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from models.evaluation.detector import IOU_THRESHOLD, Detector, Xyxy, iou, parse_yolo_lines, yolo_to_xyxy

WIDTH_BINS: tuple[float, ...] = (0, 10, 15, 20, 30, 50, 100, math.inf)  # plate width, pixels


@dataclass
class SceneMeta:
    """What the generator did for one scene: its plates (box, layout, placement) and its kind."""

    background: str = "drawn"  # real | drawn
    zoom: float = 1.0
    close_up: str = "drawn"  # True / False (zoom > 2) for a real background; drawn streets do not say
    night: bool = False
    rain: bool = False
    plates: list[tuple[Xyxy, str, str]] = field(default_factory=list)  # (box, layout, placement)


@contextmanager
def watching(meta_out: list[SceneMeta]) -> Iterator[None]:
    """Patch detector_synth so that each compose_scene call appends its SceneMeta to `meta_out`; the generator's
    random draws are not touched (each wrapper calls the original with the same arguments)."""
    from models.training import detector_synth as ds

    watched = ("compose_scene", "draw_any_plate", "replace_plate", "add_free_plate", "_car", "_crop_window", "_night")
    originals: dict[str, Callable[..., Any]] = {name: getattr(ds, name) for name in (*watched, "_rain")}
    state: dict[str, Any] = {}

    def compose_scene(*args: Any, **kwargs: Any) -> Any:
        meta = SceneMeta()
        state.update(meta=meta, layout=None, car=False)
        scene = originals["compose_scene"](*args, **kwargs)
        if meta.background == "real":
            meta.close_up = str(meta.zoom > 2.0)
        labelled = {box: (layout, placement) for box, layout, placement in meta.plates}
        meta.plates = [(b, *labelled.get(b, ("real", "real"))) for b in scene.boxes]
        meta_out.append(meta)
        return scene

    def draw_any_plate(rng: Any, layout: str) -> Any:
        state["layout"] = layout
        return originals["draw_any_plate"](rng, layout)

    def replace_plate(*args: Any) -> Any:
        box = originals["replace_plate"](*args)
        if box is not None:
            state["meta"].plates.append((box, state["layout"], "replaced"))
        return box

    def add_free_plate(*args: Any) -> Any:
        state["car"] = False
        box = originals["add_free_plate"](*args)
        if box is not None:
            state["meta"].plates.append((box, state["layout"], "free_on_car" if state["car"] else "free"))
        return box

    def car(*args: Any) -> Any:
        state["car"] = True
        return originals["_car"](*args)

    def crop_window(rng: Any, fw: int, fh: int, boxes: Any, aspect: float, zoom: float) -> Any:
        state["meta"].background, state["meta"].zoom = "real", zoom
        return originals["_crop_window"](rng, fw, fh, boxes, aspect, zoom)

    def night(*args: Any) -> Any:
        state["meta"].night = True
        return originals["_night"](*args)

    def rain(*args: Any) -> Any:
        state["meta"].rain = True
        return originals["_rain"](*args)

    patched = {"compose_scene": compose_scene, "draw_any_plate": draw_any_plate, "replace_plate": replace_plate,
               "add_free_plate": add_free_plate, "_car": car, "_crop_window": crop_window, "_night": night,
               "_rain": rain}  # fmt: skip
    try:
        for name, fn in patched.items():
            setattr(ds, name, fn)
        yield
    finally:
        for name, fn in originals.items():
            setattr(ds, name, fn)


def replay(seed: int, count: int, sources: Sequence[Any]) -> list[SceneMeta]:
    """The SceneMeta of scenes 0..count-1 of write_synthetic_set(..., count, seed) (plain scenes: no negatives
    beyond the generator's own)."""
    from models.training import detector_synth as ds

    metas: list[SceneMeta] = []
    with watching(metas):
        for i in range(count):
            ds.compose_scene(ds._scene_seed(seed, i), sources)
    return metas


def width_bin(width: float, bins: Sequence[float] = WIDTH_BINS) -> str:
    """'lo-hi' for the bin of `bins` that holds `width` (lo <= width < hi)."""
    for lo, hi in itertools.pairwise(bins):
        if lo <= width < hi:
            return f"{lo:g}-{hi:g}"
    raise ValueError(f"width {width} outside the bins {bins}")


def found_plates(truth: Sequence[Xyxy], detections: Sequence[tuple[float, Xyxy]], threshold: float) -> list[bool]:
    """Per plate of `truth`: whether a detection scored >= `threshold` matched it (greedy by score, IoU >= 0.5)."""
    taken = [False] * len(truth)
    for _, box in sorted((d for d in detections if d[0] >= threshold), key=lambda d: -d[0]):
        best, best_iou = -1, IOU_THRESHOLD
        for i, plate in enumerate(truth):
            if not taken[i] and (overlap := iou(box, plate)) >= best_iou:
                best, best_iou = i, overlap
        if best >= 0:
            taken[best] = True
    return taken


def false_alarms(truth: Sequence[Xyxy], detections: Sequence[tuple[float, Xyxy]], threshold: float) -> int:
    kept = [d for d in detections if d[0] >= threshold]
    return len(kept) - sum(found_plates(truth, kept, threshold))


@dataclass
class Tally:
    plates: int = 0
    found: int = 0

    def row(self) -> list[float]:
        return [self.plates, self.found, round(self.found / self.plates, 3) if self.plates else math.nan]


def breakdown(
    folder: Path, metas: Sequence[SceneMeta], detector: Detector, threshold: float, input_long: int = 640
) -> dict[str, Any]:
    """Recall per group of the set in `folder` (images/, labels/ as write_synthetic_set writes them)."""
    images = sorted((folder / "images").glob("*.jpg"))
    if len(images) != len(metas):
        raise ValueError(f"{folder}: {len(images)} images, {len(metas)} replayed scenes")
    groups: dict[str, dict[str, Tally]] = defaultdict(lambda: defaultdict(Tally))
    total, detections_kept, wrong = Tally(), 0, 0
    for path, meta in zip(images, metas, strict=True):
        frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if frame is None:
            raise ValueError(f"{path}: not a readable image")
        h, w = frame.shape[:2]
        label = (folder / "labels" / f"{path.stem}.txt").read_text(encoding="utf-8")
        truth = [yolo_to_xyxy(b, w, h) for b in parse_yolo_lines(label)]
        if len(truth) != len(meta.plates) or any(
            max(abs(a - b) for a, b in zip(t, m[0], strict=True)) > 1.0 for t, m in zip(truth, meta.plates, strict=True)
        ):
            raise ValueError(f"{path.name}: the replayed scene's plates are not its labels (fonts differ?)")
        found = [(d.score, (d.box.x1, d.box.y1, d.box.x2, d.box.y2)) for d in detector.detect(np.asarray(frame))]
        hits = found_plates(truth, found, threshold)
        detections_kept += sum(1 for s, _ in found if s >= threshold)
        wrong += false_alarms(truth, found, threshold)
        scale = min(384 / h, 640 / w) if input_long == 640 else input_long / max(h, w)
        aspect = f"{w}x{h}"
        for (box, layout, placement), hit in zip(meta.plates, hits, strict=True):
            pw = box[2] - box[0]
            keys = {
                "width_px": width_bin(pw),
                "width_at_input_px": width_bin(pw * scale),
                "layout": layout,
                "placement": placement,
                "background": meta.background,
                "close_up": meta.close_up,
                "night": str(meta.night),
                "rain": str(meta.rain),
                "image_size": aspect,
            }
            if pw * scale >= 30:  # layouts and scenes apart from size: plates the network sees >= 30 px wide
                keys |= {f"{g}_at_input_30px_plus": keys[g] for g in ("layout", "placement", "background", "night")}
            for group, key in keys.items():
                tally = groups[group][key]
                tally.plates += 1
                tally.found += hit
            total.plates += 1
            total.found += hit
    return {
        "threshold": threshold,
        "images": len(images),
        "plates": total.plates,
        "found": total.found,
        "recall": round(total.found / total.plates, 3),
        "detections": detections_kept,
        "false_detections": wrong,
        "precision": round((detections_kept - wrong) / detections_kept, 3) if detections_kept else 1.0,
        "by": {g: {k: t.row() for k, t in sorted(rows.items())} for g, rows in groups.items()},
    }


def main(argv: Sequence[str] | None = None) -> None:
    from models.evaluation.detector import make_eval_detector, print_report
    from models.training.config import load_config
    from models.training.detector_synth import scene_sources, split_sources

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, help="ONNX (the car's runtime) or .pt; default: the shipped one")
    parser.add_argument("--config", type=Path, default=Path("models/detector/train_stage9.yaml"))
    parser.add_argument("--seed", type=int, default=1001, help="the set's seed (held-out: the config's seed + 1000)")
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--folder", type=Path, help="default: the config's synthetic held-out folder")
    parser.add_argument("--at", type=float, default=0.45)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    cfg = load_config(args.config)
    if cfg.synthetic is None:
        raise SystemExit(f"{args.config} has no synthetic section")
    _, held = split_sources(scene_sources(cfg.data_root, cfg.train_videos), cfg.synthetic.holdout_every)
    folder = args.folder or cfg.synthetic.holdout_dir()
    metas = replay(args.seed, args.count, held)
    detector, _ = make_eval_detector(args.weights, args.threads)
    out = {"weights": str(args.weights or "shipped"), "folder": str(folder)}
    out |= breakdown(folder, metas, detector, args.at)
    print_report(out, args.json)


if __name__ == "__main__":
    main()
