"""`train-reader` and `eval-reader`: a typer app the `platepatrol models` group mounts.

Heavy imports (torch, easyocr) happen inside the commands so `--help` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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
    export_step: Annotated[
        int | None, typer.Option(help="Do not train: export the network kept at this step (keep_evaluated runs).")
    ] = None,
) -> None:
    """Fine-tune easyocr's english_g2 recognizer for plates (checkpoints every N steps) and export it."""
    from models.training import reader_train

    train_config = reader_train.load_train_config(config)
    if export_step is not None:
        weights = reader_train.export_step(train_config, export_step)
    else:
        weights = reader_train.train_reader(train_config, resume=resume, log=log)
    typer.echo(f"weights: {weights}")


@app.command("eval-reader")
def eval_reader_command(
    runtime: Annotated[
        str,
        typer.Option(help="plate_ocr (our fine-tuned reader), plate_onnx (same, ONNX Runtime) or easyocr (English)."),
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
    weights: Annotated[Path | None, typer.Option(help="Folder of other weights (plate_ocr/plate_onnx).")] = None,
    errors: Annotated[bool, typer.Option(help="Also list each wrong read: image, truth, read, confidence.")] = False,
    plate_formats: Annotated[
        str | None, typer.Option(help="Decode inside these regions' plate formats, e.g. br,ar (default: none).")
    ] = None,
    format_ratio: Annotated[
        float | None, typer.Option(help="With --plate-formats: ReaderConfig.format_ratio (default: the car's).")
    ] = None,
    synthetic_seed: Annotated[
        int | None,
        typer.Option(
            help="With --synthetic: the first seed (default: the eval set's; the format ratio was chosen "
            "on 2000030000000, models/reader/card.yaml)"
        ),
    ] = None,
    synthetic_layout: Annotated[
        str | None, typer.Option(help="With --synthetic: render only this layout (e.g. ar_old; default: any).")
    ] = None,
    synthetic_renderer: Annotated[
        int,
        typer.Option(
            help="With --synthetic: the renderer (1: v1-v4's; 2: Argentine plates as the real ones; "
            "3: 2 + motorcycle plates; 4: 2 + German seals, right-hand bands; 5: 4 + upright W; "
            "6: 5 + condensed plate typefaces; 7: 6 in a typeface no renderer trains on)."
        ),
    ] = 1,
    synthetic_min_height: Annotated[
        int,
        typer.Option(
            help="With --synthetic: leave out renders under this many px high (photo-like plates; default: keep all).",
            min=0,
        ),
    ] = 0,
    label_corrections: Annotated[
        list[Path] | None,
        typer.Option(
            help="Audited labels ('file given corrected reason' lines, e.g. models/reader/labels/): also print the "
            "scores on them (audited_...). Repeatable.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Exact-plate accuracy, CER, look-alikes forgiven, ECE and ms per crop (see also `models eval --reader`)."""
    from edge.read.plate_formats import parse_regions
    from models.evaluation.label_corrections import load_corrections
    from models.training.reader_eval import WrongRead, evaluate, held_out_br, trained_br_plates
    from models.training.reader_train import load_train_config

    if runtime not in ("plate_ocr", "plate_onnx", "easyocr"):
        raise typer.BadParameter("runtime must be plate_ocr, plate_onnx or easyocr")
    from models.training.synthetic_plates import LAYOUTS, RENDERERS

    if synthetic_layout is not None and synthetic_layout not in LAYOUTS:
        raise typer.BadParameter(f"--synthetic-layout must be one of {', '.join(LAYOUTS)}")
    if synthetic_renderer not in RENDERERS:
        raise typer.BadParameter(f"--synthetic-renderer must be one of {', '.join(map(str, RENDERERS))}")
    if synthetic_min_height and not synthetic:
        raise typer.BadParameter("--synthetic-min-height applies to --synthetic")
    if label_corrections and synthetic:
        raise typer.BadParameter("--label-corrections applies to labelled crops, not --synthetic")
    train_config = load_train_config(config)
    crops = held_out_br(train_config) if folder is None and not synthetic else None
    corrections = load_corrections(label_corrections) if label_corrections else None
    wrong: list[WrongRead] = []
    results = evaluate(
        runtime,
        crops=crops,
        folder=folder,
        synthetic=synthetic,
        batch=batch,
        threads=threads,
        weights=weights,
        errors=wrong if errors else None,
        plate_formats=parse_regions(plate_formats),
        format_ratio=format_ratio,
        **({"synthetic_seed": synthetic_seed} if synthetic_seed is not None else {}),
        synthetic_layout=synthetic_layout,
        synthetic_renderer=synthetic_renderer,
        synthetic_min_height=synthetic_min_height,
        corrections=corrections,
        trained_plates=trained_br_plates(train_config) if crops is not None else frozenset(),
    )
    for read in wrong:
        typer.echo(read.line())
    for prefix, result in zip(("", "audited_"), results, strict=False):
        for key, value in result.as_dict().items():
            typer.echo(f"{prefix}{key}: {value}")


@app.command("export-reader")
def export_reader_command(
    weights_dir: Annotated[
        Path, typer.Option(help="Folder of plate_reader.pth/.yaml.", exists=True, file_okay=False)
    ] = Path("models/reader"),
    int8: Annotated[bool, typer.Option(help="Quantize convolutions and matrix products to int8 (faster).")] = True,
) -> None:
    """Export the reader's network to ONNX beside its weights (the `plate_onnx` runtime), checked against torch."""
    from models.training.reader_export import export_onnx

    path, worst = export_onnx(weights_dir, int8=int8)
    typer.echo(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB); largest logit difference to torch {worst:.2e}")


@app.command("bench-reader")
def bench_reader_command(
    folder: Annotated[
        Path | None, typer.Option(help="Labelled crops to time (default: the held-out BR crops of the config).")
    ] = None,
    runtime: Annotated[list[str], typer.Option(help="Runtimes to time.")] = ["plate_ocr", "plate_onnx"],  # noqa: B006
    threads: Annotated[list[int], typer.Option(help="Thread counts to time.")] = [1, 2],  # noqa: B006
    batch: Annotated[list[int], typer.Option(help="Crops per read_batch call.")] = [32],  # noqa: B006
    repeats: Annotated[int, typer.Option(min=1, help="Timed passes over the crops (median and best reported).")] = 5,
    config: Annotated[Path, typer.Option(help="Training config naming the BR split.", exists=True)] = (
        DEFAULT_READER_CONFIG
    ),
    plate_formats: Annotated[
        str | None, typer.Option(help="Decode inside these regions' plate formats, e.g. br,ar (default: none).")
    ] = None,
) -> None:
    """Milliseconds per crop of the reader plugins, batched, one JSON line per runtime x threads x batch."""
    import json

    from edge.read.bench import bench_reader
    from edge.read.plate_formats import parse_regions
    from models.evaluation.reader import load_crops, load_folder
    from models.training.reader_eval import held_out_br
    from models.training.reader_train import load_train_config

    if folder is not None:
        plates = load_folder(folder)
    else:
        from models.evaluation.reader import LabelledPlate

        plates = [LabelledPlate(c.path, c.text) for c in held_out_br(load_train_config(config))]
    crops = load_crops(plates)
    for name in runtime:
        for count in threads:
            for size in batch:
                timed = bench_reader(crops, name, count, size, repeats, parse_regions(plate_formats))
                print(json.dumps(timed.as_json()), flush=True)
