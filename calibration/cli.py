"""`platepatrol calibrate ...`: print a board, calibrate a lens, record a mount, time undistortion."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from platepatrol.errors import UserError

if TYPE_CHECKING:
    from calibration.intrinsics import Image, IntrinsicsResult
    from calibration.mount import GroundMapper, Side

app = typer.Typer(
    help="Camera calibration: print a board, calibrate each lens, record each mount.", no_args_is_help=True
)

SIDE_HELP = "the side the camera faces: front, left, rear or right"


@app.command()
def board(
    out: Annotated[Path, typer.Option(help="file to write: .pdf (vector, exact size) or .png")] = Path("board.pdf"),
    cols: Annotated[int, typer.Option(min=3, help="inner corners along a row (squares - 1)")] = 9,
    rows: Annotated[int, typer.Option(min=3, help="inner corners down a column (squares - 1)")] = 6,
    square_mm: Annotated[float, typer.Option(min=1.0, help="the side of one square, in mm")] = 25.0,
    dpi: Annotated[int, typer.Option(help="resolution of a .png")] = 300,
) -> None:
    """Write a checkerboard to print for `calibrate intrinsics`."""
    from calibration.board import BoardSpec, write_board

    typer.echo(write_board(BoardSpec(cols, rows, square_mm), out, dpi))


@app.command()
def intrinsics(
    images: Annotated[Path, typer.Option(help="folder of 15-25 photos of the board from this camera")],
    board: Annotated[str, typer.Option(help="COLSxROWS inner corners, e.g. 9x6 for a board of 10 x 7 squares")],
    square_mm: Annotated[float, typer.Option(help="the side of one printed square, measured, in mm")],
    out: Annotated[Path, typer.Option(help="camera YAML to write")] = Path("camera.yaml"),
    min_images: Annotated[int, typer.Option(min=3, help="fewer photos showing the board is an error")] = 10,
    rational: Annotated[bool, typer.Option(help="8-coefficient lens model, for very wide lenses")] = False,
    preview: Annotated[bool, typer.Option(help="also write an undistorted copy of one photo beside it")] = False,
) -> None:
    """Estimate a camera's matrix and lens distortion from photos of a checkerboard."""
    from calibration.board import parse_board
    from calibration.intrinsics import calibrate_folder

    spec = parse_board(board, square_mm)
    result = calibrate_folder(images, spec, min_images=min_images, rational=rational, wrap=_progress)
    result.calibration.save(out)
    _print_intrinsics(result)
    typer.echo(f"wrote {out}")
    if preview:
        typer.echo(f"preview: {_write_preview(result, images)}")


def _progress(items: Iterator[tuple[str, Image | None]], count: int) -> Iterable[tuple[str, Image | None]]:
    from rich.console import Console
    from rich.progress import track

    return track(items, total=count, description="finding the board", console=Console(stderr=True), transient=True)


def _print_intrinsics(result: IntrinsicsResult) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    high = set(result.high_error_images())
    table = Table("image", "RMS px", "", title="reprojection error per image")
    for name, rms in result.calibration.per_image_rms_px:
        table.add_row(name, f"{rms:.3f}", "high" if name in high else "")
    for rejection in result.rejected:
        table.add_row(rejection.image, "-", f"rejected: {rejection.reason}")
    console.print(table)
    camera = result.calibration
    console.print(
        f"used {len(result.used)} of {len(result.used) + len(result.rejected)} images; overall RMS "
        f"{camera.rms_px:.3f} px", highlight=False
    )  # fmt: skip
    console.print(camera.describe(), highlight=False)
    fx_std, fy_std = result.focal_std_px
    cx_std, cy_std = result.principal_std_px
    console.print(
        f"uncertainty (1 sigma): fx {fx_std:.2f} fy {fy_std:.2f} cx {cx_std:.2f} cy {cy_std:.2f} px", highlight=False
    )
    for warning in result.warnings():
        console.print(f"warning: {warning}", highlight=False, style="yellow")


