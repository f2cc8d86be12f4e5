"""Synthetic licence-plate crops for training the reader: rendered with plate-like fonts, degraded like cameras.

Every crop is a pure function of its seed (and optionally layout and text), so a dataset of N crops is just
the seeds 0..N-1 and needs no disk. Labels are the registration only: the state name, slogan, country band and
separators are drawn but never part of the text. Two-row plates are labelled top row then bottom row.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from cv2.typing import MatLike
from PIL import Image, ImageDraw, ImageFilter, ImageFont

LAYOUTS: tuple[str, ...] = ("us", "eu", "br_old", "br_mercosul", "ar_old", "ar_mercosur", "two_row")
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"

_DEBIAN_FONTS = Path("/usr/share/fonts/truetype/dejavu")
_FONT_NAMES = (
    "DejaVuSansCondensed-Bold.ttf",
    "DejaVuSansMono-Bold.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSansMono.ttf",
    "DejaVuSansCondensed.ttf",
)
_STATES = ("CALIFORNIA", "TEXAS", "NEW YORK", "FLORIDA", "OHIO", "ARIZONA", "OREGON", "NEVADA", "GEORGIA", "UTAH")
_SLOGANS = ("SUNSHINE STATE", "THE LONE STAR STATE", "EMPIRE STATE", "DMV.CA.GOV", "GRAND CANYON STATE", "")
_BR_CITIES = ("SP - SAO PAULO", "RJ - RIO DE JANEIRO", "MG - BELO HORIZONTE", "PR - CURITIBA", "SC - JOINVILLE")
_EU_CODES = ("D", "F", "I", "NL", "RO", "E", "B", "PL", "CZ", "A")

Rgb = tuple[int, int, int]
Gray = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class SyntheticPlate:
    image: npt.NDArray[np.uint8]  # H x W x 3 BGR, a loose crop as a detector would give it
    text: str  # the registration, A-Z0-9 only
    layout: str


@cache
def font_paths() -> tuple[Path, ...]:
    """The plate-like fonts found on this machine (Debian's DejaVu, else matplotlib's copies)."""
    import matplotlib

    dirs = (_DEBIAN_FONTS, Path(matplotlib.__file__).parent / "mpl-data" / "fonts" / "ttf")
    found = {name: d / name for d in reversed(dirs) for name in _FONT_NAMES if (d / name).exists()}  # Debian wins
    if not found:
        raise FileNotFoundError("no DejaVu fonts found (install fonts-dejavu-core or matplotlib)")
    return tuple(found[name] for name in _FONT_NAMES if name in found)


# Plate-like fonts from PyPI wheels (the `train` extra): condensed and DIN-like shapes DejaVu lacks. Optional:
# without them the reader's renderer uses DejaVu alone, as the detector's always does.
_WHEEL_FONTS = (
    ("font_fjallaone", "FjallaOne-Regular.ttf"),
    ("font_roboto", "Roboto-Medium.ttf"),
    ("font_roboto", "Roboto-Bold.ttf"),
    ("font_roboto", "Roboto-Regular.ttf"),
    ("font_source_sans_pro", "SourceSansPro-Semibold.ttf"),
    ("font_source_sans_pro", "SourceSansPro-Bold.ttf"),
    ("font_source_sans_pro", "SourceSansPro-Regular.ttf"),
)


@cache
def reader_fonts() -> tuple[Path, ...]:
    """The reader's registration fonts: DejaVu (font_paths) plus the wheel fonts that are installed."""
    import importlib.util

    found = []
    for package, name in _WHEEL_FONTS:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        for folder in spec.submodule_search_locations:
            path = Path(folder) / "files" / name
            if path.is_file():
                found.append(path)
                break
    return font_paths() + tuple(found)


@cache
def _font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size)


def _pick(rng: random.Random, pattern: str) -> str:
    """'LLLDDDD' -> random letters for L and digits for D; other characters are kept (spaces, dashes)."""
    return "".join(rng.choice(LETTERS) if c == "L" else rng.choice(DIGITS) if c == "D" else c for c in pattern)


