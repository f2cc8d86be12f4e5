"""`platepatrol edge ...`: run the patrol car's pipeline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edge.config import TOKEN_ENV
from platepatrol.errors import UserError

app = typer.Typer(help="The patrol car: cameras to verdicts.", no_args_is_help=True)


@app.command()
def run(
    source: Annotated[
        str | None, typer.Option(help="one camera: video file, RTSP/HTTP URL, USB device number or image folder")
    ] = None,
    token: Annotated[
        str, typer.Option(envvar=TOKEN_ENV, help=f"device token (or ${TOKEN_ENV})", show_default=False)
    ] = "",
    backend: Annotated[str | None, typer.Option(help="backend HOST:PORT (default 127.0.0.1:50051)")] = None,
    config: Annotated[Path | None, typer.Option(help="edge YAML config")] = None,
    camera_id: Annotated[str | None, typer.Option(help="camera id (default: front)")] = None,
    device_id: Annotated[str | None, typer.Option(help="device id, as registered with add-device")] = None,
    max_frames: Annotated[int | None, typer.Option(min=1, help="stop after this many frames")] = None,
    log: Annotated[Path | None, typer.Option(help="append every read and verdict to this JSON-lines file")] = None,
    outbox: Annotated[Path | None, typer.Option(help="SQLite outbox file (default var/edge/outbox.db)")] = None,
) -> None:
    """Read plates from the rig's cameras (or one --source), stream them to the backend, show each verdict."""
    from edge.config import load_edge_config
    from edge.patrol import run_patrol

    settings = load_edge_config(
        config, source=source, camera_id=camera_id, backend=backend, device_id=device_id, outbox=outbox
    )
    if not token.strip():
        raise UserError(f"no device token: pass --token or set {TOKEN_ENV}")
    stats = run_patrol(settings, token.strip(), max_frames, log)
    typer.echo(stats.summary())
