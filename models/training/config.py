"""The detector's training config: a strict pydantic model read from YAML (models/detector/train.yaml)."""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt, field_validator, model_validator

# Everything we generate outside the repo (datasets, runs, ultralytics settings) lives here.
CACHE_DIR = Path(os.environ.get("PLATEPATROL_CACHE", "~/.cache/platepatrol")).expanduser()


class Augmentation(BaseModel):
    """The ultralytics augmentation settings we set on purpose; every other one keeps its default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mosaic: float = Field(1.0, ge=0, le=1)
    close_mosaic: int = Field(3, ge=0, description="last N epochs without mosaic")
    scale: float = Field(0.3, ge=0, le=1, description="zoom gain; small plates vanish below ~0.5x")
    translate: float = Field(0.1, ge=0, le=1)
    degrees: float = Field(0.0, ge=0, le=180)
    fliplr: float = Field(0.5, ge=0, le=1)
    hsv_h: float = Field(0.015, ge=0, le=1)
    hsv_s: float = Field(0.7, ge=0, le=1)
    hsv_v: float = Field(0.4, ge=0, le=1)


class LetteringData(BaseModel):
    """More synthetic scenes, each with 1 to `per_scene` unlabelled pieces of non-plate lettering (bus sides, route
    numbers, van lettering, signs, badges, plate-shaped boards with words; models/training/lettering_negatives.py):
    `train_images` on the training backgrounds, trained on, and a validation set of `val_images` on the held-out
    synthetic set's backgrounds, never trained on, to choose the car's score threshold on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    train_images: int = Field(1000, ge=0)
    seed: int = 5
    per_scene: int = Field(4, ge=1, description="most pieces of lettering in one scene")
    val_images: int = Field(300, ge=0)
    val_seed: int = 5001
    degraded: float = Field(
        0.0, ge=0, le=1, description="share of the pieces degraded like real ones: soft, low contrast, hazy, glowing"
    )

    @model_validator(mode="after")
    def _seeds_differ(self) -> LetteringData:
        if self.val_seed == self.seed:
            raise ValueError("the validation set needs its own seed")
        return self

    def train_dir(self, out_dir: Path) -> Path:
        return out_dir / f"lettering_train_s{self.seed}_n{self.train_images}_k{self.per_scene}{self._suffix()}"

    def val_dir(self, out_dir: Path) -> Path:
        return out_dir / f"lettering_val_s{self.val_seed}_n{self.val_images}_k{self.per_scene}{self._suffix()}"

    def _suffix(self) -> str:
        # the crisp sets keep the names they were written under
        return f"_d{self.degraded:g}" if self.degraded else ""


class VehicleNegativeData(BaseModel):
    """More synthetic scenes, each with 1 to `per_scene` unlabelled bus-company badges on livery, lit posters /
    light boxes and glossy car windows full of reflections (models/training/vehicle_negatives.py; stage 9), plus
    `lettering` pieces of lettering as in LetteringData (0: none). Trained on; no validation set of their own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    train_images: int = Field(600, ge=0)
    seed: int = 9
    per_scene: int = Field(3, ge=1, description="most badges, light boxes and windows in one scene")
    lettering: int = Field(0, ge=0, description="most pieces of lettering in one scene as well")
    degraded: float = Field(0.0, ge=0, le=1, description="share of those lettering pieces degraded")

    def train_dir(self, out_dir: Path) -> Path:
        extra = f"_l{self.lettering}_d{self.degraded:g}" if self.lettering else ""
        return out_dir / f"vehicle_train_s{self.seed}_n{self.train_images}_k{self.per_scene}{extra}"


class SmallPlateData(BaseModel):
    """More synthetic scenes, each with 1 to `per_scene` more LABELLED plates `min_width` to `max_width` px wide
    (of the 640-px scene): distant plates of wide scenes, where v3 misses most (card: stage 10). Trained on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    train_images: int = Field(600, ge=0)
    seed: int = 10
    per_scene: int = Field(5, ge=1, description="most extra small plates in one scene")
    min_width: float = Field(12.0, ge=8.0, description="px")
    max_width: float = Field(40.0, gt=8.0, description="px")

    @model_validator(mode="after")
    def _widths_in_order(self) -> SmallPlateData:
        if self.max_width <= self.min_width:
            raise ValueError(f"max_width {self.max_width} must exceed min_width {self.min_width}")
        return self

    def train_dir(self, out_dir: Path) -> Path:
        return out_dir / (
            f"small_train_s{self.seed}_n{self.train_images}_k{self.per_scene}_w{self.min_width:g}-{self.max_width:g}"
        )


