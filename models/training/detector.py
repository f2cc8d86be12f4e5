"""Train, evaluate and export the licence-plate detector with ultralytics, fully offline.

ultralytics reads its environment at import time, so every public function here calls `configure_offline()`
before it imports ultralytics; nothing at module level imports it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.training.config import CACHE_DIR, DetectorTrainConfig, load_config, ultralytics_train_args
from models.training.dataset import CLASS_NAMES, HeldBack, VocBox, build_yolo_dataset, parse_box_file, read_frames

log = logging.getLogger(__name__)

ULTRALYTICS_CONFIG_DIR = CACHE_DIR / "ultralytics"
DEFAULT_EXPORT_IMGSZ = (384, 640)  # (height, width): 16:9 frames letterboxed with little padding
DEFAULT_OPSET = 17  # well inside what onnxruntime 1.31 runs


@dataclass(frozen=True)
class DetectionMetrics:
    """ultralytics val metrics; precision and recall are at the confidence that maximises F1."""

    precision: float
    recall: float
    map50: float
    map50_95: float


def configure_offline(config_dir: Path = ULTRALYTICS_CONFIG_DIR) -> None:
    """Keep ultralytics off the network: no DNS probe, no run-time pip, no font download."""
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "false"
    os.environ["YOLO_CONFIG_DIR"] = str(config_dir)
    font = config_dir / "Ultralytics" / "Arial.ttf"
    if not font.exists():
        # train() and val() fetch Arial.ttf for their plots unless one is there; any TTF will do.
        import matplotlib

        font.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf", font)


def set_threads(threads: int) -> None:
    """Use `threads` torch CPU threads, also inside ultralytics (it resets them to cpu_count - 1 per device)."""
    import torch
    from ultralytics.utils import torch_utils

    torch.set_num_threads(threads)
    torch_utils.NUM_THREADS = threads  # type: ignore[attr-defined]


def train_detector(config: Path, resume: bool = False) -> Path:
    """Train (or resume) the detector described by `config` and copy its final checkpoint to `config.output`."""
    cfg = load_config(config)
    data_yaml = build_dataset(cfg, build_synthetic(cfg))
    configure_offline()
    set_threads(cfg.threads)
    if resume:
        _resume(cfg, data_yaml)
    else:
        _train_fresh(cfg, data_yaml)
    return _publish(cfg.last_checkpoint, cfg.output)


def build_dataset(cfg: DetectorTrainConfig, synthetic: list[Path]) -> Path:
    """The config's YOLO dataset (real frames, its extra labels and hard negatives, `synthetic` folders); data.yaml."""

    def boxes(path: Path | None) -> dict[str, list[VocBox]]:
        return {} if path is None else dict(parse_box_file(path.read_text(encoding="utf-8")))

    def merged(*named: dict[str, list[VocBox]]) -> dict[str, list[VocBox]]:
        out: dict[str, list[VocBox]] = {}
        for one in named:
            for name, found in one.items():
                out.setdefault(name, []).extend(found)
        return out

    return build_yolo_dataset(
        cfg.data_root,
        cfg.dataset_dir,
        cfg.train_videos,
        cfg.val_videos,
        extra_train=synthetic,
        extra_labels=boxes(cfg.extra_labels),
        hard_negatives=merged(boxes(cfg.hard_negatives), boxes(cfg.more_hard_negatives)),
        hard_negative_scales=cfg.hard_negative_scales,
        held_back=held_back(cfg),
    )


def held_back(cfg: DetectorTrainConfig) -> HeldBack | None:
    """The config's real-frame validation blocks, as the dataset builder takes them."""
    rv = cfg.real_validation
    if rv is None:
        return None
    return HeldBack(tuple((b.video, b.first, b.last) for b in rv.blocks), rv.gap_frames, rv.split)


