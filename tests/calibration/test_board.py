import re
import struct
from pathlib import Path

import cv2
import numpy as np
import pytest

from calibration.board import PT_PER_MM, BoardSpec, board_image, parse_board, write_board
from calibration.intrinsics import find_board
from platepatrol.errors import UserError


def test_parse_board_counts_inner_corners() -> None:
    assert parse_board("9x6", 25.0) == BoardSpec(9, 6, 25.0)
    assert parse_board(" 7 X 5 ", 30.0).pattern_size == (7, 5)
    assert BoardSpec(9, 6, 25.0).squares == (10, 7)


@pytest.mark.parametrize("text", ["9", "9x", "nine by six", "9x6x2", "-9x6"])
def test_a_malformed_board_explains_the_convention(text: str) -> None:
    with pytest.raises(UserError, match=r"expected COLSxROWS inner corners, e.g. 9x6 for a board of 10 x 7 squares"):
        parse_board(text, 25.0)


def test_impossible_boards() -> None:
    with pytest.raises(UserError, match=r"at least 3x3"):
        BoardSpec(2, 6, 25.0)
    with pytest.raises(UserError, match=r"square size must be positive"):
        BoardSpec(9, 6, 0.0)


def test_object_points_are_in_detection_order_and_mm() -> None:
    points = BoardSpec(4, 3, 20.0).object_points()
    assert points.shape == (12, 3) and points.dtype == np.float32
    assert points[:5].tolist() == [[0, 0, 0], [20, 0, 0], [40, 0, 0], [60, 0, 0], [0, 20, 0]]


def test_the_printed_board_is_found_with_the_right_corner_spacing() -> None:
    board = BoardSpec(9, 6, 25.0)
    image = board_image(board, dpi=50)
    px_per_square = 25.0 / 25.4 * 50
    assert image.shape == (round(9 * px_per_square), round(12 * px_per_square))  # 1 square of margin all round
    corners = find_board(np.dstack([image] * 3), board)
    assert corners is not None
    spacing = np.linalg.norm(np.diff(corners.reshape(6, 9, 2), axis=1), axis=2)
    assert spacing == pytest.approx(np.full_like(spacing, px_per_square), abs=1.0)


def test_png_records_its_dpi(tmp_path: Path) -> None:
    path = tmp_path / "board.png"
    message = write_board(BoardSpec(9, 6, 25.0), path, dpi=150)
    assert "9x6 inner corners (10 x 7 squares of 25 mm)" in message
    data = path.read_bytes()
    start = data.index(b"pHYs") + 4
    x_ppm, y_ppm, unit = struct.unpack(">IIB", data[start : start + 9])
    assert unit == 1 and x_ppm == y_ppm == round(150 / 25.4 * 1000)
    decoded = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
    np.testing.assert_array_equal(decoded, board_image(BoardSpec(9, 6, 25.0), 150))


def test_pdf_squares_are_exactly_the_size_asked_and_on_the_page(tmp_path: Path) -> None:
    path = tmp_path / "board.pdf"
    message = write_board(BoardSpec(9, 6, 25.0), path)
    assert "297 x 210 mm" in message  # a 9x6 board of 25 mm squares fits A4 landscape
    data = path.read_bytes()
    assert data.startswith(b"%PDF-1.4") and data.rstrip().endswith(b"%%EOF")
    for number, offset in enumerate(re.findall(rb"(\d{10}) 00000 n", data), start=1):
        assert data[int(offset) :].startswith(f"{number} 0 obj".encode())  # the xref points at each object
    xref = int(re.findall(rb"startxref\n(\d+)", data)[0])
    assert data[xref:].startswith(b"xref")
    page = [float(v) for v in re.findall(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", data)[0]]
    squares = [[float(v) for v in m] for m in re.findall(rb"([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+) re f", data)]
    board_squares = [s for s in squares if s[3] > 10]  # the scale bar is 1.5 mm tall
    assert len(board_squares) == 35  # half of 10 x 7
    assert all(s[2] == pytest.approx(25 * PT_PER_MM, abs=0.01) for s in board_squares)
    assert all(s[0] > 0 and s[1] > 0 and s[0] + s[2] < page[0] and s[1] + s[3] < page[1] for s in squares)
    stream = data[data.index(b"stream\n") + 7 : data.index(b"\nendstream")]
    assert int(re.findall(rb"/Length (\d+)", data)[0]) == len(stream)
    assert b"9x6 inner corners, 25 mm squares" in stream and b"The bar is 100 mm" in stream


def test_a_big_board_gets_a_big_enough_page(tmp_path: Path) -> None:
    message = write_board(BoardSpec(9, 6, 40.0), tmp_path / "board.pdf")
    assert "416 x 312 mm" in message


def test_other_suffixes_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"use a .pdf or .png name"):
        write_board(BoardSpec(9, 6, 25.0), tmp_path / "board.jpg")
