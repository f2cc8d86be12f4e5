"""`train-reader` and `eval-reader`: a typer app the `platepatrol models` group mounts.

Heavy imports (torch, easyocr) happen inside the commands so `--help` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

app = typer.Typer(help="Train and evaluate the plate reader.", no_args_is_help=True)

DEFAULT_READER_CONFIG = Path("models/reader/train.yaml")


@app.command("train-reader")
def train_reader_command(
    config: Annotated[Path, typer.Option(help="Training config YAML.", exists=True, dir_okay=False)] = (
        DEFAULT_READER_CONFIG
    ),
    resume: Annotated[bool, typer.Option(help="Continue the interrupted run from its last.pt.")] = False,
    log: Annotated[Path | None, typer.Option(help="Also append progress lines to this file.")] = None,
) -> None:
    """Fine-tune easyocr's english_g2 recognizer for plates (checkpoints every N steps) and export it."""
    from models.training.reader_train import load_train_config, train_reader

    weights = train_reader(load_train_config(config), resume=resume, log=log)
    typer.echo(f"weights: {weights}")


@app.command("eval-reader")
def eval_reader_command(
    runtime: Annotated[
        str, typer.Option(help="plate_ocr (our fine-tuned reader) or easyocr (English model with CRAFT).")
    ] = "plate_ocr",
    folder: Annotated[
        Path | None, typer.Option(help="Labelled folder (labels.csv + images/); default: the config's BR test split.")
    ] = None,
    synthetic: Annotated[int, typer.Option(help="Instead: this many rendered plates never trained on.", min=0)] = 0,
    config: Annotated[Path, typer.Option(help="Training config naming the BR split.", exists=True)] = (
        DEFAULT_READER_CONFIG
    ),
    batch: Annotated[int, typer.Option(help="Crops per forward pass (plate_ocr only).", min=1)] = 32,
    threads: Annotated[int, typer.Option(help="torch CPU threads.", min=1)] = 1,
) -> None:
    """Exact-plate accuracy, character error rate and ms per crop on a labelled set."""
    from models.training.reader_eval import evaluate, held_out_br
    from models.training.reader_train import load_train_config

    if runtime not in ("plate_ocr", "easyocr"):
        raise typer.BadParameter("runtime must be plate_ocr or easyocr")
    chosen: Literal["plate_ocr", "easyocr"] = "plate_ocr" if runtime == "plate_ocr" else "easyocr"
    crops = held_out_br(load_train_config(config)) if folder is None and not synthetic else None
    result = evaluate(chosen, crops=crops, folder=folder, synthetic=synthetic, batch=batch, threads=threads)
    for key, value in result.as_dict().items():
        typer.echo(f"{key}: {value}")
