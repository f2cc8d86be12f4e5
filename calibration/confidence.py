"""Calibrating the plate reader's confidence, so that a read of confidence p is right with probability p.

The reader's raw confidence (the network's probability of its best text) is sure of itself: fitted on reads the
network never trained on, a monotone map turns it into the share of such reads that were right. Two maps:

- `isotonic`: pool-adjacent-violators on (raw confidence, right) pairs, stored as knots and interpolated
  linearly between them (monotone by construction, and exact at the knots);
- `platt`: p = sigmoid(a * logit(raw) + b), two numbers fitted by Newton's method (smooth, needs less data).

The map is saved as a small JSON file beside the reader's weights (`confidence.json`); the reader plugins load
it and return calibrated confidences. Expected calibration error (ECE): reads binned by confidence into equal
bins; the mean over bins of |share right - mean confidence|, weighted by the share of reads in the bin.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from edge.read import PlateReader
    from models.evaluation.label_corrections import LabelCorrection
    from models.evaluation.reader import LabelledPlate

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Method = Literal["isotonic", "platt"]
MAP_FILE = "confidence.json"
EPS = 1e-6


def expected_calibration_error(confidences: npt.ArrayLike, correct: npt.ArrayLike, bins: int = 10) -> float:
    """ECE over `bins` equal-width confidence bins (confidence 1.0 falls in the last); 0 for no reads."""
    conf = np.asarray(confidences, dtype=np.float64).ravel()
    right = np.asarray(correct, dtype=np.float64).ravel()
    if conf.shape != right.shape:
        raise ValueError(f"{conf.size} confidences for {right.size} outcomes")
    if bins < 1:
        raise ValueError("bins must be at least 1")
    if conf.size == 0:
        return 0.0
    index = np.clip((np.clip(conf, 0.0, 1.0) * bins).astype(np.int64), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        chosen = index == b
        if chosen.any():
            total += chosen.sum() * abs(float(right[chosen].mean()) - float(conf[chosen].mean()))
    return total / conf.size


@dataclass(frozen=True)
class ReliabilityBin:
    low: float
    high: float
    count: int
    mean_confidence: float
    share_right: float


def reliability(confidences: npt.ArrayLike, correct: npt.ArrayLike, bins: int = 10) -> list[ReliabilityBin]:
    conf = np.asarray(confidences, dtype=np.float64).ravel()
    right = np.asarray(correct, dtype=np.float64).ravel()
    index = np.clip((np.clip(conf, 0.0, 1.0) * bins).astype(np.int64), 0, bins - 1)
    out = []
    for b in range(bins):
        chosen = index == b
        count = int(chosen.sum())
        out.append(
            ReliabilityBin(
                b / bins,
                (b + 1) / bins,
                count,
                float(conf[chosen].mean()) if count else float("nan"),
                float(right[chosen].mean()) if count else float("nan"),
            )
        )
    return out


def pool_adjacent_violators(y: FloatArray, weights: FloatArray | None = None) -> FloatArray:
    """The non-decreasing sequence closest to `y` in weighted least squares."""
    w = np.ones_like(y) if weights is None else weights.astype(np.float64)
    means: list[float] = []
    sizes: list[float] = []
    counts: list[int] = []
    for value, weight in zip(y.tolist(), w.tolist(), strict=True):
        means.append(value)
        sizes.append(weight)
        counts.append(1)
        while len(means) > 1 and means[-2] > means[-1]:
            total = sizes[-2] + sizes[-1]
            merged = (means[-2] * sizes[-2] + means[-1] * sizes[-1]) / total
            count = counts[-2] + counts[-1]
            del means[-1], sizes[-1], counts[-1]
            means[-1], sizes[-1], counts[-1] = merged, total, count
    return np.repeat(np.asarray(means), counts)


def _logit(p: FloatArray) -> FloatArray:
    clipped = np.clip(p, EPS, 1 - EPS)
    return np.asarray(np.log(clipped / (1 - clipped)), dtype=np.float64)


def _sigmoid(z: FloatArray) -> FloatArray:
    return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=np.float64)


@dataclass(frozen=True)
class ConfidenceMap:
    """A monotone map from the reader's raw confidence to a calibrated one."""

    method: Method
    knots_x: tuple[float, ...] = ()  # isotonic: raw confidences, increasing
    knots_y: tuple[float, ...] = ()  # isotonic: calibrated confidences, non-decreasing
    a: float = 1.0  # platt
    b: float = 0.0  # platt
    info: dict[str, object] = field(default_factory=dict, compare=False)

    def __call__(self, raw: npt.ArrayLike) -> FloatArray:
        x = np.clip(np.asarray(raw, dtype=np.float64), 0.0, 1.0)
        if self.method == "platt":
            return _sigmoid(self.a * _logit(x) + self.b)
        return np.asarray(np.interp(x, self.knots_x, self.knots_y), dtype=np.float64)

    def apply(self, raw: float) -> float:
        return float(self(np.asarray([raw]))[0])

    def to_json(self) -> dict[str, object]:
        body: dict[str, object] = {"method": self.method}
        if self.method == "platt":
            body |= {"a": self.a, "b": self.b}
        else:
            body |= {"knots_x": list(self.knots_x), "knots_y": list(self.knots_y)}
        return body | {"info": self.info}

    @classmethod
    def from_json(cls, body: dict[str, object]) -> ConfidenceMap:
        method = body.get("method")
        info = body.get("info", {})
        if method == "platt":
            return cls("platt", a=float(str(body["a"])), b=float(str(body["b"])), info=dict(info or {}))  # type: ignore[call-overload]
        if method == "isotonic":
            xs = tuple(float(v) for v in body["knots_x"])  # type: ignore[attr-defined]
            ys = tuple(float(v) for v in body["knots_y"])  # type: ignore[attr-defined]
            if len(xs) != len(ys) or len(xs) < 2 or any(np.diff(xs) < 0) or any(np.diff(ys) < 0):
                raise ValueError("isotonic map: knots_x and knots_y must be equally long (2+) and non-decreasing")
            return cls("isotonic", knots_x=xs, knots_y=ys, info=dict(info or {}))  # type: ignore[call-overload]
        raise ValueError(f"unknown confidence map method {method!r}")

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=1) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: Path) -> ConfidenceMap:
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))