def plate_text(rng: random.Random, layout: str) -> tuple[str, ...]:
    """The rows as printed (with separators) for a layout; the label is their plate characters."""
    patterns = {
        "us": ("DLLLDDD", "LLL DDDD", "LLL-DDDD", "DDD LLL", "LLL DDD", "LL DDDDD", "DLLL DDD"),
        "eu": ("LL DDD LL", "L LL DDDD", "LL-DDD-LL", "LL DD LLL", "L DD LLL", "LLL-DDDD", "DD LLL DD"),
        "br_old": ("LLL-DDDD", "LLL DDDD"),
        "br_mercosul": ("LLLDLDD",),
        "ar_old": ("LLL DDD", "LLL-DDD", "LLL·DDD"),
        "ar_mercosur": ("LL DDD LL", "LLDDDLL"),
        "two_row": ("LL|DDDD", "LLL|DDD", "DD|LLLD", "LLL|DDDD", "DLL|DDDD", "LDD|DLLL", "DDD|LLL"),
    }
    return tuple(_pick(rng, pattern) for pattern in rng.choice(patterns[layout]).split("|"))


def label_of(rows: tuple[str, ...]) -> str:
    return "".join(c for row in rows for c in row if c.isalnum())


def _text_block(text: str, font: ImageFont.FreeTypeFont, colour: Rgb, size: tuple[int, int]) -> Image.Image:
    """`text` drawn tight and stretched to `size` (w, h) as an RGBA sprite: plate fonts are condensed."""
    left, top, right, bottom = font.getbbox(text)
    sprite = Image.new("RGBA", (int(right - left) + 2, int(bottom - top) + 2), (0, 0, 0, 0))
    ImageDraw.Draw(sprite).text((1 - left, 1 - top), text, font=font, fill=(*colour, 255))
    return sprite.resize(size, Image.Resampling.BICUBIC)


def _paste_text(
    canvas: Image.Image, text: str, font: ImageFont.FreeTypeFont, colour: Rgb, box: tuple[int, int, int, int]
) -> None:
    x0, y0, x1, y1 = box
    if text.strip() and x1 > x0 and y1 > y0:
        sprite = _text_block(text, font, colour, (x1 - x0, y1 - y0))
        canvas.paste(sprite, (x0, y0), sprite)


