"""`platepatrol models ...`: train, evaluate and export PlatePatrol's models.

Heavy imports (torch, ultralytics) happen inside the commands so `platepatrol --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Train, evaluate and export PlatePatrol's models.", no_args_is_help=True)

DEFAULT_DETECTOR_CONFIG = Path("models/detector/train.yaml")


@app.command("train-detector")
def train_detector_command(
    config: Annotated[Path, typer.Option(help="Training config YAML.", exists=True, dir_okay=False)] = (
        DEFAULT_DETECTOR_CONFIG
    ),
    resume: Annotated[bool, typer.Option(help="Continue the interrupted run from its last.pt.")] = False,
) -> None:
    """Train the licence-plate detector from a model YAML (checkpoints every epoch)."""
    from models.training.detector import train_detector

    weights = train_detector(config, resume=resume)
    typer.echo(f"weights: {weights}")


@app.command("export-detector")
def export_detector_command(
    weights: Annotated[Path, typer.Option(help="ultralytics checkpoint (.pt).", exists=True, dir_okay=False)],
    out: Annotated[Path, typer.Option(help="Where to write the .onnx file.")],
    height: Annotated[int, typer.Option(help="Input height, a multiple of 32.")] = 384,
    width: Annotated[int, typer.Option(help="Input width, a multiple of 32.")] = 640,
) -> None:
    """Export the detector to ONNX (fixed input, onnxslim-simplified, no NMS inside)."""
    from models.training.detector import export_detector

    path = export_detector(weights, out, imgsz=(height, width))
    typer.echo(f"onnx: {path}")


@app.command("val-detector")
def val_detector_command(
    weights: Annotated[Path, typer.Option(help="ultralytics checkpoint (.pt).", exists=True, dir_okay=False)],
    config: Annotated[Path, typer.Option(help="Training config naming the held-out videos.", exists=True)] = (
        DEFAULT_DETECTOR_CONFIG
    ),
    imgsz: Annotated[int, typer.Option(help="Validation image size.")] = 640,
) -> None:
    """Measure precision, recall and mAP50 on the config's held-out videos (ultralytics val)."""
    from models.training.config import load_config
    from models.training.detector import build_dataset, evaluate_detector

    cfg = load_config(config)
    synthetic = [cfg.synthetic.train_dir() / "images"] if cfg.synthetic and cfg.synthetic.train_images else []
    data_yaml = build_dataset(cfg, synthetic)
    m = evaluate_detector(weights, data_yaml, imgsz=imgsz, threads=cfg.threads)
    typer.echo(f"videos: {', '.join(cfg.val_videos)}")
    typer.echo(
        f"precision: {m.precision:.4f}\nrecall: {m.recall:.4f}\nmap50: {m.map50:.4f}\nmap50_95: {m.map50_95:.4f}"
    )


@app.command("detector-data")
def detector_data_command(
    config: Annotated[Path, typer.Option(help="Training config YAML.", exists=True, dir_okay=False)] = (
        DEFAULT_DETECTOR_CONFIG
    ),
) -> None:
    """Write the detector's datasets (real YOLO folder, synthetic train and held-out scenes); print the eval folders."""
    from models.training.config import load_config
    from models.training.detector import build_dataset, build_synthetic, real_validation_dir

    cfg = load_config(config)
    build_dataset(cfg, build_synthetic(cfg))
    typer.echo(f"held-out dashcam videos ({', '.join(cfg.val_videos)}): {cfg.dataset_dir / 'images' / 'val'}")
    realval = real_validation_dir(cfg)
    if realval is not None and cfg.real_validation is not None:
        blocks = ", ".join(f"{b.video} {b.first}-{b.last}" for b in cfg.real_validation.blocks)
        typer.echo(f"real validation frames, never trained on (threshold; {blocks}): {realval}")
    if cfg.synthetic is not None and cfg.synthetic.holdout_images:
        typer.echo(f"held-out synthetic scenes: {cfg.synthetic.holdout_dir()}")
    let = cfg.synthetic.lettering if cfg.synthetic is not None else None
    if cfg.synthetic is not None and let is not None and let.val_images:
        typer.echo(f"validation scenes with lettering (threshold): {let.val_dir(cfg.synthetic.out_dir)}")


