"""Milliseconds per plate crop of a reader plugin, whole `read_batch` (preprocessing, network, beam decode)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from edge.config import ReaderConfig
from edge.read import make_reader
from edge.types import Image


@dataclass(frozen=True)
class ReaderBench:
    runtime: str
    threads: int
    batch: int
    plate_formats: str  # the regions decoded to, comma-separated ('' for none)
    crops: int
    ms_per_crop: float  # median over the repeats of (time to read every crop) / crops
    best_ms_per_crop: float  # the fastest repeat: the machine's speed with the least interference

    def as_json(self) -> dict[str, object]:
        return {k: round(v, 2) if isinstance(v, float) else v for k, v in asdict(self).items()}


def bench_reader(
    crops: Sequence[Image],
    runtime: str,
    threads: int,
    batch: int,
    repeats: int = 5,
    plate_formats: Sequence[str] = (),
) -> ReaderBench:
    reader = make_reader(ReaderConfig.raw(runtime=runtime, threads=threads, plate_formats=tuple(plate_formats)))
    read_batch = getattr(reader, "read_batch", None)

    def read_all() -> None:
        for start in range(0, len(crops), batch):
            chunk = crops[start : start + batch]
            if read_batch is not None:
                read_batch(chunk)
            else:
                for crop in chunk:
                    reader.read(crop)

    read_all()  # warm-up: the first passes allocate
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        read_all()
        times.append(1000 * (time.perf_counter() - began) / max(1, len(crops)))
    return ReaderBench(
        runtime, threads, batch, ",".join(plate_formats), len(crops), statistics.median(times), min(times)
    )
