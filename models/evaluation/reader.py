"""Reader evaluation: exact-plate accuracy, character error rate, look-alike-forgiven accuracy, speed.

`platepatrol models eval --reader FOLDER...` measures the car's reader plugin on any labelled folder:

- a folder of crops: `labels.csv` (image,text) with the images in `images/` (as ../shared/data/br_crops);
- a folder of full images labelled one plate a line, `file x y w h TEXT` (openalpr's benchmark format; one
  `.txt` per image or one file for all): each box is cut out as the car cuts a detection (edge/observe.py
  `crop_plate`, margins included) and read.

The folder the shipped reader was fine-tuned on (train.yaml's `br_crops`) is measured on its held-out plates
only: the score of plates the network has seen means nothing.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import track
from rich.table import Table

from edge.read import PlateReader
from edge.types import Box, Image, Reading
from models.evaluation.label_corrections import LabelCorrection, audited_kept, load_corrections
from platepatrol.plates import PLATE_ALPHABET, normalise_plate

# Characters a reader (or a person) confuses on worn or small plates: each maps to one representative.
LOOKALIKES: dict[str, str] = {
    "O": "0",
    "D": "0",
    "Q": "0",
    "I": "1",
    "L": "1",
    "B": "8",
    "S": "5",
    "Z": "2",
    "G": "6",
}
GAP = "_"  # a character missing on one side of an alignment (the confusion matrix's extra row and column)
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
BOX_LINE = re.compile(
    r"^\s*(\S+)\s+(-?\d+(?:\.\d+)?)\s+(-?\d+(?:\.\d+)?)\s+(\d+(?:\.\d+)?)\s+(\d+(?:\.\d+)?)\s+(.+?)\s*$"
)
BATCH = 32
DEFAULT_TRAIN_CONFIG = Path(__file__).resolve().parents[1] / "reader" / "train.yaml"


# --- metrics: pure functions -------------------------------------------------------------------------------


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: insertions, deletions and substitutions cost 1."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (ca != cb))
    return row[-1]


def fold_lookalikes(text: str) -> str:
    """Each look-alike replaced by its representative: 'BOZ10' and '8021O' fold to the same string."""
    return "".join(LOOKALIKES.get(ch, ch) for ch in text)


def character_error_rate(predictions: Sequence[str], truths: Sequence[str]) -> float:
    """Edit distance summed over the set / reference characters summed over the set (0 for an empty set).

    With no reference characters at all, any predicted character is an error: the rate is then the number of
    predicted characters (0 when nothing was predicted either)."""
    if len(predictions) != len(truths):
        raise ValueError(f"{len(predictions)} predictions for {len(truths)} truths")
    errors = sum(edit_distance(p, t) for p, t in zip(predictions, truths, strict=True))
    reference = sum(len(t) for t in truths)
    return errors / reference if reference else float(errors)


def exact_accuracy(predictions: Sequence[str], truths: Sequence[str], forgive_lookalikes: bool = False) -> float:
    """Share of plates read exactly (0 for an empty set); optionally with look-alikes forgiven."""
    if len(predictions) != len(truths):
        raise ValueError(f"{len(predictions)} predictions for {len(truths)} truths")
    if not truths:
        return 0.0
    same: Callable[[str, str], bool] = (
        (lambda p, t: fold_lookalikes(p) == fold_lookalikes(t)) if forgive_lookalikes else (lambda p, t: p == t)
    )
    return sum(same(p, t) for p, t in zip(predictions, truths, strict=True)) / len(truths)


def align(prediction: str, truth: str) -> list[tuple[str, str]]:
    """(truth character, read character) pairs of a minimal edit alignment; GAP marks a missing side."""
    rows, cols = len(truth) + 1, len(prediction) + 1
    cost = np.zeros((rows, cols), dtype=np.int32)
    cost[:, 0], cost[0, :] = np.arange(rows), np.arange(cols)
    for i in range(1, rows):
        for j in range(1, cols):
            cost[i, j] = min(
                cost[i - 1, j] + 1, cost[i, j - 1] + 1, cost[i - 1, j - 1] + (truth[i - 1] != prediction[j - 1])
            )
    pairs: list[tuple[str, str]] = []
    i, j = len(truth), len(prediction)
    while i or j:
        if i and j and cost[i, j] == cost[i - 1, j - 1] + (truth[i - 1] != prediction[j - 1]):
            pairs.append((truth[i - 1], prediction[j - 1]))
            i, j = i - 1, j - 1
        elif i and cost[i, j] == cost[i - 1, j] + 1:
            pairs.append((truth[i - 1], GAP))
            i -= 1
        else:
            pairs.append((GAP, prediction[j - 1]))
            j -= 1
    return pairs[::-1]


def confusion_counts(predictions: Sequence[str], truths: Sequence[str]) -> Counter[tuple[str, str]]:
    counts: Counter[tuple[str, str]] = Counter()
    for prediction, truth in zip(predictions, truths, strict=True):
        counts.update(align(prediction, truth))
    return counts


def expected_calibration_error(confidences: Sequence[float], correct: Sequence[bool], bins: int = 10) -> float:
    """Imported lazily from calibration.confidence (the one definition); here for the eval's table."""
    from calibration.confidence import expected_calibration_error as ece

    return ece(np.asarray(confidences, dtype=np.float64), np.asarray(correct, dtype=bool), bins)


