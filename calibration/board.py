"""The calibration board: a checkerboard counted by its inner corners, and a printable copy of it.

`9x6` means 9 inner corners along a row and 6 down a column, where four squares meet: a board of 10 x 7 squares.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from platepatrol.errors import UserError

MM_PER_INCH = 25.4
PT_PER_MM = 72.0 / MM_PER_INCH
A4_MM = (210.0, 297.0)
_BOARD_RE = re.compile(r"^\s*(\d+)\s*[xX×]\s*(\d+)\s*$")


@dataclass(frozen=True)
class BoardSpec:
    """A checkerboard of `cols` x `rows` inner corners and squares `square_mm` wide."""

    cols: int
    rows: int
    square_mm: float

    def __post_init__(self) -> None:
        if self.cols < 3 or self.rows < 3:
            raise UserError(f"board {self.size_text}: needs at least 3x3 inner corners")
        if not self.square_mm > 0:
            raise UserError(f"board square size must be positive, not {self.square_mm} mm")

    @property
    def size_text(self) -> str:
        return f"{self.cols}x{self.rows}"

    @property
    def pattern_size(self) -> tuple[int, int]:
        """OpenCV's patternSize: (corners per row, corners per column)."""
        return self.cols, self.rows

    @property
    def corner_count(self) -> int:
        return self.cols * self.rows

    @property
    def squares(self) -> tuple[int, int]:
        return self.cols + 1, self.rows + 1

    def object_points(self) -> npt.NDArray[np.float32]:
        """The inner corners on the board plane, in mm, in OpenCV's detection order (row by row)."""
        xs, ys = np.meshgrid(np.arange(self.cols), np.arange(self.rows))
        points = np.zeros((self.corner_count, 3), dtype=np.float32)
        points[:, 0] = xs.ravel() * self.square_mm
        points[:, 1] = ys.ravel() * self.square_mm
        return points


def parse_board(text: str, square_mm: float) -> BoardSpec:
    """'9x6' -> BoardSpec(9, 6, square_mm), or a UserError explaining the COLSxROWS convention."""
    match = _BOARD_RE.match(text)
    if not match:
        raise UserError(f"board {text!r}: expected COLSxROWS inner corners, e.g. 9x6 for a board of 10 x 7 squares")
    return BoardSpec(int(match.group(1)), int(match.group(2)), square_mm)


def board_image(board: BoardSpec, dpi: int = 300, margin_squares: float = 1.0) -> npt.NDArray[np.uint8]:
    """The board as a greyscale image at `dpi`, with a white margin (the detector needs one) around the squares."""
    px_per_mm = dpi / MM_PER_INCH
    cols, rows = board.squares
    margin_mm = margin_squares * board.square_mm
    width = round((cols * board.square_mm + 2 * margin_mm) * px_per_mm)
    height = round((rows * board.square_mm + 2 * margin_mm) * px_per_mm)
    image = np.full((height, width), 255, dtype=np.uint8)
    for row in range(rows):
        for col in range(cols):
            if (row + col) % 2 == 0:
                x1 = round((margin_mm + col * board.square_mm) * px_per_mm)
                y1 = round((margin_mm + row * board.square_mm) * px_per_mm)
                x2 = round((margin_mm + (col + 1) * board.square_mm) * px_per_mm)
                y2 = round((margin_mm + (row + 1) * board.square_mm) * px_per_mm)
                image[y1:y2, x1:x2] = 0
    return image


def write_board(board: BoardSpec, path: Path, dpi: int = 300) -> str:
    """Write a printable board: .pdf (vector, exact size on A4 or larger) or .png (tagged with `dpi`).

    Returns a one-line description of what was written."""
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        data, page_mm = _board_pdf(board)
        detail = f"PDF page {page_mm[0]:.0f} x {page_mm[1]:.0f} mm: print at 100 % (no 'fit to page')"
    elif suffix == ".png":
        if not 72 <= dpi <= 1200:
            raise UserError(f"dpi must be between 72 and 1200, not {dpi}")
        data = _png_with_dpi(board_image(board, dpi), dpi)
        detail = f"PNG at {dpi} dpi: print at that resolution, no scaling"
    else:
        raise UserError(f"board file {path}: use a .pdf or .png name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    except OSError as error:
        raise UserError(f"cannot write board file {path}: {error.strerror}") from None
    cols, rows = board.squares
    return (
        f"{path}: {board.size_text} inner corners ({cols} x {rows} squares of {board.square_mm:g} mm); {detail}; "
        "measure a square after printing and pass that size as --square-mm"
    )


def _png_with_dpi(image: npt.NDArray[np.uint8], dpi: int) -> bytes:
    """A greyscale PNG whose pHYs chunk records `dpi`, so printers and viewers know its physical size."""
    height, width = image.shape
    raw = b"".join(b"\x00" + image[row].tobytes() for row in range(height))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    px_per_metre = round(dpi / MM_PER_INCH * 1000)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"pHYs", struct.pack(">IIB", px_per_metre, px_per_metre, 1))
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def _board_pdf(board: BoardSpec) -> tuple[bytes, tuple[float, float]]:
    """A one-page vector PDF of the board, centred on A4 (or a page just big enough), with a 100 mm scale bar."""
    cols, rows = board.squares
    board_w, board_h = cols * board.square_mm, rows * board.square_mm
    label_h, edge = 16.0, 8.0  # a strip for the scale bar and label; paper left white around the squares
    page_w, page_h = (A4_MM[1], A4_MM[0]) if board_w > board_h else A4_MM
    page_w, page_h = max(page_w, board_w + 2 * edge), max(page_h, board_h + label_h + 2 * edge)
    x0, y0 = (page_w - board_w) / 2, label_h + (page_h - label_h - board_h) / 2  # mm from the bottom left

    def mm(value: float) -> str:
        return f"{value * PT_PER_MM:.3f}"

    ops = ["0 g"]
    for row in range(rows):
        for col in range(cols):
            if (row + col) % 2 == 0:
                x = x0 + col * board.square_mm
                y = y0 + (rows - 1 - row) * board.square_mm
                ops.append(f"{mm(x)} {mm(y)} {mm(board.square_mm)} {mm(board.square_mm)} re f")
    bar_y = 11.0
    ops.append(f"{mm(x0)} {mm(bar_y)} {mm(100)} {mm(1.5)} re f")
    label = (
        f"PlatePatrol calibration board {board.size_text} inner corners, {board.square_mm:g} mm squares. "
        "Print at 100 %. The bar is 100 mm."
    )
    ops.append(f"BT /F1 8 Tf {mm(x0)} {mm(bar_y - 5)} Td ({label}) Tj ET")
    content = "\n".join(ops).encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {mm(page_w)} {mm(page_h)}] "
            "/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>"
        ).encode("ascii"),
        b"<< /Length " + str(len(content)).encode("ascii") + b" >>\nstream\n" + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode("ascii") + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode("ascii")
    out += b"".join(f"{offset:010d} 00000 n \n".encode("ascii") for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode("ascii")
    return bytes(out), (page_w, page_h)