def _weights_of(weights: npt.ArrayLike | None, size: int) -> FloatArray:
    if weights is None:
        return np.ones(size, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64).ravel()
    if w.size != size or not np.all(np.isfinite(w)) or np.any(w < 0) or not np.any(w > 0):
        raise ValueError("weights must be one finite, non-negative number a read, not all zero")
    return w


def fit_isotonic(
    confidences: npt.ArrayLike, correct: npt.ArrayLike, max_knots: int = 64, weights: npt.ArrayLike | None = None
) -> ConfidenceMap:
    """Pool-adjacent-violators on the reads sorted by raw confidence, each read counted with its weight (default
    1); a knot at each block's weighted mean confidence."""
    conf = np.clip(np.asarray(confidences, dtype=np.float64).ravel(), 0.0, 1.0)
    right = np.asarray(correct, dtype=np.float64).ravel()
    if conf.size == 0:
        raise ValueError("no reads to fit on")
    w = _weights_of(weights, conf.size)
    order = np.argsort(conf, kind="stable")
    xs, ws, ys = conf[order], w[order], pool_adjacent_violators(right[order], w[order])
    knots_x: list[float] = []
    knots_y: list[float] = []
    start = 0
    for end in range(1, len(ys) + 1):  # one knot per block of equal fitted value
        if end == len(ys) or ys[end] != ys[start]:
            block = ws[start:end]
            knots_x.append(float(np.average(xs[start:end], weights=block) if block.sum() > 0 else xs[start:end].mean()))
            knots_y.append(float(ys[start]))
            start = end
    kx, ky = np.asarray(knots_x), np.asarray(knots_y)
    if kx.size > max_knots:  # keep the file small: resample the monotone curve
        grid = np.quantile(conf, np.linspace(0, 1, max_knots))
        kx, ky = grid, np.interp(grid, kx, ky)
    # Ends: below the lowest knot the map keeps its value; raw 0 and 1 are pinned so the curve spans [0, 1].
    kx = np.concatenate([[0.0], kx, [1.0]])
    ky = np.concatenate([[ky[0]], ky, [ky[-1]]])
    kx, unique = np.unique(kx, return_index=True)
    ky = np.maximum.accumulate(ky[unique])
    return ConfidenceMap("isotonic", tuple(kx.tolist()), tuple(ky.tolist()))