@dataclass(frozen=True)
class ReaderScore:
    name: str
    crops: int
    exact: float
    exact_lookalikes_forgiven: float
    cer: float
    no_reading: int
    ece: float  # expected calibration error of the reader's confidence (10 bins)
    ms_per_crop: float

    def as_dict(self) -> dict[str, str | float | int]:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}


def score_reads(name: str, readings: Sequence[Reading | None], truths: Sequence[str], seconds: float) -> ReaderScore:
    texts = [r.text if r is not None else "" for r in readings]
    confidences = [r.confidence if r is not None else 0.0 for r in readings]
    return ReaderScore(
        name=name,
        crops=len(truths),
        exact=exact_accuracy(texts, truths),
        exact_lookalikes_forgiven=exact_accuracy(texts, truths, forgive_lookalikes=True),
        cer=character_error_rate(texts, truths),
        no_reading=sum(r is None for r in readings),
        ece=expected_calibration_error(confidences, [t == truth for t, truth in zip(texts, truths, strict=True)])
        if truths
        else 0.0,
        ms_per_crop=1000 * seconds / max(1, len(truths)),
    )


def score_audited(
    name: str,
    readings: Sequence[Reading | None],
    names: Sequence[str],
    truths: Sequence[str],
    seconds: float,
    corrections: Mapping[str, LabelCorrection],
    trained_plates: frozenset[str] = frozenset(),
) -> tuple[ReaderScore, str]:
    """The score against the audited labels and a note of what the audit changed.

    Left out: crops no one can read, and crops whose audited plate is one the reader trained on (`trained_plates`:
    a wrong label had put a trained plate's crop among the held-out ones)."""
    kept, audited, seen = audited_kept(names, truths, corrections, trained_plates)
    share = len(kept) / len(truths) if truths else 0.0
    score = score_reads(f"{name} audited", [readings[i] for i, _ in kept], [t for _, t in kept], seconds * share)
    note = (
        f"{name}: {audited.corrected} label(s) corrected, {audited.unreadable} unreadable crop(s) and {seen} crop(s) "
        f"of trained plates left out of the audited figures"
    )
    return score, note


# --- labelled folders -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelledPlate:
    image: Path
    text: str
    box: Box | None = None  # None: the image is the crop


def parse_box_line(line: str) -> tuple[str, Box, str] | None:
    """`file x y w h TEXT` -> (file, box, normalised text); None for blank lines, comments and other text."""
    found = BOX_LINE.match(line)
    if found is None or line.lstrip().startswith("#"):
        return None
    name, x, y, w, h, text = found.groups()
    left, top = float(x), float(y)
    return name, Box(left, top, left + float(w), top + float(h)), normalise_plate(text)