def _write_preview(result: IntrinsicsResult, folder: Path) -> Path:
    import cv2

    from calibration.intrinsics import PREVIEW_MARK, read_image
    from calibration.undistort import Undistorter

    source = folder / result.used[0]
    image = read_image(source)
    if image is None:
        raise UserError(f"{source}: could not be read again for the preview")
    target = source.with_name(f"{source.stem}{PREVIEW_MARK}.png")
    ok, encoded = cv2.imencode(".png", Undistorter(result.calibration).undistort(image))
    if not ok:
        raise UserError(f"could not encode the preview {target}")
    try:
        target.write_bytes(encoded.tobytes())
    except OSError as error:
        raise UserError(f"cannot write preview {target}: {error.strerror}") from None
    return target


@app.command()
def mount(
    camera: Annotated[Path, typer.Option(help="camera YAML from `calibrate intrinsics`")],
    out: Annotated[Path, typer.Option(help="mount YAML to write")] = Path("mount.yaml"),
    side: Annotated[str | None, typer.Option(help=SIDE_HELP)] = None,
    height_m: Annotated[float | None, typer.Option(help="camera lens height above the road, m")] = None,
    pitch_deg: Annotated[float | None, typer.Option(help="tilt down from horizontal, degrees")] = None,
    yaw_deg: Annotated[float, typer.Option(help="turn from SIDE, degrees counter-clockwise seen from above")] = 0.0,
    roll_deg: Annotated[float, typer.Option(help="about the lens axis, degrees clockwise seen from behind")] = 0.0,
    x_m: Annotated[float, typer.Option(help="camera position forward of the GPS antenna, m")] = 0.0,
    y_m: Annotated[float, typer.Option(help="camera position left of the GPS antenna, m")] = 0.0,
    points: Annotated[
        Path | None, typer.Option(help="instead of angles: YAML of >= 4 ground marks and their pixels (see README)")
    ] = None,
) -> None:
    """Record where a camera sits on the car, from measured angles or from marks measured on the ground."""
    from calibration.camera_model import CameraCalibration
    from calibration.mount import GroundMapper, Mount, fit_mount, load_ground_points
    from calibration.undistort import Undistorter

    chosen = _side(side)
    calibration = CameraCalibration.load(camera)
    if points is not None:
        if height_m is not None or pitch_deg is not None:
            raise UserError("give either --points or --height-m and --pitch-deg, not both")
        pixels, ground = load_ground_points(points)
        fitted = fit_mount(calibration, pixels, ground, chosen)
    else:
        if chosen is None or height_m is None or pitch_deg is None:
            given = (("--side", chosen), ("--height-m", height_m), ("--pitch-deg", pitch_deg))
            missing = ", ".join(flag for flag, value in given if value is None)
            raise UserError(f"missing {missing} (or give --points with measured ground marks)")
        fitted = Mount(chosen, height_m, pitch_deg, yaw_deg, roll_deg, x_m, y_m)
    fitted.save(out)
    typer.echo(fitted.describe())
    _print_footprint(GroundMapper.for_undistorter(fitted, Undistorter(calibration)))
    typer.echo(f"wrote {out}")


def _side(text: str | None) -> Side | None:
    from calibration.mount import SIDES

    if text is None:
        return None
    for side in SIDES:
        if side == text.lower():
            return side
    raise UserError(f"--side must be one of {', '.join(SIDES)}, not {text!r}")


def _print_footprint(mapper: GroundMapper) -> None:
    """Where parts of the (undistorted) frame land on the ground, so a wrong angle shows at once."""
    from rich.console import Console
    from rich.table import Table

    from calibration.mount import PLATE_CENTRE_HEIGHT_M

    width, height = mapper.image_size
    spots = {
        "bottom left": (0.0, height - 1.0),
        "bottom centre": ((width - 1) / 2, height - 1.0),
        "bottom right": (width - 1.0, height - 1.0),
        "centre": ((width - 1) / 2, (height - 1) / 2),
    }
    table = Table("frame point", "ground forward m", "ground left m", f"plate ({PLATE_CENTRE_HEIGHT_M} m up) left m")
    ground = mapper.pixel_to_ground(list(spots.values()))
    plate = mapper.pixel_to_ground(list(spots.values()), PLATE_CENTRE_HEIGHT_M)
    for name, (x, y), (_, plate_y) in zip(spots, ground, plate, strict=True):
        table.add_row(name, _metres(x), _metres(y), _metres(plate_y))
    console = Console()
    console.print(table)
    horizon = mapper.horizon_row()
    where = f"row {horizon:.0f} of {height}" if horizon is not None else "out of the frame"
    console.print(f"horizon: {where}", highlight=False)


