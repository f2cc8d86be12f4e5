"""The car's score threshold for a detector, chosen on a validation folder, and its precision-recall table.

    python -m models.evaluation.detector_threshold --weights W.onnx --folder F [--extra-labels L] [--target 0.95]

runs the car's detector plugin once over the folder and scores its detections against the labels as given and,
with `--extra-labels`, against the given + extra labels ("audited"). With `--target` it prints the rule's
threshold: the lowest t on GRID at which the precision (audited if there are extra labels, else as given) is at
least the target (threshold_for_precision). The card's stage 7 rule is this on the real validation block.
"""

from __future__ import annotations

import argparse
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from edge.types import Detection, Image
from models.evaluation.detector import (
    Detector,
    SourceResult,
    average_precision,
    evaluate_folder,
    load_extra_labels,
    make_eval_detector,
    print_report,
    threshold_for_precision,
)

GRID: tuple[float, ...] = tuple(round(0.20 + 0.01 * i, 2) for i in range(71))  # 0.20, 0.21, ..., 0.90
SHOWN: tuple[float, ...] = (0.15, 0.25, 0.35, 0.41, 0.45, 0.50, 0.60, 0.70)  # the card's table columns


class CachedDetector:
    """Runs `inner` once per distinct image: scoring one folder against two label sets costs one pass."""

    def __init__(self, inner: Detector) -> None:
        self._inner = inner
        self._seen: dict[str, list[Detection]] = {}

    def detect(self, image: Image) -> list[Detection]:
        key = hashlib.sha1(image.tobytes()).hexdigest() + str(image.shape)
        if key not in self._seen:
            self._seen[key] = self._inner.detect(image)
        return self._seen[key]


@dataclass(frozen=True)
class FolderScores:
    given: SourceResult
    audited: SourceResult | None  # None without extra labels

    @property
    def rule_basis(self) -> SourceResult:
        """What the threshold rule reads: the audited labels when there are any."""
        return self.audited if self.audited is not None else self.given


def score_folder(folder: Path, detector: Detector, extra_labels: Path | None) -> FolderScores:
    cached = CachedDetector(detector)
    given = evaluate_folder(folder, cached, progress=False)
    audited = None
    if extra_labels is not None:
        audited = evaluate_folder(folder, cached, progress=False, extra_labels=load_extra_labels(extra_labels))
    return FolderScores(given, audited)


def table_row(result: SourceResult, thresholds: Sequence[float]) -> dict[str, list[float]]:
    """{threshold: [precision, recall]}, rounded as the card writes them."""
    return {f"{t:.2f}": [round(result.at(t)[0], 3), round(result.at(t)[1], 3)] for t in thresholds}


def report(scores: FolderScores, target: float | None, at: float | None) -> dict[str, object]:
    """The card's numbers for one folder: AP50, [P, R] by threshold, the rule's threshold, the row at `at`."""
    out: dict[str, object] = {}
    rule = threshold_for_precision(scores.rule_basis, target, GRID) if target is not None else None
    for key, result in (("given", scores.given), ("audited", scores.audited)):
        if result is None:
            continue
        extra = [t for t in (rule, at) if t is not None]
        out[key] = {
            "images": result.images,
            "plates": result.plates,
            "ap50": round(average_precision(result.scored, result.plates), 3),
            "by_threshold": table_row(result, sorted({*SHOWN, *extra})),
            **({f"at_{at:.2f}_detections": result.at(at)[2]} if at is not None else {}),
        }
    if target is not None:
        out["rule"] = {"target_precision": target, "on": "audited" if scores.audited else "given", "threshold": rule}
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, required=True, help="ONNX (the car's runtime) or .pt weights")
    parser.add_argument("--folder", type=Path, required=True, help="labelled folder (VOC XML or YOLO txt)")
    parser.add_argument("--extra-labels", type=Path, help="'file x y w h' plates to add: the audited labels")
    parser.add_argument("--target", type=float, help="choose the threshold: lowest grid t with precision >= this")
    parser.add_argument("--at", type=float, help="also report this threshold's row")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path, help="write the report here too")
    args = parser.parse_args(argv)
    detector, _ = make_eval_detector(args.weights, args.threads)
    out: dict[str, object] = {"weights": str(args.weights), "folder": str(args.folder)}
    out |= report(score_folder(args.folder, detector, args.extra_labels), args.target, args.at)
    print_report(out, args.json)


if __name__ == "__main__":
    main()
