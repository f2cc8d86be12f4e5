"""End-to-end evaluation: the car's whole pipeline on full labelled images, as `platepatrol read` runs it.

`platepatrol models eval --end-to-end LABELS... [--images DIR] [--config EDGE_YAML]` runs the car's detector and
reader (edge/observe.py `plates_in`, with the car's config) over every labelled image and matches what it read to
the labelled plates. LABELS is a folder or a file of `file x y w h TEXT` lines (openalpr's benchmark format); a TEXT
of `?` marks a plate nobody can read: it is not scored, and a reading of it is not counted as a false one.

A labelled plate is *read exactly* when a detection overlapping it (IoU >= 0.5, one detection per plate, best
overlap first) is read as its text: the figure a ticket depends on, the detector's misses and the reader's
errors together. A *false reading* is a reading of a detection that overlaps no labelled plate.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import track
from rich.table import Table

from edge.capture import load_image
from edge.observe import PlateInImage
from edge.types import Box, Image
from models.evaluation.reader import fold_lookalikes, label_lines, set_name

MATCH_IOU = 0.5

FindPlates = Callable[[Image], list[PlateInImage]]


@dataclass(frozen=True)
class LabelledImage:
    path: Path
    plates: tuple[tuple[Box, str], ...]  # (box, text) of each readable plate
    unreadable: tuple[Box, ...] = ()  # plates labelled '?'


@dataclass(frozen=True)
class PlateOutcome:
    image: str
    truth: str
    read: str | None  # None: no detection overlapped the plate, or its crop gave no reading


@dataclass(frozen=True)
class ImageOutcome:
    image: str
    plates: tuple[PlateOutcome, ...]
    false_readings: tuple[str, ...]


@dataclass(frozen=True)
class EndToEndScore:
    name: str
    images: int
    plates: int
    exact: float  # plates read exactly / plates
    exact_lookalikes_forgiven: float
    found: float  # plates a detection overlapped and the reader read at all / plates
    false_readings: int
    ms_per_image: float


# --- labels --------------------------------------------------------------------------------------------------


def load_labelled_images(source: Path, images: Path | None = None) -> list[LabelledImage]:
    """Every labelled image of a folder or labels file, in label order; `?` plates become unreadable regions."""
    by_image: dict[Path, tuple[list[tuple[Box, str]], list[Box]]] = {}
    for path, box, text in label_lines(source, images):
        readable, unreadable = by_image.setdefault(path, ([], []))
        if text:
            readable.append((box, text))
        else:
            unreadable.append(box)
    if not any(readable for readable, _ in by_image.values()):
        raise FileNotFoundError(f"{source}: no 'file x y w h TEXT' lines with a plate's text")
    return [LabelledImage(path, tuple(r), tuple(u)) for path, (r, u) in by_image.items()]


# --- matching: pure -------------------------------------------------------------------------------------------


def match_image(labelled: LabelledImage, found: Sequence[PlateInImage]) -> ImageOutcome:
    """Pair detections with labelled plates one to one, best overlap first; the rest of the readings are false
    unless they overlap a plate labelled unreadable."""
    overlaps = (
        (p.detection.box.iou(box), d, i) for i, (box, _) in enumerate(labelled.plates) for d, p in enumerate(found)
    )
    pairs = sorted((pair for pair in overlaps if pair[0] >= MATCH_IOU), reverse=True)
    plate_of: dict[int, int] = {}
    taken: set[int] = set()
    for _, d, i in pairs:
        if i not in plate_of and d not in taken:
            plate_of[i] = d
            taken.add(d)
    outcomes = []
    for i, (_, text) in enumerate(labelled.plates):
        reading = found[plate_of[i]].reading if i in plate_of else None
        outcomes.append(PlateOutcome(labelled.path.name, text, reading.text if reading is not None else None))
    false_readings = tuple(
        p.reading.text
        for d, p in enumerate(found)
        if d not in taken
        and p.reading is not None
        and not any(p.detection.box.iou(box) >= MATCH_IOU for box in labelled.unreadable)
    )
    return ImageOutcome(labelled.path.name, tuple(outcomes), false_readings)


def score_outcomes(name: str, outcomes: Sequence[ImageOutcome], seconds: float) -> EndToEndScore:
    plates = [p for o in outcomes for p in o.plates]
    count = len(plates)

    def share(hits: int) -> float:
        return hits / count if count else 0.0

    return EndToEndScore(
        name=name,
        images=len(outcomes),
        plates=count,
        exact=share(sum(p.read == p.truth for p in plates)),
        exact_lookalikes_forgiven=share(
            sum(p.read is not None and fold_lookalikes(p.read) == fold_lookalikes(p.truth) for p in plates)
        ),
        found=share(sum(p.read is not None for p in plates)),
        false_readings=sum(len(o.false_readings) for o in outcomes),
        ms_per_image=1000.0 * seconds / len(outcomes) if outcomes else 0.0,
    )


# --- running the car's pipeline --------------------------------------------------------------------------------


def evaluate_images(
    name: str, labelled: Sequence[LabelledImage], find_plates: FindPlates
) -> tuple[EndToEndScore, list[ImageOutcome]]:
    outcomes, seconds = [], 0.0
    for item in track(labelled, description=f"reading {name}", console=Console(stderr=True)):
        image = load_image(item.path)  # a UserError naming the file when it is missing or unreadable
        started = time.perf_counter()
        found = find_plates(image)
        seconds += time.perf_counter() - started
        outcomes.append(match_image(item, found))
    return score_outcomes(name, outcomes, seconds), outcomes


def print_scores(scores: Sequence[EndToEndScore], console: Console | None = None) -> None:
    table = Table(title="end to end (detector + reader, the car's config)")
    for column in ("set", "images", "plates", "read exactly", "look-alikes forgiven", "found", "false", "ms/image"):
        table.add_column(column, justify="left" if column == "set" else "right")
    for s in scores:
        table.add_row(
            s.name,
            str(s.images),
            str(s.plates),
            f"{s.exact:.2%}",
            f"{s.exact_lookalikes_forgiven:.2%}",
            f"{s.found:.2%}",
            str(s.false_readings),
            f"{s.ms_per_image:.1f}",
        )
    (console or Console(width=130)).print(table)


def write_misses(outcomes: Sequence[ImageOutcome], path: Path) -> Path:
    """A TSV of every plate not read exactly and every false reading, for looking at."""
    lines = ["image\ttruth\tread"]
    for outcome in outcomes:
        lines += [f"{p.image}\t{p.truth}\t{p.read or '-'}" for p in outcome.plates if p.read != p.truth]
        lines += [f"{outcome.image}\t-\t{text}" for text in outcome.false_readings]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_end_to_end_eval(
    sources: Sequence[Path], images: Path | None, config_path: Path | None, misses: Path | None = None
) -> list[EndToEndScore]:
    """The `platepatrol models eval --end-to-end` command: a row per labels source, and 'all' for several."""
    from edge.config import load_edge_config
    from edge.detect import make_detector
    from edge.observe import plates_in
    from edge.read import make_reader

    config = load_edge_config(config_path)
    detector, reader = make_detector(config.detector), make_reader(config.reader)
    scores, every_outcome = [], []
    for source in sources:
        score, outcomes = evaluate_images(
            set_name(source), load_labelled_images(source, images), lambda image: plates_in(image, detector, reader)
        )
        scores.append(score)
        every_outcome += outcomes
    if len(sources) > 1:
        seconds = sum(s.ms_per_image * s.images for s in scores) / 1000.0
        scores.append(score_outcomes("all", every_outcome, seconds))
    print_scores(scores)
    if misses is not None:
        Console().print(f"misses: {write_misses(every_outcome, misses)}")
    return scores