def _image_beside(folder: Path, name: str) -> Path:
    path = folder / name
    if path.exists():
        return path
    for suffix in IMAGE_SUFFIXES:  # a label naming 'car1' or 'car1.jpg' for 'car1.png'
        candidate = (folder / name).with_suffix(suffix)
        if candidate.exists():
            return candidate
    return path


def label_lines(source: Path, images: Path | None = None) -> Iterator[tuple[Path, Box, str]]:
    """(image, box, normalised text) of every `file x y w h TEXT` line of a labels file, or of every .txt file of a
    folder; text is empty for a plate labelled unreadable ('?'). Images are found in `images`, else beside the
    labels."""
    files = [source] if source.is_file() else sorted(source.rglob("*.txt"))
    for labels in files:
        for line in labels.read_text(encoding="utf-8", errors="replace").splitlines():
            parsed = parse_box_line(line)
            if parsed is not None:
                name, box, text = parsed
                yield _image_beside(images or labels.parent, name), box, text


def set_name(source: Path) -> str:
    """A labelled set's name in the tables: the folder's name, or the labels file's without its suffix."""
    return (source.stem if source.is_file() else source.name) or str(source)


def load_folder(folder: Path, images: Path | None = None) -> list[LabelledPlate]:
    """The labelled plates of a folder: `labels.csv` crops, else every readable `file x y w h TEXT` line of its .txt
    files (or of the labels file given instead of a folder)."""
    if (folder / "labels.csv").exists():
        from models.training.reader_data import load_labels

        return [LabelledPlate(crop.path, crop.text) for crop in load_labels(folder)]
    plates = [LabelledPlate(path, text, box) for path, box, text in label_lines(folder, images) if text]
    if not plates:
        raise FileNotFoundError(f"{folder}: no labels.csv and no 'file x y w h TEXT' lines in its .txt files")
    return plates


def split_of(
    folder: Path, plates: list[LabelledPlate], train_config: Path
) -> tuple[list[LabelledPlate], frozenset[str]]:
    """The plates of `folder` the shipped reader never trained on and the plate texts it trained on (split by the
    given labels, as training split them); every plate and no texts for a folder it did not train on."""
    if not train_config.exists():
        return plates, frozenset()
    from models.training.reader_data import LabelledCrop, split_by_plate
    from models.training.reader_train import load_train_config

    config = load_train_config(train_config)
    repo = DEFAULT_TRAIN_CONFIG.parents[2]  # the config's relative paths are meant from the repository root
    if folder.resolve() not in {config.br_crops.resolve(), (repo / config.br_crops).resolve()}:
        return plates, frozenset()
    crops = [LabelledCrop(p.image, p.text) for p in plates]
    train, test = split_by_plate(crops, config.test_fraction, config.split_seed)
    held_out = {crop.path for crop in test}
    return [p for p in plates if p.image in held_out], frozenset(crop.text for crop in train)


def held_out_only(folder: Path, plates: list[LabelledPlate], train_config: Path) -> tuple[list[LabelledPlate], str]:
    """The plates of `folder` the shipped reader never trained on, and a note when some were left out."""
    kept, trained = split_of(folder, plates, train_config)
    return kept, _held_out_note(len(kept)) if trained else ""


def _held_out_note(count: int) -> str:
    return f"the reader trained on this folder: its {count} held-out crops only"


def load_crops(plates: Sequence[LabelledPlate]) -> list[Image]:
    """Each plate's crop, BGR; full images are cut like the car cuts a detection. A missing or unreadable image
    is a UserError naming the file."""
    from edge.capture import load_image
    from edge.observe import crop_plate

    cache: dict[Path, Image] = {}
    crops = []
    for plate in plates:
        image = cache.get(plate.image)
        if image is None:
            image = load_image(plate.image)
            if plate.box is not None:
                cache = {plate.image: image}  # consecutive plates of one image share the decode
        crops.append(image if plate.box is None else crop_plate(image, plate.box))
    return crops