class SyntheticData(BaseModel):
    """Synthetic scenes (models/training/detector_synth.py) added to the real training frames."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    train_images: int = Field(1600, ge=0)
    holdout_images: int = Field(300, ge=0, description="a held-out synthetic set, for `platepatrol models eval`")
    seed: int = 1
    holdout_every: int = Field(
        10, ge=2, description="every Nth training-video frame is a background of the held-out set only"
    )
    out_dir: Path = CACHE_DIR / "datasets" / "synthetic"
    lettering: LetteringData | None = None
    vehicle_negatives: VehicleNegativeData | None = None  # stage 9 on; absent: the sets of before, unchanged
    small_plates: SmallPlateData | None = None  # stage 10 on; absent: the sets of before, unchanged

    @field_validator("out_dir")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser()

    def train_dir(self) -> Path:
        return self.out_dir / f"train_s{self.seed}_n{self.train_images}"

    def holdout_dir(self) -> Path:
        return self.out_dir / f"holdout_s{self.seed + 1_000}_n{self.holdout_images}"

    @model_validator(mode="after")
    def _lettering_seeds_are_new(self) -> SyntheticData:
        # a lettering set with the seed of the plain training or held-out set would repeat (or leak) its scenes
        used = {self.seed, self.seed + 1_000}
        if self.lettering is not None and {self.lettering.seed, self.lettering.val_seed} & used:
            raise ValueError(f"lettering seeds must differ from the synthetic sets' seeds {sorted(used)}")
        if self.lettering is not None:
            used |= {self.lettering.seed, self.lettering.val_seed}
        if self.vehicle_negatives is not None and self.vehicle_negatives.seed in used:
            raise ValueError(f"the vehicle negatives' seed must differ from the other sets' seeds {sorted(used)}")
        if self.vehicle_negatives is not None:
            used.add(self.vehicle_negatives.seed)
        if self.small_plates is not None and self.small_plates.seed in used:
            raise ValueError(f"the small plates' seed must differ from the other sets' seeds {sorted(used)}")
        return self


class FrameBlock(BaseModel):
    """Frames `first` to `last` (inclusive) of one training video, counted in time order from 0 (frames.csv sorted
    by image name, which carries the zero-padded second)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    video: str = Field(min_length=1)
    first: int = Field(ge=0)
    last: int = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> FrameBlock:
        if self.last < self.first:
            raise ValueError(f"block of {self.video}: last {self.last} < first {self.first}")
        return self