@app.command("eval")
def eval_command(
    folders: Annotated[
        list[Path],
        typer.Argument(help="Labelled folders (VOC XML, YOLO txt, or file x y w h TEXT); reader: also label files."),
    ],
    detector: Annotated[bool, typer.Option("--detector", help="Evaluate the plate detector.")] = False,
    reader: Annotated[bool, typer.Option("--reader", help="Evaluate the plate reader.")] = False,
    end_to_end: Annotated[
        bool,
        typer.Option("--end-to-end", help="Evaluate the car's detector and reader together on full labelled images."),
    ] = False,
    images: Annotated[
        Path | None,
        typer.Option(
            help="Reader, end to end: the folder of the images the 'file x y w h TEXT' lines name (default: beside "
            "the labels).",
            exists=True,
            file_okay=False,
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(help="End to end: the edge YAML config (default: the car's).", exists=True, dir_okay=False),
    ] = None,
    misses: Annotated[
        Path | None, typer.Option(help="End to end: write each plate not read exactly and each false reading here.")
    ] = None,
    weights: Annotated[Path | None, typer.Option(help="Weights to measure (default: the shipped ones).")] = None,
    plot: Annotated[
        Path | None, typer.Option(help="Write the plot (PR curve or confusion matrix) to this PNG.")
    ] = None,
    runtime: Annotated[
        str, typer.Option(help="Reader runtime: plate_ocr (torch), plate_onnx (ONNX Runtime, int8) or easyocr.")
    ] = "plate_ocr",
    min_score: Annotated[
        float | None, typer.Option(help="Detector: count detections scored at least this (default: the car's).")
    ] = None,
    threads: Annotated[int | None, typer.Option(help="Detector: runtime threads (default: the car's).")] = None,
    extra_labels: Annotated[
        Path | None,
        typer.Option(
            help="Detector: 'file x y w h' lines of plates to add to the folders' labels (e.g. the audited ones in "
            "models/detector/labels/).",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    plate_formats: Annotated[
        str | None, typer.Option(help="Reader: regions whose plate formats readings should fit, e.g. br,ar.")
    ] = None,
    format_ratio: Annotated[
        float | None, typer.Option(help="Reader, with --plate-formats: the config's format_ratio (default: the car's).")
    ] = None,
    label_corrections: Annotated[
        list[Path] | None,
        typer.Option(
            help="Reader: audited labels ('file given corrected reason' lines, e.g. models/reader/labels/); each set "
            "is then scored as given and audited. Repeatable.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Measure the detector, the reader or both end to end on any labelled folder, per source, with a progress bar."""
    if detector + reader + end_to_end != 1:
        raise typer.BadParameter("give exactly one of --detector, --reader or --end-to-end")
    if end_to_end:
        from models.evaluation.end_to_end import run_end_to_end_eval

        run_end_to_end_eval(folders, images=images, config_path=config, misses=misses)
        return
    if detector and label_corrections:
        raise typer.BadParameter("--label-corrections is for --reader (the detector's audited boxes: --extra-labels)")
    if detector:
        from models.evaluation.detector import run_detector_eval

        run_detector_eval(
            folders, weights=weights, plot=plot, threads=threads, min_score=min_score, extra_labels=extra_labels
        )
    else:
        from edge.read.plate_formats import parse_regions
        from models.evaluation.reader import run_reader_eval

        run_reader_eval(
            folders,
            weights=weights,
            plot=plot,
            runtime=runtime,
            plate_formats=parse_regions(plate_formats),
            format_ratio=format_ratio,
            label_corrections=tuple(label_corrections or ()),
            images=images,
        )


def _mount_reader_commands() -> None:
    """`train-reader` and `eval-reader` live with the reader's training code."""
    from models.training.reader_cli import app as reader_app

    app.add_typer(reader_app)


_mount_reader_commands()
