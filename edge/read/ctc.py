"""What every runtime of PlatePatrol's CTC plate reader shares: the input pipeline, decoding, alternatives and the
calibrated confidence. Runtimes (edge/read/plate_ocr.py: torch through easyocr; edge/read/plate_onnx.py: ONNX
Runtime) only turn a batch of inputs into per-frame class probabilities.

Decoding: a CTC prefix beam search over the network's per-frame probabilities gives the most probable texts,
each with its probability summed over every alignment (frames) that spells it. The best is the reading; the next
ones are its alternatives (for example 'B123' when the best is '8123': a look-alike at one position, or a
character more or less). A text's raw probability is what the network believes; the calibration map beside the
weights (calibration/confidence.py, `confidence.json`) turns it into the share of such reads that are right.
Per-character confidences are the highest probability of each character over the frames that emit it.

Plate formats (`ReaderConfig.plate_formats`, edge/read/plate_formats.py): when the best text fits none of the
region's formats, a second beam search keeps every prefix inside the formats and returns whole-format texts only;
the best of those is read if it is at least `format_ratio` times as probable as the network's best (which then
comes first among the alternatives), else the network's reading stays. A setting's own calibration map
(`confidence.ar-br.json` for br and ar) is used when there is one: the reads the formats change are right more often
than their probability says.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from edge.config import ReaderConfig
from edge.read.plate_formats import FormatAutomaton, automaton_for
from edge.types import Candidate, Image, Reading

IMG_HEIGHT = 64  # english_g2's imgH, kept by the fine-tuned network
TWO_ROW_MAX_ASPECT = 1.7  # crops squarer than this may be two-row plates: read them both ways
NETWORK = "plate_reader"
WEIGHTS_DIR = Path(__file__).resolve().parents[2] / "models" / "reader"
CALIBRATION_FILE = "confidence.json"
BEAM_WIDTH = 8
PRUNE = 1e-3  # classes below this probability in a frame are not tried as extensions
BEAM_FLOOR = 1e-4  # texts this much less probable than the best are dropped from the beam
MAX_ALTERNATIVES = 3
FORMAT_PRUNE = PRUNE  # the same for the search inside plate formats (chosen on rendered plates: card.yaml)

Gray = npt.NDArray[np.uint8]
Probs = npt.NDArray[np.float32]  # frames x classes, softmax; class 0 is the CTC blank


def to_gray(image: npt.NDArray[np.uint8]) -> Gray:
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return np.asarray(gray, dtype=np.uint8)


def resize_to_height(gray: Gray, img_height: int = IMG_HEIGHT) -> Gray:
    """easyocr's `compute_ratio_and_resize` (cv2 flag 1 = linear) for a wide crop; a tall one becomes square."""
    h, w = gray.shape
    width = max(1, int(img_height * max(w / h, 1.0)))
    return np.asarray(cv2.resize(gray, (width, img_height), interpolation=cv2.INTER_LINEAR), dtype=np.uint8)


def padded_width(resized: Gray, img_height: int = IMG_HEIGHT) -> int:
    return math.ceil(int(resized.shape[1]) / img_height) * img_height


def network_input(gray: Gray, img_height: int = IMG_HEIGHT, width: int | None = None) -> npt.NDArray[np.float32]:
    """1 x H x W in [-1, 1], right-padded by repeating the last column to `width` (default: easyocr's width)."""
    resized = resize_to_height(gray, img_height)
    target = max(width or 0, padded_width(resized, img_height))
    scaled = resized.astype(np.float32) / 127.5 - 1.0
    pad = target - scaled.shape[1]
    if pad > 0:
        scaled = np.concatenate([scaled, np.repeat(scaled[:, -1:], pad, axis=1)], axis=1)
    return scaled[np.newaxis]


def stack_arrays(grays: Sequence[Gray], img_height: int = IMG_HEIGHT) -> npt.NDArray[np.float32]:
    """A batch, N x 1 x H x W: each crop padded (last column repeated) to the widest crop's easyocr width."""
    width = max(padded_width(resize_to_height(g, img_height), img_height) for g in grays)
    return np.stack([network_input(g, img_height, width) for g in grays])