def _metres(value: float) -> str:
    return f"{value:+.2f}" if math.isfinite(value) else "sky"


@app.command("bench-undistort")
def bench_undistort(
    camera: Annotated[Path | None, typer.Option(help="camera YAML (default: a 1280x720 wide lens)")] = None,
    frames: Annotated[int, typer.Option(min=10, help="frames to time")] = 200,
    threads: Annotated[int | None, typer.Option(min=1, help="OpenCV threads (default: OpenCV's choice)")] = None,
) -> None:
    """Time undistorting one frame; prints JSON (median and p90 ms per frame)."""
    from calibration.bench import bench_undistort as run_bench
    from calibration.camera_model import CameraCalibration

    calibration = CameraCalibration.load(camera) if camera else None
    typer.echo(json.dumps(run_bench(calibration, frames, threads).as_dict()))


@app.command()
def confidence(
    weights: Annotated[Path, typer.Option(help="the reader's weights folder; the map is saved there")] = Path(
        "models/reader"
    ),
    train_config: Annotated[Path, typer.Option(help="the reader's training config (its held-out BR plates)")] = Path(
        "models/reader/train.yaml"
    ),
    synthetic: Annotated[int, typer.Option(min=0, help="rendered plates never trained on, half to fit")] = 2000,
    test: Annotated[list[Path] | None, typer.Option(help="more labelled folders to measure on, never fitted")] = None,
    method: Annotated[str, typer.Option(help="isotonic or platt")] = "isotonic",
    bins: Annotated[int, typer.Option(min=2, max=50, help="bins of the expected calibration error")] = 10,
    folds: Annotated[int, typer.Option(min=2, help="cross-fitting folds (by plate) for the 'after' ECE")] = 5,
    diagram: Annotated[Path | None, typer.Option(help="reliability diagram PNG (default: beside the map)")] = None,
    threads: Annotated[int, typer.Option(min=1, help="torch threads")] = 1,
    plate_formats: Annotated[
        str | None,
        typer.Option(help="decode inside these regions' plate formats (e.g. br,ar) and fit that setting's own map"),
    ] = None,
    label_corrections: Annotated[
        list[Path] | None,
        typer.Option(
            help="audited labels ('file given corrected reason' lines, models/reader/labels/): fit and measure on "
            "them (unreadable crops and crops of trained plates left out). Repeatable.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    real_share: Annotated[
        float | None,
        typer.Option(
            min=0.01,
            max=0.99,
            help="the real held-out reads' share of the fit's weight, the rendered ones the rest (default: "
            "every read counts once, so the renders weigh nine in ten)",
        ),
    ] = None,
) -> None:
    """Calibrate the plate reader's confidence on held-out reads: ECE before and after, reliability diagram."""
    from calibration.confidence import calibrate_reader
    from edge.config import ReaderConfig
    from edge.read.plate_formats import parse_regions
    from models.evaluation.label_corrections import load_corrections
    from platepatrol.config import build_config

    regions = build_config(ReaderConfig, {"plate_formats": parse_regions(plate_formats)}, "--plate-formats")

    if method not in ("isotonic", "platt"):
        raise UserError("--method must be isotonic or platt")
    report = calibrate_reader(
        weights,
        train_config,
        synthetic=synthetic,
        extra_tests=test or [],
        method="platt" if method == "platt" else "isotonic",
        bins=bins,
        folds=folds,
        diagram=diagram,
        threads=threads,
        plate_formats=regions.plate_formats,
        label_corrections=load_corrections(label_corrections) if label_corrections else None,
        real_share=real_share,
    )
    typer.echo(f"{'set':28} {'reads':>6} {'right':>7} {'ECE raw':>8} {'ECE cal':>8}  measured")
    for row in report.rows:
        typer.echo(
            f"{row.name:28} {row.reads:6d} {row.right:7.1%} {row.ece_raw:8.4f} {row.ece_calibrated:8.4f}  {row.how}"
        )
    typer.echo(f"map: {report.saved} ({report.mapping.method}, fitted on all the held-out BR + synthetic reads)")
    typer.echo(f"reliability diagram: {report.diagram}")
