"""Build the PlatePatrol demo clip from held-out dashcam frames.

The clip is a sequence of "vehicle passes": runs of frames from one source video,
in time order, in which the same car's plate is visible in consecutive source
frames. Each source frame is held for ``--hold`` output frames so that a tracker
sees every plate over several frames.

Source data: the MIT-licensed Romanian dashcam frames in ``shared/data/ro_dashcam``
(see ``demo/ATTRIBUTION.md``). Only videos ``dayride_type1_002`` and
``dayride_type1_003`` are used; they are held out from detector training.

Usage (from the repository root)::

    python demo/make_clip.py
"""

from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "ro_dashcam"
DEFAULT_OUT = REPO_ROOT / "demo" / "patrol.mp4"

WIDTH, HEIGHT = 1280, 720
HELD_OUT_VIDEOS = ("dayride_type1_002", "dayride_type1_003")
MAX_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class Pass:
    """One vehicle pass: source frames (seconds) of one video, in time order."""

    name: str
    video: str
    seconds: tuple[int, ...]


# The main plate of each pass is given in the name; see demo/plates.csv for every
# plate readable in the clip.
PASSES: tuple[Pass, ...] = (
    Pass("SB014882", "dayride_type1_002", (61, 69, 71, 72, 75)),
    Pass("B75MCY", "dayride_type1_002", (225, 226, 235, 244)),
    Pass("B68SPK", "dayride_type1_002", (334, 352, 389, 392, 405)),
    Pass("B98LPM", "dayride_type1_002", (642, 643, 644, 647, 650, 654, 657, 658)),
    Pass("B839HAR", "dayride_type1_002", (816, 817, 822, 827, 830)),
    Pass("DB48SCF", "dayride_type1_003", (97, 98, 99, 100, 121)),
    Pass("B58DTK", "dayride_type1_003", (312, 314, 315, 320)),
)


def source_image(video: str, second: int) -> str:
    """File name of a source frame, e.g. ``dayride_type1_002_t00061.jpg``."""
    return f"{video}_t{second:05d}.jpg"


def load_frame(path: Path) -> np.ndarray:
    """Read a source frame as 1280x720 BGR."""
    frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if frame is None:
        raise FileNotFoundError(f"cannot read source frame {path}")
    if frame.shape[:2] != (HEIGHT, WIDTH):
        frame = cv2.resize(frame, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)
    return frame


def build_clip(data: Path, out: Path, fps: int, hold: int, index_csv: Path | None) -> int:
    """Write the clip and (optionally) its frame index; return the frame count."""
    for p in PASSES:
        if p.video not in HELD_OUT_VIDEOS:
            raise ValueError(f"pass {p.name} uses {p.video}, which is not held out")
        if list(p.seconds) != sorted(set(p.seconds)):
            raise ValueError(f"pass {p.name} frames are not in strict time order")

    out.parent.mkdir(parents=True, exist_ok=True)
    fourcc = cv2.VideoWriter.fourcc(*"mp4v")
    writer = cv2.VideoWriter(str(out), fourcc, float(fps), (WIDTH, HEIGHT))
    if not writer.isOpened():
        raise RuntimeError(f"cannot open video writer for {out}")

    rows: list[dict[str, str | int]] = []
    n_out = 0
    try:
        for pass_no, p in enumerate(PASSES, start=1):
            for second in p.seconds:
                name = source_image(p.video, second)
                frame = load_frame(data / "images" / name)
                start = n_out
                for _ in range(hold):
                    writer.write(frame)
                    n_out += 1
                rows.append(
                    {
                        "pass": pass_no,
                        "pass_plate": p.name,
                        "first_out_frame": start,
                        "last_out_frame": n_out - 1,
                        "source_image": name,
                        "video": p.video,
                        "second": second,
                    }
                )
    finally:
        writer.release()

    if index_csv is not None:
        with index_csv.open("w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0].keys()), lineterminator="\n")
            w.writeheader()
            w.writerows(rows)
    return n_out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description="Build the PlatePatrol demo clip from held-out dashcam frames.")
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="ro_dashcam folder (default: ../shared/data/ro_dashcam from repo root)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help="output .mp4 (default: demo/patrol.mp4)",
    )
    parser.add_argument("--fps", type=int, default=6, help="output frame rate (default: 6)")
    parser.add_argument(
        "--hold",
        type=int,
        default=3,
        help="output frames per source frame (default: 3)",
    )
    parser.add_argument(
        "--index",
        type=Path,
        default=None,
        help="frame index CSV to write (default: clip_frames.csv next to --out)",
    )
    parser.add_argument("--no-index", action="store_true", help="do not write the frame index CSV")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Build the clip; return the process exit code."""
    args = parse_args(argv)
    data: Path = args.data
    out: Path = args.out
    if not (data / "images").is_dir():
        print(f"error: no images/ folder under {data}", file=sys.stderr)
        return 2
    if args.fps < 1 or args.hold < 1:
        print("error: --fps and --hold must be positive", file=sys.stderr)
        return 2
    index_csv: Path | None = None
    if not args.no_index:
        index_csv = args.index if args.index is not None else out.with_name("clip_frames.csv")

    n_out = build_clip(data, out, args.fps, args.hold, index_csv)
    size = out.stat().st_size
    n_src = sum(len(p.seconds) for p in PASSES)
    print(
        f"wrote {out}: {len(PASSES)} passes, {n_src} source frames, {n_out} frames "
        f"at {args.fps} fps = {n_out / args.fps:.1f} s, {size / 1e6:.2f} MB"
    )
    if size > MAX_BYTES:
        print(f"error: {out} is larger than {MAX_BYTES} bytes", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