def _style(rng: random.Random, layout: str) -> tuple[Rgb, Rgb, float]:
    """Background colour, text colour and aspect ratio (w / h) of the bare plate."""
    jitter = rng.randint(-20, 0)
    white: Rgb = (245 + jitter // 4, 245 + jitter // 4, 240 + jitter // 4)
    styles: dict[str, tuple[list[Rgb], list[Rgb], tuple[float, float]]] = {
        "us": (
            [white, (250, 240, 190), (220, 232, 245), (255, 255, 255)],
            [(20, 30, 110), (10, 10, 10), (140, 20, 20), (20, 80, 30)],
            (1.9, 2.1),
        ),
        "eu": ([white, (250, 215, 40)], [(10, 10, 10)], (4.2, 4.8)),
        "br_old": ([(190 + jitter, 190 + jitter, 185 + jitter), (235, 235, 235)], [(25, 25, 25)], (2.9, 3.2)),
        "br_mercosul": ([white], [(10, 10, 10)], (2.9, 3.2)),
        "ar_old": ([(15, 15, 15)], [(235, 235, 235)], (2.2, 2.4)),
        "ar_mercosur": ([white], [(10, 10, 10)], (2.9, 3.2)),
        "two_row": ([white, (250, 215, 40), (200, 200, 195)], [(10, 10, 10), (20, 30, 110)], (1.2, 1.6)),
    }
    backgrounds, inks, (lo, hi) = styles[layout]
    return rng.choice(backgrounds), rng.choice(inks), rng.uniform(lo, hi)


def _reader_style(rng: random.Random, layout: str) -> tuple[Rgb, Rgb, float]:
    """`_style` (shared with the detector's scenes) plus looks the reader meets on real crops: Brazilian commercial
    (white on red) and official (white on green or black) plates, Argentine old plates in light-on-grey or, on a
    few, dark-on-white, and plates with an unusual aspect once the crop is cut to the registration."""
    background, ink, aspect = _style(rng, layout)
    roll = rng.random()
    if layout == "br_old" and roll < 0.35:
        background = rng.choice([(150, 30, 30), (170, 45, 40), (30, 110, 50), (25, 25, 25), (120, 120, 120)])
        ink = rng.choice([(235, 235, 235), (250, 250, 245), (200, 200, 200)])
    elif layout == "ar_old":
        shade = rng.randint(5, 70)
        background = (shade, shade, shade + rng.randint(0, 10))
        ink = (rng.randint(170, 255),) * 3
        if roll < 0.15:
            background, ink = (rng.randint(190, 250),) * 3, (rng.randint(5, 60),) * 3
        aspect = rng.uniform(2.1, 3.1)
    elif layout == "ar_mercosur" and roll < 0.3:
        grey = rng.randint(170, 235)
        background = (grey, grey, grey)
    return background, ink, aspect


def draw_plate(rng: random.Random, layout: str, rows: tuple[str, ...], varied: bool = True) -> Image.Image:
    """The bare plate, front on, about 120 px high.

    `varied` (training) draws the reader's wider range of looks, fonts and character spacing; without it the
    plate is drawn the plain way (DejaVu, the font's own spacing), which tests and demos rely on staying put."""
    background, ink, aspect = _reader_style(rng, layout) if varied else _style(rng, layout)
    h = 120
    w = round(h * aspect)
    canvas = Image.new("RGB", (w, h), background)
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((1, 1, w - 2, h - 2), outline=ink if rng.random() < 0.7 else (60, 60, 60), width=rng.randint(2, 5))
    fonts = reader_fonts() if varied else font_paths()
    main = _font(rng.choice(fonts), 96)
    small = _font(fonts[0], 40)
    left, top, right, bottom = 8, 10, w - 8, h - 10
    if layout == "us":
        _paste_text(canvas, rng.choice(_STATES), small, ink, (w // 4, 6, 3 * w // 4, 28))
        _paste_text(canvas, rng.choice(_SLOGANS), small, ink, (w // 5, h - 24, 4 * w // 5, h - 8))
        top, bottom = 32, h - 28
    elif layout == "eu":
        band = round(h * 0.38)
        draw.rectangle((2, 2, band, h - 3), fill=(20, 50, 160))
        draw.ellipse((band // 4, 14, 3 * band // 4, 14 + band // 2), outline=(240, 200, 30), width=3)
        _paste_text(canvas, rng.choice(_EU_CODES), small, (255, 255, 255), (6, h - 46, band - 4, h - 12))
        left = band + 10
    elif layout in ("br_mercosul", "ar_mercosur"):
        draw.rectangle((2, 2, w - 3, 30), fill=(20, 60, 170))
        title = "BRASIL" if layout == "br_mercosul" else "REPUBLICA ARGENTINA"
        _paste_text(canvas, title, small, (255, 255, 255), (w // 3, 6, 2 * w // 3, 26))
        top = 38
    elif layout == "br_old":
        _paste_text(canvas, rng.choice(_BR_CITIES), small, ink, (w // 4, 8, 3 * w // 4, 30))
        top = 36
    elif layout == "ar_old" and rng.random() < 0.5:
        _paste_text(canvas, "ARGENTINA", small, ink, (w // 3, 6, 2 * w // 3, 24))
        top = 28
    if varied:
        _draw_rows(canvas, rows, main, ink, (left, top, right, bottom), rng)
    else:
        _draw_plain_rows(canvas, rows, main, ink, (left, top, right, bottom), rng)
    return canvas


def _draw_plain_rows(
    canvas: Image.Image,
    rows: tuple[str, ...],
    font: ImageFont.FreeTypeFont,
    ink: Rgb,
    box: tuple[int, int, int, int],
    rng: random.Random,
) -> None:
    """Each row as one piece of text stretched over most of its share of the box."""
    left, top, right, bottom = box
    row_h = (bottom - top) // len(rows)
    for i, row in enumerate(rows):
        width = round((right - left) * rng.uniform(0.8, 0.97))
        height = round(row_h * rng.uniform(0.78, 0.95))
        x = left + rng.randint(0, (right - left) - width)
        y = top + i * row_h + rng.randint(0, row_h - height)
        _paste_text(canvas, row, font, ink, (x, y, x + width, y + height))


def _draw_rows(
    canvas: Image.Image,
    rows: tuple[str, ...],
    font: ImageFont.FreeTypeFont,
    ink: Rgb,
    box: tuple[int, int, int, int],
    rng: random.Random,
) -> None:
    left, top, right, bottom = box
    row_h = (bottom - top) // len(rows)
    spacing = _Spacing.draw(rng)
    for i, row in enumerate(rows):
        # The registration fills most of the free box, as on real plates; a little slack moves it around.
        width = round((right - left) * rng.uniform(0.72, 0.97))
        height = round(row_h * rng.uniform(0.72, 0.95))
        x = left + rng.randint(0, (right - left) - width)
        y = top + i * row_h + rng.randint(0, row_h - height)
        if rng.random() < 0.25:  # the whole row as one piece of text, the font's own spacing
            _paste_text(canvas, row, font, ink, (x, y, x + width, y + height))
            continue
        mask = _row_mask(row, font, spacing).resize((width, height), Image.Resampling.BICUBIC)
        canvas.paste(Image.new("RGB", mask.size, ink), (x, y), mask)


_GLYPH_HEIGHT = 96


@dataclass(frozen=True)
class _Spacing:
    """How a plate sets its characters: gaps, group gaps, fixed-width cells and stroke weight."""

    gap: float  # between characters, in glyph heights
    group_gap: float  # a space between groups ('AB 123 CD'), in glyph heights
    monospace: bool  # every character in a cell of the same width, narrow ones centred
    condense: float  # glyph width factor before the row is fitted to its box
    weight: int  # stroke change in pixels at 96 px: < 0 thinner, > 0 bolder

    @staticmethod
    def draw(rng: random.Random) -> _Spacing:
        return _Spacing(
            gap=rng.uniform(0.0, 0.22),
            group_gap=rng.choice((rng.uniform(0.1, 0.4), rng.uniform(0.3, 1.0))),
            monospace=rng.random() < 0.5,
            condense=rng.uniform(0.6, 1.1),
            weight=rng.choice((-2, -1, 0, 0, 0, 1, 2, 3)),
        )


@cache
def _glyph(ch: str, font: ImageFont.FreeTypeFont) -> Image.Image:
    """One character's ink as an L mask cut to its box, _GLYPH_HEIGHT high (a separator keeps its place)."""
    if ch in "-·•":
        mask = Image.new("L", (40, _GLYPH_HEIGHT), 0)
        draw = ImageDraw.Draw(mask)
        if ch == "-":
            draw.rectangle((4, 42, 36, 54), fill=255)
        else:
            draw.ellipse((10, 38, 30, 58), fill=255)
        return mask
    left, top, right, bottom = font.getbbox(ch)
    mask = Image.new("L", (int(right - left) + 2, int(bottom - top) + 2), 0)
    ImageDraw.Draw(mask).text((1 - left, 1 - top), ch, font=font, fill=255)
    width = max(4, round(mask.width * _GLYPH_HEIGHT / mask.height))
    return mask.resize((width, _GLYPH_HEIGHT), Image.Resampling.BICUBIC)


def _row_mask(row: str, font: ImageFont.FreeTypeFont, spacing: _Spacing) -> Image.Image:
    """The row's characters set one by one with the plate's spacing, as an L mask (255 = ink)."""
    glyphs = {ch: _glyph(ch, font) for ch in set(row) if ch != " "}
    cell = max((g.width for ch, g in glyphs.items() if ch.isalnum()), default=_GLYPH_HEIGHT // 2)
    gap = round(spacing.gap * _GLYPH_HEIGHT)
    pieces: list[tuple[int, Image.Image | None]] = []  # (advance, glyph)
    for ch in row:
        if ch == " ":
            pieces.append((round(spacing.group_gap * _GLYPH_HEIGHT), None))
            continue
        glyph = glyphs[ch]
        if ch.isalnum():
            glyph = glyph.resize((max(3, round(glyph.width * spacing.condense)), _GLYPH_HEIGHT))
        width = max(glyph.width, round(cell * spacing.condense)) if spacing.monospace and ch.isalnum() else glyph.width
        pieces.append((width + gap, glyph))
    total = max(1, sum(advance for advance, _ in pieces) - gap)
    pad = 4
    mask = Image.new("L", (total + 2 * pad, _GLYPH_HEIGHT + 2 * pad), 0)
    x = pad
    for advance, piece in pieces:
        if piece is not None:
            mask.paste(piece, (x + (advance - gap - piece.width) // 2, pad))
        x += advance
    if spacing.weight:
        size = 2 * abs(spacing.weight) + 1
        mask = mask.filter(ImageFilter.MaxFilter(size) if spacing.weight > 0 else ImageFilter.MinFilter(size))
    box = mask.getbbox()
    return mask.crop(box) if box else mask


def _perspective(rng: random.Random, plate: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Tilt and skew the plate and leave a loose, uneven margin of 'car' around it, as a detector crop has."""
    h, w = plate.shape[:2]
    # Detector boxes run from loose to tight: a tight one cuts the plate's border (never its registration).
    margin_x = rng.choice((rng.uniform(-0.015, 0.03), rng.uniform(0.0, 0.12))) * w
    margin_y = rng.choice((rng.uniform(-0.07, 0.04), rng.uniform(0.0, 0.25))) * h
    out_w, out_h = max(8, round(w + 2 * margin_x)), max(8, round(h + 2 * margin_y))
    jx, jy = 0.06 * w, 0.1 * h
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    dst = np.array(
        [
            [margin_x + rng.uniform(-jx, jx) + dx * w, margin_y + rng.uniform(-jy, jy) + dy * h]
            for dx, dy in ((0, 0), (1, 0), (1, 1), (0, 1))
        ],
        dtype=np.float32,
    )
    skew = rng.uniform(-0.08, 0.08) * h  # a tilted plate: one side higher
    dst[1:3, 1] += skew
    matrix = cv2.getPerspectiveTransform(src, dst)
    surround = tuple(int(v) for v in rng.choices(range(0, 60) if rng.random() < 0.4 else range(20, 200), k=3))
    warped = cv2.warpPerspective(plate, matrix, (out_w, out_h), borderMode=cv2.BORDER_CONSTANT, borderValue=surround)
    return np.asarray(warped, dtype=np.uint8)


def _dirt(rng: random.Random, image: MatLike) -> npt.NDArray[np.uint8]:
    overlay = image.copy()
    h, w = image.shape[:2]
    for _ in range(rng.randint(1, 6)):
        centre = (rng.randrange(w), rng.randrange(h))
        axes = (rng.randint(2, max(3, w // 8)), rng.randint(2, max(3, h // 5)))
        shade = rng.randint(40, 140)
        cv2.ellipse(overlay, centre, axes, rng.uniform(0, 180), 0, 360, (shade, shade - 10, shade - 20), -1)
    alpha = rng.uniform(0.2, 0.5)
    return np.asarray(cv2.addWeighted(overlay, alpha, image, 1 - alpha, 0), dtype=np.uint8)


def _infrared(rng: random.Random, gray: MatLike) -> Gray:
    """An IR camera's look: sometimes inverted, a contrast curve, a glowing reflective plate, uneven lighting."""
    out = 255 - gray if rng.random() < 0.15 else gray
    values = out.astype(np.float32) / 255
    values = values ** rng.uniform(0.5, 2.0)
    if rng.random() < 0.3:  # bloom: bright sheeting bleeds into thin dark strokes
        glow = cv2.GaussianBlur(values, (0, 0), rng.uniform(1.0, 3.0))
        values = np.maximum(values, glow * rng.uniform(0.6, 1.0))
    if rng.random() < 0.4:  # the illuminator lights one side more
        w = values.shape[1]
        ramp = np.linspace(rng.uniform(0.5, 1.0), rng.uniform(0.8, 1.2), w, dtype=np.float32)
        values = values * (ramp[None, :] if rng.random() < 0.5 else ramp[None, ::-1])
    return np.asarray(np.clip(values * 255, 0, 255), dtype=np.uint8)


def degrade(rng: random.Random, image: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Camera effects: perspective, dirt, low resolution, blur, low light or glare, IR grayscale, noise, JPEG."""
    out: MatLike = _perspective(rng, image)
    if rng.random() < 0.3:
        out = _dirt(rng, out)
    h, w = out.shape[:2]
    target_h = rng.choice((rng.randint(18, 32), rng.randint(24, 64), rng.randint(48, 110)))
    scale = target_h / h
    out = cv2.resize(out, (max(8, round(w * scale)), target_h), interpolation=cv2.INTER_AREA)
    if rng.random() < 0.5:  # softer on small crops, which are blurred enough by their size
        out = cv2.GaussianBlur(out, (5, 5), rng.uniform(0.3, 1.5 if target_h > 40 else 0.8))
    if rng.random() < 0.2:
        length = rng.randint(3, 7)
        kernel = np.zeros((length, length), np.float32)
        kernel[length // 2, :] = 1.0 / length
        out = cv2.filter2D(out, -1, kernel)
    if rng.random() < 0.5:  # IR camera: grey, and paint and reflective sheeting can swap brightness
        out = cv2.cvtColor(_infrared(rng, cv2.cvtColor(out, cv2.COLOR_BGR2GRAY)), cv2.COLOR_GRAY2BGR)
    gain, bias = rng.uniform(0.5, 1.3), rng.uniform(-30, 30)
    noisy = (
        out.astype(np.float32) * gain
        + bias
        + np.random.default_rng(rng.getrandbits(32)).normal(0, rng.uniform(0, 8), out.shape)
    )
    out = np.clip(noisy, 0, 255).astype(np.uint8)
    ok, jpeg = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, rng.randint(20, 95)])
    decoded = cv2.imdecode(jpeg, cv2.IMREAD_COLOR) if ok else out
    return np.asarray(decoded, dtype=np.uint8)


def render_plate(seed: int, layout: str | None = None, rows: tuple[str, ...] | None = None) -> SyntheticPlate:
    """One degraded plate crop, identical for the same arguments."""
    rng = random.Random(seed)
    chosen = layout or rng.choice(LAYOUTS)
    if chosen not in LAYOUTS:
        raise ValueError(f"unknown layout {chosen!r}; expected one of {LAYOUTS}")
    printed = rows or plate_text(rng, chosen)
    bare = cv2.cvtColor(np.asarray(draw_plate(rng, chosen, printed)), cv2.COLOR_RGB2BGR)
    return SyntheticPlate(image=degrade(rng, np.asarray(bare, dtype=np.uint8)), text=label_of(printed), layout=chosen)


def render_clean(seed: int, layout: str, rows: tuple[str, ...]) -> npt.NDArray[np.uint8]:
    """A sharp, front-on plate (BGR) with a small margin: for tests and demos."""
    rng = random.Random(seed)
    bare = cv2.cvtColor(np.asarray(draw_plate(rng, layout, rows, varied=False)), cv2.COLOR_RGB2BGR)
    return np.asarray(cv2.copyMakeBorder(bare, 6, 6, 6, 6, cv2.BORDER_CONSTANT, value=(90, 90, 90)), dtype=np.uint8)
