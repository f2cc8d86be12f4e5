"""`platepatrol bench ...`: benchmark commands that print JSON numbers (never timed tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Benchmarks: each prints one JSON object per measurement.", no_args_is_help=True)

REPO = Path(__file__).resolve().parents[1]


@app.command()
def edge(
    source: Annotated[Path, typer.Option(help="a clip to play on every camera")] = REPO / "demo" / "patrol.mp4",
    streams: Annotated[list[int], typer.Option(help="camera counts to measure")] = [1, 2],  # noqa: B006
    size: Annotated[list[str], typer.Option(help="frame sizes WxH to measure")] = ["1280x720", "1920x1080"],  # noqa: B006
    frames: Annotated[int, typer.Option(min=10, help="frames per camera")] = 108,
    config: Annotated[Path | None, typer.Option(help="edge YAML config (detector, reader, tracker)")] = None,
    repeats: Annotated[int, typer.Option(min=1, help="runs per rig; above 1, a summary line follows")] = 1,
) -> None:
    """Frames per second and capture-to-verdict latency of the whole car against a loopback backend."""
    import json

    from edge.bench import bench_edge, print_result, summary
    from edge.config import load_edge_config
    from platepatrol.errors import UserError

    base = load_edge_config(config)
    for dimensions in size:
        try:
            width, height = (int(part) for part in dimensions.lower().split("x"))
        except ValueError:
            raise UserError(f"--size {dimensions!r} must be WIDTHxHEIGHT, e.g. 1280x720") from None
        for count in streams:
            runs = [bench_edge(source, count, width, height, frames, base) for _ in range(repeats)]
            for run in runs:
                print_result(run)
            if repeats > 1:
                print(json.dumps({"summary": summary(runs)}), flush=True)


@app.command()
def backend(
    database_url: Annotated[
        list[str], typer.Option(help="databases to measure (SQLAlchemy URLs); default: a SQLite file in var/bench")
    ] = [],  # noqa: B006
    permits: Annotated[int, typer.Option(min=1)] = 100_000,
    reads: Annotated[int, typer.Option(min=0, help="stored reads in the database before the run")] = 1_000_000,
    cars: Annotated[int, typer.Option(min=1, help="simulated cars, one stream each")] = 4,
    seconds: Annotated[float, typer.Option(min=1, help="how long the cars stream")] = 20.0,
    window: Annotated[int, typer.Option(min=1, help="reads each car keeps in flight")] = 32,
    processes: Annotated[int, typer.Option(min=1, help="backend serving processes (`serve --processes`)")] = 1,
    batched: Annotated[
        bool, typer.Option(help="several reads to a message, as the car sends (--no-batched: one read each)")
    ] = True,
    transport_only: Annotated[
        bool, typer.Option(help="the same cars against a server that answers at once, no database: the ceiling")
    ] = False,
) -> None:
    """Verdicts per second and latency over gRPC with a full database; fills it first (once, then reused)."""
    import json

    from backend.bench import Fleet, bench_backend, bench_transport, result_json

    fleet = Fleet(cars=cars, seconds=seconds, window=window, batched=batched)
    if transport_only:
        print(json.dumps(result_json(bench_transport(fleet))), flush=True)
        return
    for url in database_url or [f"sqlite:///{REPO / 'var' / 'bench' / 'backend.db'}"]:
        print(json.dumps(result_json(bench_backend(url, permits, reads, fleet, processes))), flush=True)


@app.command()
def detector(
    source: Annotated[Path, typer.Option(help="a clip whose frames are measured")] = REPO / "demo" / "patrol.mp4",
    size: Annotated[list[str], typer.Option(help="frame sizes WxH to measure")] = ["1280x720"],  # noqa: B006
    threads: Annotated[list[int], typer.Option(help="runtime thread counts to measure")] = [1, 2],  # noqa: B006
    frames: Annotated[int, typer.Option(min=5, help="frames timed per measurement")] = 100,
    runtime: Annotated[str, typer.Option(help="onnx (the car's) or ultralytics")] = "onnx",
    weights: Annotated[Path | None, typer.Option(help="default: the shipped weights for the runtime")] = None,
) -> None:
    """Milliseconds per frame of the plate detector alone (letterbox + network + NMS), one JSON line each."""
    import json

    from edge.config import DetectorConfig
    from edge.detect.bench import bench_detector, result_json
    from platepatrol.errors import UserError

    for dimensions in size:
        try:
            width, height = (int(part) for part in dimensions.lower().split("x"))
        except ValueError:
            raise UserError(f"--size {dimensions!r} must be WIDTHxHEIGHT, e.g. 1280x720") from None
        for count in threads:
            config = DetectorConfig.model_validate({"runtime": runtime, "weights": weights, "threads": count})
            print(json.dumps(result_json(bench_detector(source, config, width, height, frames))), flush=True)


@app.command()
def web(
    database_url: Annotated[
        list[str], typer.Option(help="databases to measure (SQLAlchemy URLs); default: a SQLite file in var/bench")
    ] = [],  # noqa: B006
    permits: Annotated[int, typer.Option(min=1)] = 100_000,
    accounts: Annotated[int, typer.Option(min=1, help="permit holders (each permit has one)")] = 20_000,
    reads: Annotated[
        int, typer.Option(min=0, help="stored reads with verdicts; one in 20 flagged for review")
    ] = 50_000,
    audit: Annotated[int, typer.Option(min=0, help="audit log entries")] = 100_000,
    requests: Annotated[int, typer.Option(min=1, help="timed requests per page")] = 100,
) -> None:
    """Milliseconds per page (p50, p95, max) of the portal, admin console, review queue and look-up, with a full
    database; fills it first (once, then reused). Target: p95 within 200 ms."""
    import json

    from backend.web_bench import bench_web, result_json

    for url in database_url or [f"sqlite:///{REPO / 'var' / 'bench' / 'web.db'}"]:
        print(json.dumps(result_json(bench_web(url, permits, accounts, reads, audit, requests))), flush=True)