def real_validation_dir(cfg: DetectorTrainConfig) -> Path | None:
    """The real-frame validation folder (`platepatrol models eval --detector` takes it), if the config has one."""
    rv = cfg.real_validation
    return None if rv is None else cfg.dataset_dir / "images" / rv.split


def not_to_train_on(cfg: DetectorTrainConfig) -> set[str]:
    """Names of the training-video frames held back (validation blocks and their gaps): no training scene uses them."""
    hb = held_back(cfg)
    return set() if hb is None else hb.names(read_frames(cfg.data_root / "frames.csv"))[1]


def build_synthetic(cfg: DetectorTrainConfig) -> list[Path]:
    """Write the config's synthetic scenes (train, held-out, lettering; kept if already there); the train folders.

    Backgrounds come only from the training videos, and every `holdout_every`-th of their frames is kept for the
    held-out synthetic set: the held-out dashcam videos are never composited into anything.
    """
    syn = cfg.synthetic
    if syn is None or syn.train_images == 0:
        return []
    from models.training.detector_synth import (
        SMALL_WIDTHS,
        scene_sources,
        split_sources,
        write_synthetic_set,
        write_view_without,
    )

    train_bg, held_bg = split_sources(scene_sources(cfg.data_root, cfg.train_videos), syn.holdout_every)
    if syn.holdout_images:
        write_synthetic_set(syn.holdout_dir(), held_bg, syn.holdout_images, seed=syn.seed + 1_000)
    excluded = not_to_train_on(cfg)

    def train_set(
        folder: Path,
        count: int,
        seed: int,
        lettering: int = 0,
        degraded: float = 0.0,
        vehicle: int = 0,
        small: int = 0,
        small_widths: tuple[float, float] = SMALL_WIDTHS,
    ) -> Path:
        images = write_synthetic_set(
            folder,
            train_bg,
            count,
            seed,
            lettering=lettering,
            degraded=degraded,
            vehicle=vehicle,
            small=small,
            small_widths=small_widths,
        )
        if not excluded:
            return images
        # the same scenes less those composited onto held-back frames (a view of symlinks, named by what it leaves out)
        view = folder.with_name(f"{folder.name}_without_{_digest(excluded)}")
        return write_view_without(folder, view, train_bg, count, seed, excluded)

    folders = [train_set(syn.train_dir(), syn.train_images, syn.seed)]
    let = syn.lettering
    if let is not None:
        if let.val_images:  # on the held-out set's backgrounds, never trained on: for choosing the threshold
            write_synthetic_set(
                let.val_dir(syn.out_dir),
                held_bg,
                let.val_images,
                let.val_seed,
                lettering=let.per_scene,
                degraded=let.degraded,
            )
        if let.train_images:
            folder = let.train_dir(syn.out_dir)
            folders.append(train_set(folder, let.train_images, let.seed, let.per_scene, let.degraded))
    veh = syn.vehicle_negatives
    if veh is not None and veh.train_images:
        folder = veh.train_dir(syn.out_dir)
        folders.append(train_set(folder, veh.train_images, veh.seed, veh.lettering, veh.degraded, veh.per_scene))
    tiny = syn.small_plates
    if tiny is not None and tiny.train_images:
        folder = tiny.train_dir(syn.out_dir)
        widths = (tiny.min_width, tiny.max_width)
        folders.append(train_set(folder, tiny.train_images, tiny.seed, small=tiny.per_scene, small_widths=widths))
    return folders


def _digest(names: set[str]) -> str:
    return hashlib.sha256("\n".join(sorted(names)).encode()).hexdigest()[:10]


def _train_fresh(cfg: DetectorTrainConfig, data_yaml: Path) -> None:
    from ultralytics.models import YOLO

    # ultralytics appends to an existing results.csv, so a fresh run starts from an empty folder.
    shutil.rmtree(cfg.run_dir, ignore_errors=True)
    model = YOLO(cfg.architecture)
    if cfg.init_weights is not None:
        model.load(str(cfg.init_weights))  # our own earlier weights: fine-tune rather than start from scratch
    model.train(**ultralytics_train_args(cfg, data_yaml))


