"""The one command line, `platepatrol`, with a sub-command per part.

Each part's commands import their heavy libraries only when run, so a car without the backend extra
(or an office without the edge extra) still gets a working `platepatrol`.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from typing import Annotated, Any

import typer

from platepatrol.errors import UserError

app = typer.Typer(
    name="platepatrol",
    help="PlatePatrol: open parking enforcement.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

OWN_PACKAGES = frozenset({"platepatrol", "backend", "edge", "models", "calibration"})
# (command, module holding a typer app, help): mounted lazily so a missing extra breaks only its own part.
PARTS = (
    ("backend", "backend.cli", "the office: enforcement service and database"),
    ("edge", "edge.cli", "the patrol car: cameras to verdicts"),
    ("models", "models.cli", "train, export and evaluate our models"),
    ("calibrate", "calibration.cli", "camera calibration: lens, mount, board"),
    ("bench", "platepatrol.bench", "benchmarks that print JSON"),
)


def _mount_parts() -> None:
    for name, module_name, help_text in PARTS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as missing:
            missing_name = str(missing.name)
            if not module_name.startswith(missing_name) and missing_name.split(".", maxsplit=1)[0] in OWN_PACKAGES:
                raise  # our own code is broken: say so rather than blame an extra
            app.add_typer(_missing_extra(name, missing_name), name=name, help=f"{help_text} (not installed)")
            continue
        app.add_typer(module.app, name=name, help=help_text)


def _missing_extra(name: str, module: str) -> typer.Typer:
    stub = typer.Typer()

    @stub.callback(invoke_without_command=True)
    def _explain() -> None:
        raise UserError(f"'{name}' needs the Python package {module!r}: pip install 'platepatrol[{name}]'")

    return stub


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="log debug detail to stderr")] = False,
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not verbose:
        # Alembic narrates every start-up at INFO; only its warnings matter to an operator.
        logging.getLogger("alembic").setLevel(logging.WARNING)


@app.command("read")
def read_images(
    paths: Annotated[list[str], typer.Argument(help="images or folders of images")],
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per image per line")] = False,
    config: Annotated[str | None, typer.Option(help="edge YAML config (detector and reader settings)")] = None,
    plate_formats: Annotated[
        str | None,
        typer.Option(help="regions whose plate formats readings should fit, e.g. br,ar ('none': off; default: config)"),
    ] = None,
) -> None:
    """Find and read the plates in images."""
    from edge.read_images import run_read_command

    run_read_command(paths, as_json=as_json, config_path=config, plate_formats=plate_formats)


def main(argv: list[str] | None = None) -> Any:
    """Entry point: a UserError becomes one clear line on stderr and exit status 2."""
    os.environ.setdefault("YOLO_OFFLINE", "1")
    _mount_parts()
    try:
        return app(args=argv, standalone_mode=True)
    except UserError as error:
        typer.echo(f"error: {error}", err=True)
        raise SystemExit(2) from None