class RealValidation(BaseModel):
    """Contiguous blocks of the TRAINING videos held back as a real-frame validation set (to choose the car's score
    threshold on), with `gap_frames` frames on each side of a block used by neither: consecutive frames are
    near-duplicates, so a block's neighbours would leak it into training. The blocks' frames and gaps are left out
    of the real training frames, their extra labels and hard-negative crops, and the synthetic training scenes
    composited onto them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    blocks: tuple[FrameBlock, ...] = Field(min_length=1)
    gap_frames: int = Field(2, ge=0, description="frames on each side of a block used neither for training nor here")
    split: str = Field("realval", pattern=r"^[a-z0-9_]+$", description="folder name under dataset_dir/images")

    @field_validator("split")
    @classmethod
    def _not_a_training_split(cls, value: str) -> str:
        if value in {"train", "val", "hardneg"}:
            raise ValueError(f"split name {value!r} is taken by the dataset's own splits")
        return value

    @model_validator(mode="after")
    def _blocks_apart(self) -> RealValidation:
        # overlapping blocks would be a typo; blocks closer than two gaps are fine (the gap frames are shared)
        for a, b in itertools.combinations(self.blocks, 2):
            if a.video == b.video and a.first <= b.last and b.first <= a.last:
                raise ValueError(f"blocks of {a.video} overlap: {a.first}-{a.last} and {b.first}-{b.last}")
        return self


class DetectorTrainConfig(BaseModel):
    """Everything one detector training run depends on, so a run is reproducible from this file alone."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field("plate_yolo", pattern=r"^[A-Za-z0-9_.-]+$")
    architecture: str = Field("yolov8n.yaml", pattern=r"\.yaml$", description="ultralytics model YAML, no weights")
    init_weights: Path | None = Field(None, description="our own earlier checkpoint to start from (fine-tuning)")
    synthetic: SyntheticData | None = None
    time_hours: PositiveFloat | None = Field(None, description="train this long; epochs is then re-estimated")
    data_root: Path = Field(description="ro_dashcam folder: images/, annotations/, frames.csv")
    dataset_dir: Path = CACHE_DIR / "datasets" / "ro_dashcam"
    runs_dir: Path = CACHE_DIR / "runs" / "detector"
    output: Path = Field(Path("models/detector/plate_yolo.pt"), description="where the final checkpoint is copied")
    train_videos: list[str] = Field(min_length=1)
    val_videos: list[str] = Field(min_length=1)
    extra_labels: Path | None = Field(
        None, description="'file x y w h' lines: plates the annotators missed on training frames, added to theirs"
    )
    hard_negatives: Path | None = Field(
        None, description="'file x y w h' lines: things on training frames that are not plates; crops of them are added"
    )
    more_hard_negatives: Path | None = Field(
        None, description="a second file like hard_negatives (a later mining round), added to it"
    )
    hard_negative_scales: tuple[PositiveFloat, ...] = Field(
        (3.0, 6.0), min_length=1, description="crop widths around each hard negative, in widths of the thing"
    )
    imgsz: PositiveInt = 640
    epochs: PositiveInt = 15
    batch: PositiveInt = 16
    nbs: PositiveInt = Field(16, description="nominal batch; = batch means one optimizer step per batch")
    workers: int = Field(2, ge=0)
    threads: PositiveInt = Field(2, description="torch CPU threads")
    device: str = "cpu"
    seed: int = 0
    deterministic: bool = True
    optimizer: Literal["SGD", "Adam", "AdamW", "auto"] = "AdamW"
    lr0: PositiveFloat = 0.002
    lrf: PositiveFloat = 0.01
    cos_lr: bool = False
    warmup_epochs: float = Field(1.0, ge=0)
    warmup_bias_lr: float = Field(0.0, ge=0, description="ultralytics' 0.1 suits SGD, far too high for AdamW")
    patience: PositiveInt = 100
    cache: Literal["ram", "disk", "none"] = "ram"
    plots: bool = False
    augmentation: Augmentation = Augmentation()
    real_validation: RealValidation | None = Field(
        None, description="blocks of the training videos held back (never trained on) to choose the threshold on"
    )

    @field_validator(
        "data_root",
        "dataset_dir",
        "runs_dir",
        "output",
        "init_weights",
        "extra_labels",
        "hard_negatives",
        "more_hard_negatives",
    )
    @classmethod
    def _expand_home(cls, value: Path | None) -> Path | None:
        return None if value is None else value.expanduser()

    @model_validator(mode="after")
    def _videos_disjoint(self) -> DetectorTrainConfig:
        # A video in both splits would leak near-duplicate frames into the held-out metrics.
        shared = set(self.train_videos) & set(self.val_videos)
        if shared:
            raise ValueError(f"videos in both train and val: {sorted(shared)}")
        return self

    @model_validator(mode="after")
    def _blocks_in_training_videos(self) -> DetectorTrainConfig:
        # blocks are cut from the training videos only: the held-out videos are never touched
        if self.real_validation is not None:
            stray = sorted({b.video for b in self.real_validation.blocks} - set(self.train_videos))
            if stray:
                raise ValueError(f"real_validation blocks name videos that are not training videos: {stray}")
        return self

    @property
    def run_dir(self) -> Path:
        return self.runs_dir / self.name

    @property
    def last_checkpoint(self) -> Path:
        return self.run_dir / "weights" / "last.pt"


def load_config(path: Path) -> DetectorTrainConfig:
    """Read a training config; relative paths in it resolve against the current directory (the repo root)."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    return DetectorTrainConfig.model_validate(raw)


def ultralytics_train_args(config: DetectorTrainConfig, data_yaml: Path) -> dict[str, object]:
    """Map our config onto `YOLO.train()` keyword arguments."""
    return {
        "data": str(data_yaml),
        "imgsz": config.imgsz,
        "epochs": config.epochs,
        "batch": config.batch,
        "nbs": config.nbs,
        "workers": config.workers,
        "device": config.device,
        "seed": config.seed,
        "deterministic": config.deterministic,
        "optimizer": config.optimizer,
        "lr0": config.lr0,
        "lrf": config.lrf,
        "cos_lr": config.cos_lr,
        "warmup_epochs": config.warmup_epochs,
        "warmup_bias_lr": config.warmup_bias_lr,
        "patience": config.patience,
        "cache": False if config.cache == "none" else config.cache,
        "plots": config.plots,
        "project": str(config.runs_dir.resolve()),
        "name": config.name,
        "exist_ok": True,  # the run dir is ours; a fresh run clears it first
        "save": True,  # last.pt every epoch is what makes resume possible
        **({"time": config.time_hours} if config.time_hours else {}),
        **config.augmentation.model_dump(),
    }