# --- running a reader -----------------------------------------------------------------------------------------

BatchReader = Callable[[Sequence[Image]], list[Reading | None]]


def batch_reader_of(reader: PlateReader) -> BatchReader:
    read_batch = getattr(reader, "read_batch", None)
    if callable(read_batch):
        return lambda crops: list(read_batch(crops))
    return lambda crops: [reader.read(crop) for crop in crops]


def read_timed(
    read_batch: BatchReader, crops: Sequence[Image], batch: int = BATCH, description: str = "reading"
) -> tuple[list[Reading | None], float]:
    """Every crop read in batches (after one warm-up batch); seconds spent reading only."""
    if crops:
        read_batch(crops[:batch])
    readings: list[Reading | None] = []
    seconds = 0.0
    for start in track(range(0, len(crops), batch), description=description, transient=True):
        began = time.perf_counter()
        readings += read_batch(crops[start : start + batch])
        seconds += time.perf_counter() - began
    return readings, seconds


def load_reader(
    runtime: str,
    weights: Path | None,
    threads: int,
    plate_formats: Sequence[str] = (),
    format_ratio: float | None = None,
) -> PlateReader:
    """The edge's reader plugin for `runtime`, with every reading kept (min_confidence 0) and no cut-off;
    `plate_formats` (regions) and `format_ratio` as the car's ReaderConfig takes them (default ratio: the car's)."""
    from pydantic import ValidationError

    from edge.config import ReaderConfig
    from edge.read import make_reader
    from platepatrol.config import describe_validation_error
    from platepatrol.errors import UserError

    settings: dict[str, Any] = {"runtime": runtime, "threads": threads, "plate_formats": tuple(plate_formats)}
    if format_ratio is not None:
        settings["format_ratio"] = format_ratio
    try:
        config = ReaderConfig.raw(**settings)
    except ValidationError as error:
        raise UserError(f"bad reader settings: {describe_validation_error(error)}") from None
    if weights is None:
        return make_reader(config)
    weights_dir = weights if weights.is_dir() else weights.parent
    if runtime == "plate_onnx":
        from edge.read.plate_onnx import PlateOnnxReader

        return PlateOnnxReader(config, weights_dir)
    if runtime == "plate_ocr":
        from edge.read.plate_ocr import PlateOcrReader

        return PlateOcrReader(config, weights_dir)
    raise ValueError(f"--weights applies to plate_ocr and plate_onnx, not {runtime!r}")


def evaluate_folders(
    folders: Sequence[Path],
    read_batch: BatchReader,
    batch: int = BATCH,
    train_config: Path = DEFAULT_TRAIN_CONFIG,
    console: Console | None = None,
    corrections: Mapping[str, LabelCorrection] | None = None,
    images: Path | None = None,
) -> tuple[list[ReaderScore], list[str], list[str]]:
    """A score per folder (and 'all' when there are several), with every prediction and truth (as given) in order.

    With `corrections` (audited labels by crop file name), each score as given is followed by its score on the
    audited labels ('<set> audited')."""
    console = console or Console(stderr=True)
    scores: list[ReaderScore] = []
    all_texts: list[str] = []
    all_truths: list[str] = []
    all_names: list[str] = []
    all_trained: frozenset[str] = frozenset()
    all_readings: list[Reading | None] = []
    total_seconds = 0.0
    for folder in folders:
        plates, trained = split_of(folder, load_folder(folder, images), train_config)
        if trained:
            console.print(f"{folder}: {_held_out_note(len(plates))}")
        crops = load_crops(plates)
        readings, seconds = read_timed(read_batch, crops, batch, description=f"reading {set_name(folder)}")
        truths = [p.text for p in plates]
        names = [p.image.name for p in plates]
        name = set_name(folder)
        scores.append(score_reads(name, readings, truths, seconds))
        if corrections is not None:
            audited, audit_note = score_audited(name, readings, names, truths, seconds, corrections, trained)
            scores.append(audited)
            console.print(audit_note)
        all_readings += readings
        all_texts += [r.text if r is not None else "" for r in readings]
        all_truths += truths
        all_names += names
        all_trained |= trained
        total_seconds += seconds
    unmatched = sorted(set(corrections or ()) - set(all_names))
    if unmatched:
        console.print(f"label corrections of crops not measured here (ignored): {', '.join(unmatched)}")
    if len(folders) > 1:
        scores.append(score_reads("all", all_readings, all_truths, total_seconds))
        if corrections is not None:
            scores.append(
                score_audited("all", all_readings, all_names, all_truths, total_seconds, corrections, all_trained)[0]
            )
    return scores, all_texts, all_truths