def fit_platt(
    confidences: npt.ArrayLike, correct: npt.ArrayLike, iterations: int = 100, weights: npt.ArrayLike | None = None
) -> ConfidenceMap:
    """Logistic regression of right/wrong on logit(raw confidence), each read counted with its weight (default 1)
    (Newton's method, a little L2 for stability)."""
    z = _logit(np.asarray(confidences, dtype=np.float64).ravel())
    y = np.asarray(correct, dtype=np.float64).ravel()
    if z.size == 0:
        raise ValueError("no reads to fit on")
    w = _weights_of(weights, z.size)
    features = np.stack([z, np.ones_like(z)], axis=1)
    theta = np.array([1.0, 0.0])
    ridge = 1e-3 * np.eye(2)
    for _ in range(iterations):
        p = _sigmoid(features @ theta)
        gradient = features.T @ (w * (p - y)) + ridge @ (theta - np.array([1.0, 0.0]))
        hessian = (features * (w * p * (1 - p))[:, None]).T @ features + ridge
        step = np.linalg.solve(hessian, gradient)
        theta -= step
        if np.abs(step).max() < 1e-9:
            break
    a = max(float(theta[0]), 0.0)  # a negative slope would make the map decreasing: never
    return ConfidenceMap("platt", a=a, b=float(theta[1]))


def fit(
    confidences: npt.ArrayLike,
    correct: npt.ArrayLike,
    method: Method = "isotonic",
    weights: npt.ArrayLike | None = None,
) -> ConfidenceMap:
    if method == "platt":
        return fit_platt(confidences, correct, weights=weights)
    return fit_isotonic(confidences, correct, weights=weights)


def map_file(plate_formats: Sequence[str] = ()) -> str:
    """The map's file for a plate-format setting (edge/read/ctc.py `calibration_file`, the name the reader loads)."""
    from edge.read.ctc import calibration_file

    return calibration_file(plate_formats)


def load_map(weights_dir: Path, plate_formats: Sequence[str] = ()) -> ConfidenceMap | None:
    """The reader's calibration map beside its weights for a plate-format setting, or None when there is none."""
    path = weights_dir / map_file(plate_formats)
    return ConfidenceMap.load(path) if path.exists() else None