def _resume(cfg: DetectorTrainConfig, data_yaml: Path) -> None:
    from ultralytics.models import YOLO

    last = cfg.last_checkpoint
    if not last.exists():
        raise FileNotFoundError(f"nothing to resume: {last} does not exist; train without --resume first")
    if _is_finished(last):
        log.info("%s is a finished run; publishing it as it is", last)
        return
    # Every other setting comes from the checkpoint, so a resumed run continues exactly the one it was.
    YOLO(str(last)).train(resume=True, data=str(data_yaml), workers=cfg.workers)


def _load_checkpoint(checkpoint: Path) -> dict[str, Any]:
    import torch

    ckpt: dict[str, Any] = torch.load(checkpoint, map_location="cpu", weights_only=False)
    return ckpt


def _is_finished(checkpoint: Path) -> bool:
    """ultralytics strips the optimizer state from last.pt when a run ends."""
    return _load_checkpoint(checkpoint).get("optimizer") is None


def _publish(checkpoint: Path, output: Path) -> Path:
    """Write the final checkpoint (optimizer already stripped by ultralytics) where the repo keeps it."""
    import torch

    ckpt = _load_checkpoint(checkpoint)
    if ckpt.get("optimizer") is not None:
        raise RuntimeError(f"{checkpoint} still carries optimizer state: the run did not finish")
    # Runs made with single_cls=True call the class 'item'; the names travel into the ONNX metadata.
    ckpt["model"].names = dict(enumerate(CLASS_NAMES))
    output.parent.mkdir(parents=True, exist_ok=True)
    torch.save(ckpt, output)
    return output


def evaluate_detector(
    weights: Path, data_yaml: Path, imgsz: int = 640, batch: int = 16, threads: int = 2
) -> DetectionMetrics:
    """Run ultralytics val on the `val` split of `data_yaml` (IoU 0.5 for mAP50)."""
    configure_offline()
    set_threads(threads)
    from ultralytics.models import YOLO

    with tempfile.TemporaryDirectory() as tmp:  # val writes a run folder we do not keep
        result = YOLO(str(weights)).val(
            data=str(data_yaml), imgsz=imgsz, batch=batch, device="cpu", plots=False, project=tmp, name="val"
        )
    box = result.box
    return DetectionMetrics(
        precision=float(box.mp), recall=float(box.mr), map50=float(box.map50), map50_95=float(box.map)
    )


def export_detector(
    weights: Path, out: Path, imgsz: tuple[int, int] = DEFAULT_EXPORT_IMGSZ, opset: int = DEFAULT_OPSET
) -> Path:
    """Export to ONNX at a fixed (height, width) input, simplified with onnxslim, without NMS in the graph."""
    if any(side % 32 for side in imgsz):
        raise ValueError(f"imgsz {imgsz} must be multiples of the model's stride 32")
    configure_offline()
    from ultralytics.models import YOLO

    with tempfile.TemporaryDirectory() as tmp:
        # ultralytics writes the .onnx beside the weights; stage them so the source folder is left untouched.
        staged = Path(tmp) / weights.name
        shutil.copyfile(weights, staged)
        exported = YOLO(str(staged)).export(
            format="onnx", imgsz=list(imgsz), opset=opset, simplify=True, dynamic=False, batch=1, device="cpu"
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(exported, out)
    _check_onnx(out, imgsz)
    return out


def _check_onnx(path: Path, imgsz: tuple[int, int]) -> None:
    """Fail loudly if the exported graph does not take the (1, 3, H, W) input we asked for."""
    import onnx

    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    if dims != [1, 3, *imgsz]:
        raise RuntimeError(f"{path}: input shape {dims}, expected {[1, 3, *imgsz]}")