def print_scores(scores: Sequence[ReaderScore], console: Console | None = None) -> None:
    table = Table(title="plate reader")
    for column in ("set", "crops", "exact", "look-alikes forgiven", "CER", "no reading", "ECE", "ms/crop"):
        table.add_column(column, justify="left" if column == "set" else "right")
    for s in scores:
        table.add_row(
            s.name,
            str(s.crops),
            f"{s.exact:.2%}",
            f"{s.exact_lookalikes_forgiven:.2%}",
            f"{s.cer:.4f}",
            str(s.no_reading),
            f"{s.ece:.3f}",
            f"{s.ms_per_crop:.1f}",
        )
    (console or Console(width=120)).print(table)


def plot_confusion(predictions: Sequence[str], truths: Sequence[str], path: Path) -> Path:
    """A character confusion matrix PNG: rows are the true characters, columns what was read (log colour)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    labels = [*list(PLATE_ALPHABET), GAP]
    index = {ch: i for i, ch in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for (truth, read), count in confusion_counts(predictions, truths).items():
        if truth in index and read in index:
            matrix[index[truth], index[read]] += count
    errors = int(matrix.sum() - np.trace(matrix))
    figure, axes = plt.subplots(figsize=(11, 10))
    shown = np.where(matrix > 0, matrix, np.nan)
    image = axes.imshow(shown, cmap="viridis", norm=LogNorm(vmin=1, vmax=max(2, int(matrix.max()))))
    axes.set_xticks(range(len(labels)), labels, fontsize=8)
    axes.set_yticks(range(len(labels)), labels, fontsize=8)
    axes.set_xlabel(f"read ({GAP} = nothing read)")
    axes.set_ylabel(f"true ({GAP} = extra character)")
    axes.set_title(f"Character confusion: {len(truths)} plates, {errors} character errors")
    for (row, col), value in np.ndenumerate(matrix):
        if value and row != col:
            axes.text(col, row, str(int(value)), ha="center", va="center", fontsize=6, color="white")
    figure.colorbar(image, ax=axes, shrink=0.8, label="count")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def run_reader_eval(
    folders: list[Path],
    weights: Path | None,
    plot: Path | None,
    runtime: str = "plate_ocr",
    batch: int = BATCH,
    threads: int = 1,
    plate_formats: Sequence[str] = (),
    format_ratio: float | None = None,
    label_corrections: Sequence[Path] = (),
    images: Path | None = None,
) -> list[ReaderScore]:
    """The `platepatrol models eval --reader` command: a table per folder, optionally the confusion PNG.

    With `label_corrections` (files of audited labels) every set is scored as given and audited."""
    for folder in folders:
        if not folder.exists():
            raise FileNotFoundError(f"{folder}: no such folder or labels file")
    corrections = load_corrections(label_corrections) if label_corrections else None
    reader = load_reader(runtime, weights, threads, plate_formats, format_ratio)
    scores, texts, truths = evaluate_folders(
        folders, batch_reader_of(reader), batch, corrections=corrections, images=images
    )
    print_scores(scores)
    if plot is not None:
        Console().print(f"confusion matrix: {plot_confusion(texts, truths, plot)}")
    return scores