def two_row_to_one(gray: Gray) -> Gray:
    """Top half then bottom half side by side: a CTC reader reads left to right only."""
    h = gray.shape[0]
    top, bottom = gray[: h // 2], gray[h // 2 :]
    squeezed = cv2.resize(bottom, (bottom.shape[1], top.shape[0]), interpolation=cv2.INTER_LINEAR)
    return np.asarray(np.hstack([top, squeezed]), dtype=np.uint8)


def softmax(logits: npt.NDArray[np.float32]) -> Probs:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return np.asarray(shifted / shifted.sum(axis=-1, keepdims=True), dtype=np.float32)


def greedy_decode(probs: Probs, alphabet: str) -> tuple[str, tuple[float, ...]]:
    """Best path of one T x C softmax: collapse repeats, drop blanks (class 0). A character's confidence is
    its highest probability over the frames that emitted it."""
    best = probs.argmax(axis=1)
    text: list[str] = []
    confidences: list[float] = []
    previous = 0
    for t, cls in enumerate(best):
        if cls != 0 and cls == previous:
            confidences[-1] = max(confidences[-1], float(probs[t, cls]))
        elif cls != 0:
            text.append(alphabet[cls - 1])
            confidences.append(float(probs[t, cls]))
        previous = int(cls)
    return "".join(text), tuple(confidences)


def beam_search(
    probs: Probs, beam_width: int = BEAM_WIDTH, prune: float = PRUNE, formats: FormatAutomaton | None = None
) -> list[tuple[tuple[int, ...], float]]:
    """CTC prefix beam search: the most probable label sequences (classes 1..C-1), best first, each with its
    probability summed over all its alignments (a lower bound: pruned paths are not counted).

    With `formats`, every prefix stays inside some plate format (a class is tried at a position only where a
    format still live for the prefix allows it) and only texts that complete a format are returned."""
    beams: dict[tuple[int, ...], tuple[float, float]] = {(): (1.0, 0.0)}  # prefix -> (ends in blank, not)
    live: dict[tuple[int, ...], int] = {(): formats.all} if formats is not None else {}  # prefix -> format bits
    rows = probs.astype(np.float64).tolist()  # Python floats: this loop is scalar work
    candidates_per_frame: list[list[int]] = [[] for _ in rows]
    for t, c in zip(*(index.tolist() for index in np.nonzero(probs[:, 1:] > prune)), strict=True):
        candidates_per_frame[t].append(c + 1)
    for row, candidates in zip(rows, candidates_per_frame, strict=True):
        blank = row[0]
        grown: dict[tuple[int, ...], list[float]] = {}
        for prefix, (p_blank, p_char) in beams.items():
            total = p_blank + p_char
            entry = grown.setdefault(prefix, [0.0, 0.0])
            entry[0] += total * blank
            if prefix:
                entry[1] += p_char * row[prefix[-1]]  # the last character held over another frame
            state = live[prefix] if formats is not None else 0
            for c in candidates:
                extended = (*prefix, c)
                if formats is not None and extended not in live:
                    next_state = formats.step(state, len(prefix), c)
                    if not next_state:
                        continue  # no format allows this character here
                    live[extended] = next_state
                # the same character twice needs a blank between: only paths ending in blank extend
                grown.setdefault(extended, [0.0, 0.0])[1] += (p_blank if prefix and prefix[-1] == c else total) * row[c]
        kept = sorted(grown.items(), key=lambda item: -(item[1][0] + item[1][1]))[:beam_width]
        floor = (kept[0][1][0] + kept[0][1][1]) * BEAM_FLOOR
        beams = {prefix: (p[0], p[1]) for prefix, p in kept if p[0] + p[1] >= floor}
    ranked = sorted(((prefix, p[0] + p[1]) for prefix, p in beams.items()), key=lambda item: -item[1])
    if formats is not None:
        return [(prefix, p) for prefix, p in ranked if prefix and live[prefix] & formats.complete[len(prefix)]]
    return [(prefix, p) for prefix, p in ranked if prefix]


def char_confidences(probs: Probs, labels: Sequence[int]) -> tuple[float, ...]:
    """Each character's highest probability over the frames its best alignment (Viterbi) gives it."""
    if not labels:
        return ()
    extended = [0]
    for c in labels:
        extended += [c, 0]
    states = len(extended)
    log = np.log(np.maximum(probs[:, extended].astype(np.float64), 1e-30))  # T x S
    can_skip = np.array(
        [s >= 2 and extended[s] != 0 and extended[s] != extended[s - 2] for s in range(states)], dtype=bool
    )
    frames = probs.shape[0]
    score = np.full(states, -np.inf)
    score[0], score[1] = log[0, 0], log[0, 1]
    back = np.zeros((frames, states), dtype=np.int8)  # 0 stay, 1 from s-1, 2 from s-2
    for t in range(1, frames):
        stay, step = score, np.concatenate([[-np.inf], score[:-1]])
        skip = np.where(can_skip, np.concatenate([[-np.inf, -np.inf], score[:-2]]), -np.inf)
        options = np.stack([stay, step, skip])
        back[t] = options.argmax(axis=0)
        score = options.max(axis=0) + log[t]
    state = states - 1 if states < 2 or score[-1] >= score[-2] else states - 2
    best = [0.0] * len(labels)
    for t in range(frames - 1, -1, -1):
        if extended[state] != 0:
            index = (state - 1) // 2
            best[index] = max(best[index], float(probs[t, extended[state]]))
        state -= int(back[t, state])
    return tuple(best)


def calibration_file(regions: Sequence[str] = ()) -> str:
    """The calibration map's file name for a plate-format setting: 'confidence.json' without formats,
    'confidence.ar-br.json' for br and ar (in any order): a car patrols one region, so it needs one map."""
    return CALIBRATION_FILE if not regions else f"confidence.{'-'.join(sorted(set(regions)))}.json"


class ConfidenceCalibration:
    """The calibration map of calibration/confidence.py, read without importing it (the car needs numpy only)."""

    def __init__(self, apply: Callable[[float], float], source: Path | None = None) -> None:
        self._apply = apply
        self.source = source

    def __call__(self, raw: float) -> float:
        return float(min(1.0, max(0.0, self._apply(raw))))

    @classmethod
    def identity(cls) -> ConfidenceCalibration:
        return cls(lambda raw: raw)

    @classmethod
    def load(cls, path: Path) -> ConfidenceCalibration:
        body = json.loads(path.read_text(encoding="utf-8"))
        if body.get("method") == "platt":
            a, b = float(body["a"]), float(body["b"])

            def platt(raw: float) -> float:
                p = min(max(raw, 1e-6), 1 - 1e-6)
                return 1.0 / (1.0 + math.exp(-(a * math.log(p / (1 - p)) + b)))

            return cls(platt, path)
        if body.get("method") == "isotonic":
            xs = np.asarray(body["knots_x"], dtype=np.float64)
            ys = np.asarray(body["knots_y"], dtype=np.float64)
            return cls(lambda raw: float(np.interp(raw, xs, ys)), path)
        raise ValueError(f"{path}: unknown confidence map method {body.get('method')!r}")

    @classmethod
    def beside(cls, weights_dir: Path, enabled: bool = True, regions: Sequence[str] = ()) -> ConfidenceCalibration:
        """The map fitted for these plate formats when there is one, else the map fitted without formats."""
        for path in (weights_dir / calibration_file(regions), weights_dir / CALIBRATION_FILE):
            if enabled and path.exists():
                return cls.load(path)
        return cls.identity()


def decode(
    probs: Probs,
    alphabet: str,
    calibrate: ConfidenceCalibration | None = None,
    formats: FormatAutomaton | None = None,
    format_ratio: float = 1.0,
) -> Reading | None:
    """The best text of one crop's T x C probabilities with its alternatives; None when nothing was read.

    With `formats`: when the network's best text fits no format, the best text that fits one is read instead if it
    is at least `format_ratio` times as probable; the network's best then comes first among the alternatives."""
    ranked = beam_search(probs)
    if not ranked:
        return None
    if formats is not None and not formats.accepts(ranked[0][0]):
        fitting = beam_search(probs, prune=FORMAT_PRUNE, formats=formats)
        if fitting and fitting[0][1] >= format_ratio * ranked[0][1]:
            seen = {prefix for prefix, _ in fitting}
            ranked = fitting[:1] + sorted(
                fitting[1:] + [item for item in ranked if item[0] not in seen], key=lambda item: -item[1]
            )
    calibrate = calibrate or ConfidenceCalibration.identity()
    (labels, raw), others = ranked[0], ranked[1 : 1 + MAX_ALTERNATIVES]
    confidence = calibrate(min(raw, 1.0))
    greedy_text, greedy_chars = greedy_decode(probs, alphabet)
    text = "".join(alphabet[c - 1] for c in labels)
    chars = greedy_chars if greedy_text == text else char_confidences(probs, labels)
    # The alternatives share what the best leaves: 1 - its calibrated confidence, split as the network splits it.
    rest = max(1.0 - raw, sum(p for _, p in others), 1e-12)
    alternatives = tuple(
        Candidate("".join(alphabet[c - 1] for c in alt), min(1.0, p / rest) * (1.0 - confidence)) for alt, p in others
    )
    return Reading(text=text, confidence=confidence, char_confidences=chars, alternatives=alternatives)


class CtcPlateReader:
    """Reads crops one by one or in batches with any runtime that gives per-frame probabilities."""

    alphabet: str
    img_height: int

    def __init__(self, config: ReaderConfig, weights_dir: Path, calibrated: bool = True) -> None:
        self.config = config
        self.weights_dir = weights_dir
        self.calibration = ConfidenceCalibration.beside(weights_dir, calibrated, config.plate_formats)

    @cached_property
    def formats(self) -> FormatAutomaton | None:
        """The configured plate formats compiled for this network's alphabet (known once a runtime has loaded)."""
        return automaton_for(tuple(self.config.plate_formats), self.alphabet)

    def probabilities(self, batch: npt.NDArray[np.float32]) -> Probs:
        """N x 1 x H x W inputs in, N x T x C softmax out."""
        raise NotImplementedError

    def _infer(self, grays: Sequence[Gray]) -> list[Reading | None]:
        """Crops of one padded width go through the network together: no crop pays for a wider one's frames."""
        widths = [padded_width(resize_to_height(g, self.img_height), self.img_height) for g in grays]
        found: list[Reading | None] = [None] * len(grays)
        for width in sorted(set(widths)):
            members = [i for i, w in enumerate(widths) if w == width]
            batch = np.stack([network_input(grays[i], self.img_height, width) for i in members])
            for i, probs in zip(members, self.probabilities(batch), strict=True):
                found[i] = decode(
                    probs,
                    self.alphabet,
                    self.calibration,
                    self.formats,
                    self.config.format_ratio,
                )
        return found

    def read_batch(self, crops: Sequence[Image]) -> list[Reading | None]:
        """One forward pass for all crops (BGR or grayscale); squarish crops are also read as two-row plates."""
        grays = {i: to_gray(crop) for i, crop in enumerate(crops) if crop.size > 0 and min(crop.shape[:2]) >= 4}
        if not grays:
            return [None] * len(crops)
        keys = list(grays)
        squarish = [i for i in keys if grays[i].shape[1] / grays[i].shape[0] < TWO_ROW_MAX_ASPECT]
        found = self._infer([grays[i] for i in keys] + [two_row_to_one(grays[i]) for i in squarish])
        readings = dict(zip(keys, found[: len(keys)], strict=True))
        for i, joined in zip(squarish, found[len(keys) :], strict=True):
            current = readings[i]
            if joined is not None and (current is None or joined.confidence > current.confidence):
                readings[i] = joined
        return [self._keep(readings.get(i)) for i in range(len(crops))]

    def read(self, crop: Image) -> Reading | None:
        return self.read_batch([crop])[0]

    def _keep(self, reading: Reading | None) -> Reading | None:
        return reading if reading is not None and self.config.keeps(reading.text, reading.confidence) else None
