"""`platepatrol read`: the plates in still images, as text or as one JSON object per image per line."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from edge.capture import image_files, load_image
from edge.config import EdgeConfig, ReaderConfig, load_edge_config
from edge.detect import make_detector
from edge.observe import plates_in
from edge.read import make_reader
from edge.read.plate_formats import parse_regions
from platepatrol.config import build_config
from platepatrol.errors import UserError

log = logging.getLogger(__name__)


def expand_paths(paths: list[str]) -> Iterator[str]:
    """Each path as given, and the images found in each folder (sorted)."""
    for given in paths:
        path = Path(given)
        if path.is_dir():
            yield from (str(found) for found in image_files(path))
        else:
            yield given


def with_plate_formats(config: EdgeConfig, plate_formats: str) -> EdgeConfig:
    """The config with its reader's plate formats replaced (validated as the config file's would be)."""
    reader = build_config(
        ReaderConfig,
        {**config.reader.model_dump(), "plate_formats": parse_regions(plate_formats)},
        "--plate-formats",
    )
    return config.model_copy(update={"reader": reader})


def run_read_command(
    paths: list[str], as_json: bool, config_path: str | None, plate_formats: str | None = None
) -> None:
    """`plate_formats` ('br,ar', 'none'), when given, replaces the config's reader.plate_formats."""
    config = load_edge_config(Path(config_path) if config_path else None)
    if plate_formats is not None:
        config = with_plate_formats(config, plate_formats)
    detector, reader = make_detector(config.detector), make_reader(config.reader)
    failures = 0
    for name in expand_paths(paths):
        try:
            image = load_image(Path(name))
        except UserError as problem:
            failures += 1
            print(f"error: {problem}", file=sys.stderr)
            if as_json:
                print(json.dumps({"image": name, "plates": [], "ms": 0.0, "error": str(problem)}), flush=True)
            continue
        started = time.perf_counter()
        found = plates_in(image, detector, reader)
        ms = (time.perf_counter() - started) * 1000.0
        plates = [
            {"text": p.reading.text, "confidence": round(p.reading.confidence, 4), "box": p.detection.box.as_list()}
            for p in found
            if p.reading is not None
        ]
        if as_json:
            print(json.dumps({"image": name, "plates": plates, "ms": round(ms, 1)}), flush=True)
        else:
            described = ", ".join(f"{p['text']} ({p['confidence']:.2f})" for p in plates) or "no plate read"
            print(f"{name}: {described}  [{ms:.0f} ms]", flush=True)
    if failures:
        raise SystemExit(1)