def plot_reliability(
    curves: Sequence[tuple[str, npt.ArrayLike, npt.ArrayLike]], path: Path, bins: int = 10, title: str = ""
) -> Path:
    """A reliability diagram: share right against mean confidence per bin, one line per (label, conf, right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (top, bottom) = plt.subplots(2, 1, figsize=(6.5, 8), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    top.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfectly calibrated")
    edges = np.linspace(0, 1, bins + 1)
    for label, conf, right in curves:
        table = [b for b in reliability(conf, right, bins) if b.count]
        ece = expected_calibration_error(conf, right, bins)
        top.plot(
            [b.mean_confidence for b in table],
            [b.share_right for b in table],
            marker="o",
            label=f"{label} (ECE {ece:.3f}, n={np.asarray(conf).size})",
        )
        bottom.hist(np.asarray(conf, dtype=np.float64), bins=edges, histtype="step", linewidth=1.5, label=label)
    top.set_ylabel("share of reads right")
    top.set_xlim(0, 1)
    top.set_ylim(0, 1)
    top.set_title(title or "Reader confidence: reliability")
    top.legend(loc="upper left", fontsize=8)
    top.grid(alpha=0.3)
    bottom.set_xlabel("confidence")
    bottom.set_ylabel("reads")
    bottom.set_yscale("log")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def as_arrays(confidences: Sequence[float], correct: Sequence[bool]) -> tuple[FloatArray, BoolArray]:
    return np.asarray(confidences, dtype=np.float64), np.asarray(correct, dtype=bool)


# --- fitting the shipped reader's map: `platepatrol calibrate confidence` ------------------------------------


@dataclass(frozen=True)
class Reads:
    """Raw reads of one labelled set: the reader's raw confidence and whether the text was right."""

    source: str
    texts: tuple[str, ...]  # the true plates (the split key)
    confidences: FloatArray
    correct: BoolArray

    def where(self, keep: BoolArray, source: str | None = None) -> Reads:
        return Reads(
            source or self.source,
            tuple(t for t, k in zip(self.texts, keep.tolist(), strict=True) if k),
            self.confidences[keep],
            self.correct[keep],
        )

    def halves(self, seed: int = 0) -> tuple[Reads, Reads]:
        """Split by plate text (every read of a plate on one side), about half and half."""
        plates = sorted(set(self.texts))
        rng = np.random.default_rng(seed)
        chosen = {plates[i] for i in rng.permutation(len(plates))[: len(plates) // 2]}
        first = np.array([t in chosen for t in self.texts], dtype=bool)
        return self.where(first), self.where(~first)


def concat(parts: Sequence[Reads], source: str) -> Reads:
    return Reads(
        source,
        tuple(t for p in parts for t in p.texts),
        np.concatenate([p.confidences for p in parts]) if parts else np.zeros(0),
        np.concatenate([p.correct for p in parts]) if parts else np.zeros(0, dtype=bool),
    )


def read_set(source: str, images: Sequence[npt.NDArray[np.uint8]], truths: Sequence[str], reader: PlateReader) -> Reads:
    """Read a labelled set with calibration off: a missing read counts as confidence 0, wrong."""
    from models.evaluation.reader import batch_reader_of, read_timed

    readings, _ = read_timed(batch_reader_of(reader), images, description=f"reading {source}")
    conf = np.array([r.confidence if r is not None else 0.0 for r in readings], dtype=np.float64)
    right = np.array([r is not None and r.text == t for r, t in zip(readings, truths, strict=True)], dtype=bool)
    return Reads(source, tuple(truths), conf, right)


def cross_fitted(
    reads: Reads,
    method: Method = "isotonic",
    folds: int = 5,
    seed: int = 0,
    weights: FloatArray | None = None,
) -> FloatArray:
    """Each read's calibrated confidence from a map fitted (with the reads' `weights`) on the other folds (folds by
    plate text): an honest after-calibration measure that still uses every read, both to fit and to test."""
    w = _weights_of(weights, reads.confidences.size)
    plates = sorted(set(reads.texts))
    order = np.random.default_rng(seed).permutation(len(plates)) % folds
    fold_of = dict(zip(plates, order.tolist(), strict=True))
    fold = np.array([fold_of[t] for t in reads.texts], dtype=np.int64)
    out = np.zeros_like(reads.confidences)
    for k in range(folds):
        test = fold == k
        if test.any() and (~test).any():
            fitted = fit(reads.confidences[~test], reads.correct[~test], method, w[~test])
            out[test] = fitted(reads.confidences[test])
        elif test.any():
            out[test] = reads.confidences[test]
    return out


def share_weights(real: BoolArray, real_share: float | None) -> FloatArray | None:
    """Weights that give the `real` reads `real_share` of the total and the others the rest (None: one each)."""
    if real_share is None:
        return None
    if not 0 < real_share < 1:
        raise ValueError(f"real_share must be between 0 and 1, not {real_share}")
    n_real, n_other = int(real.sum()), int((~real).sum())
    if n_real == 0 or n_other == 0:
        return None  # nothing to share between
    return np.where(real, real_share / n_real, (1 - real_share) / n_other) * real.size


@dataclass(frozen=True)
class CalibrationRow:
    name: str
    reads: int
    right: float
    ece_raw: float
    ece_calibrated: float
    how: str  # "cross-fitted" (each read by a map that never saw its plate) or "never fitted"


@dataclass(frozen=True)
class CalibrationReport:
    mapping: ConfidenceMap
    rows: list[CalibrationRow]
    diagram: Path
    saved: Path


def calibrate_reader(
    weights_dir: Path,
    train_config: Path,
    synthetic: int = 2000,
    extra_tests: Sequence[Path] = (),
    method: Method = "isotonic",
    bins: int = 10,
    folds: int = 5,
    diagram: Path | None = None,
    threads: int = 1,
    seed: int = 0,
    plate_formats: Sequence[str] = (),
    label_corrections: Mapping[str, LabelCorrection] | None = None,
    real_share: float | None = None,
) -> CalibrationReport:
    """Fit the reader's map on its held-out reads (the BR plates it never trained on and rendered plates it never
    saw), measured by cross-fitting (folds by plate) and on `extra_tests` (never fitted); save it beside the weights.

    With `label_corrections` (audited labels by file name) every labelled crop is judged against its audited
    label; unreadable crops and held-out crops whose audited plate was trained on are left out.

    With `plate_formats` the reads are decoded inside those regions' formats (ReaderConfig.plate_formats) and the
    map is saved under that setting's name (`confidence.ar-br.json`): the reader loads it for that setting only.

    `real_share` (0 to 1) gives the real held-out reads that share of the fit's weight and the rendered ones the
    rest (the car reads real plates; by count the renders are nine in ten); None counts every read once.
    """
    from edge.config import ReaderConfig
    from edge.read.plate_ocr import PlateOcrReader
    from models.evaluation.reader import load_crops, load_folder
    from models.training.reader_eval import SYNTHETIC_EVAL_SEED, held_out_br, synthetic_set, trained_br_plates
    from models.training.reader_train import load_train_config

    reader = PlateOcrReader(
        ReaderConfig.raw(threads=threads, plate_formats=tuple(plate_formats)), weights_dir, calibrated=False
    )
    config = load_train_config(train_config)
    br = _audited([_plate(c.path, c.text) for c in held_out_br(config)], label_corrections, trained_br_plates(config))
    br_reads = read_set("held_out_br", load_crops(br), [p.text for p in br], reader)
    # Seeds beyond the eval set's: rendered plates neither the training nor `eval-reader --synthetic` uses.
    images, truths, _ = synthetic_set(synthetic, SYNTHETIC_EVAL_SEED + 10**7)
    synthetic_reads = read_set("synthetic", images, truths, reader)
    pool = concat([br_reads, synthetic_reads], "held-out (BR + synthetic)")
    source = np.array([0] * len(br_reads.texts) + [1] * len(synthetic_reads.texts))
    weights = share_weights(source == 0, real_share)
    calibrated = cross_fitted(pool, method, folds, seed, weights)
    rows = []
    for name, chosen in (
        (pool.source, np.ones_like(source, dtype=bool)),
        (br_reads.source, source == 0),
        (synthetic_reads.source, source == 1),
    ):
        rows.append(
            CalibrationRow(
                name,
                int(chosen.sum()),
                float(pool.correct[chosen].mean()) if chosen.any() else 0.0,
                expected_calibration_error(pool.confidences[chosen], pool.correct[chosen], bins),
                expected_calibration_error(calibrated[chosen], pool.correct[chosen], bins),
                f"cross-fitted, {folds} folds by plate",
            )
        )
    mapping = fit(pool.confidences, pool.correct, method, weights)
    tests = []
    for folder in extra_tests:
        plates = _audited(load_folder(folder), label_corrections)
        reads = read_set(folder.name, load_crops(plates), [p.text for p in plates], reader)
        tests.append(reads)
        rows.append(
            CalibrationRow(
                reads.source,
                int(reads.confidences.size),
                float(reads.correct.mean()) if reads.correct.size else 0.0,
                expected_calibration_error(reads.confidences, reads.correct, bins),
                expected_calibration_error(mapping(reads.confidences), reads.correct, bins),
                "never fitted",
            )
        )
    info: dict[str, object] = {
        "plate_formats": sorted(set(plate_formats)),
        "fitted_on": f"{len(br_reads.texts)} held-out BR crops ({len(set(br_reads.texts))} plates never trained on) "
        f"and {len(synthetic_reads.texts)} rendered plates never trained on"
        + (", BR labels as audited" if label_corrections is not None else ""),
        "real_share": real_share,
        "bins": bins,
        "ece": {
            r.name: {
                "reads": r.reads,
                "raw": round(r.ece_raw, 4),
                "calibrated": round(r.ece_calibrated, 4),
                "how": r.how,
            }
            for r in rows
        },
    }
    mapping = ConfidenceMap(mapping.method, mapping.knots_x, mapping.knots_y, mapping.a, mapping.b, info=info)
    saved = mapping.save(weights_dir / map_file(plate_formats))
    curves: list[tuple[str, npt.ArrayLike, npt.ArrayLike]] = [
        ("held-out, raw", pool.confidences, pool.correct),
        ("held-out, calibrated (cross-fitted)", calibrated, pool.correct),
    ]
    for extra in tests:
        curves.append((f"{extra.source}, raw", extra.confidences, extra.correct))
        curves.append((f"{extra.source}, calibrated", mapping(extra.confidences), extra.correct))
    regions = "-".join(sorted(set(plate_formats)))
    picture = plot_reliability(
        curves,
        diagram or weights_dir / (f"reliability.{regions}.png" if regions else "reliability.png"),
        bins,
        "Plate reader confidence on held-out reads" + (f" (plate formats {regions})" if regions else ""),
    )
    return CalibrationReport(mapping, rows, picture, saved)


def _audited(
    plates: Sequence[LabelledPlate],
    corrections: Mapping[str, LabelCorrection] | None,
    trained_plates: frozenset[str] = frozenset(),
) -> list[LabelledPlate]:
    """The plates with their audited labels (the audited figures' crops only); as they are without corrections."""
    if corrections is None:
        return list(plates)
    from models.evaluation.label_corrections import audited_kept

    kept, _, _ = audited_kept([p.image.name for p in plates], [p.text for p in plates], corrections, trained_plates)
    return [replace(plates[i], text=text) for i, text in kept]


def _plate(path: Path, text: str) -> LabelledPlate:
    from models.evaluation.reader import LabelledPlate

    return LabelledPlate(path, text)
