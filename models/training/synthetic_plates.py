"""Synthetic licence-plate crops for training the reader: rendered with plate-like fonts, degraded like cameras.

Every crop is a pure function of its seed (and optionally layout and text), so a dataset of N crops is just
the seeds 0..N-1 and needs no disk. Labels are the registration only: the state name, slogan, country band and
separators are drawn but never part of the text. Two-row plates are labelled top row then bottom row.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from cv2.typing import MatLike
from PIL import Image, ImageDraw, ImageFilter, ImageFont

LAYOUTS: tuple[str, ...] = ("us", "eu", "br_old", "br_mercosul", "ar_old", "ar_mercosur", "two_row")
AR_LAYOUTS: tuple[str, ...] = ("ar_old", "ar_mercosur")
RENDERERS: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7, 8)  # 1: v1-v4's; 2: Argentine plates drawn after real ar_crops;
# 3: renderer 2 plus Argentine two-row motorcycle plates, Mercosur's flat-topped A and stronger night overexposure;
# 4: renderer 2 plus the European plates' variety: German seals between the groups, regional bands on the right;
# 5: renderer 4 plus the plate typefaces' W with upright sides (an upside-down M) on the layouts that use them;
# 6: renderer 5 with the registration also set in condensed plate typefaces (PLATE_TYPEFACES), and where 5 turns
# the W, M and W drawn as the plate typefaces draw them (_plate_m_w);
# 7: for evaluation only, renderer 6 with the registration in a typeface no renderer trains on (HELD_OUT_TYPEFACE);
# 8: renderer 6 with the plate M and W's middle drawn plate by plate lower or higher and thinner (VARIED_MIDDLE)
AR_MOTO_RENDERERS = frozenset({3})
EU_VARIETY_RENDERERS = frozenset({4, 5, 6, 7, 8})
UPRIGHT_W_RENDERERS = frozenset({5, 6, 7, 8})
PLATE_M_W_RENDERERS = frozenset({6, 7, 8})  # of those, the ones that draw M too, with a short middle (_plate_m_w)
VARIED_MIDDLE_RENDERERS = frozenset({8})
PLATE_TYPEFACE_RENDERERS = frozenset({6, 8})  # 7 sets its plates in HELD_OUT_TYPEFACE alone
EVALUATION_ONLY_RENDERERS = frozenset({7})
# The typefaces of German (FE-Schrift), Mercosur and old Argentine plates draw W as an M turned over: upright outer
# strokes and a middle that rises from the foot. A reader that only saw the fonts' slanted W reads it as M, N or H.
UPRIGHT_W_LAYOUTS: tuple[str, ...] = ("eu", "br_mercosul", "ar_old", "ar_mercosur")
UPRIGHT_W_SHARE = 0.5  # of renderer 5's plates of those layouts
AR_MOTO = "ar_moto"  # renderer 3's two-row Argentine motorcycle plates: drawn for a share of the AR layouts
TWO_ROW_LAYOUTS: tuple[str, ...] = ("two_row", AR_MOTO)  # crops the reader reads as top half + bottom half
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
WheelFont = tuple[str, str]  # (package, file name in its files/ folder)
_WHEEL_FONTS: tuple[WheelFont, ...] = (
    ("font_fjallaone", "FjallaOne-Regular.ttf"),
    ("font_roboto", "Roboto-Medium.ttf"),
    ("font_roboto", "Roboto-Bold.ttf"),
    ("font_roboto", "Roboto-Regular.ttf"),
    ("font_source_sans_pro", "SourceSansPro-Semibold.ttf"),
    ("font_source_sans_pro", "SourceSansPro-Bold.ttf"),
    ("font_source_sans_pro", "SourceSansPro-Regular.ttf"),
)


# Renderer 6's typefaces: the condensed grotesques number plates are set in. Barlow was drawn after California's
# plates and highway signs; Saira Condensed is close to the DIN / FE-Schrift of European and Mercosur plates.
PLATE_TYPEFACES: tuple[WheelFont, ...] = (
    ("fontpkg_barlow_condensed", "BarlowCondensed-Medium.ttf"),
    ("fontpkg_barlow_condensed", "BarlowCondensed-SemiBold.ttf"),
    ("fontpkg_barlow_condensed", "BarlowCondensed-Bold.ttf"),
    ("fontpkg_saira_condensed", "SairaCondensed-Medium.ttf"),
    ("fontpkg_saira_condensed", "SairaCondensed-SemiBold.ttf"),
    ("fontpkg_roboto_condensed", "RobotoCondensed[wght].ttf"),
)
# Renderer 7's: a plate-like typeface no renderer trains on, to measure how far a reader carries to a new one.
HELD_OUT_TYPEFACE: WheelFont = ("fontpkg_oswald", "Oswald[wght].ttf")


@cache  # asked for every rendered plate: look the packages up once
def _wheel_font_files(fonts: tuple[WheelFont, ...]) -> tuple[Path, ...]:
    """The files of `fonts` whose packages are installed, in order."""
    import importlib.util

    found = []
    for package, name in fonts:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        for folder in spec.submodule_search_locations:
            path = Path(folder) / "files" / name
            if path.is_file():
                found.append(path)
                break
    return tuple(found)


@cache
def reader_fonts() -> tuple[Path, ...]:
    """The reader's registration fonts: DejaVu (font_paths) plus the wheel fonts that are installed."""
    return font_paths() + _wheel_font_files(_WHEEL_FONTS)


def registration_typefaces(renderer: int) -> tuple[Path, ...] | None:
    """The typefaces `renderer` sets registrations in (None: reader_fonts, renderers 1-5). Renderer 7's typeface
    must be installed (the `train` extra): a measurement in a fallback font would measure nothing."""
    if renderer in EVALUATION_ONLY_RENDERERS:
        held_out = _wheel_font_files((HELD_OUT_TYPEFACE,))
        if not held_out:
            raise FileNotFoundError(f"renderer {renderer} needs the {HELD_OUT_TYPEFACE[0]} package (the train extra)")
        return held_out
    if renderer in PLATE_TYPEFACE_RENDERERS:
        return reader_fonts() + _wheel_font_files(PLATE_TYPEFACES)
    return None


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


def draw_plate(
    rng: random.Random,
    layout: str,
    rows: tuple[str, ...],
    varied: bool = True,
    eu_variety: bool = False,
    style: GlyphStyle | None = None,
    typefaces: tuple[Path, ...] | None = None,
) -> Image.Image:
    """The bare plate, front on, about 120 px high.

    `varied` (training) draws the reader's wider range of looks, fonts and character spacing; without it the
    plate is drawn the plain way (DejaVu, the font's own spacing), which tests and demos rely on staying put.
    `style` (with `varied`) says how the characters plate typefaces draw their own way are drawn (a row with one
    of them is then always set character by character); `typefaces` (with `varied`) are the registration's
    (default reader_fonts)."""
    background, ink, aspect = _reader_style(rng, layout) if varied else _style(rng, layout)
    h = 120
    w = round(h * aspect)
    canvas = Image.new("RGB", (w, h), background)
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((1, 1, w - 2, h - 2), outline=ink if rng.random() < 0.7 else (60, 60, 60), width=rng.randint(2, 5))
    fonts = reader_fonts() if varied else font_paths()
    main = _font(rng.choice((typefaces or fonts) if varied else fonts), 96)
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
        if eu_variety and rng.random() < RIGHT_BAND_SHARE:  # France's region and department, Italy's province
            draw.rectangle((w - band - 2, 2, w - 3, h - 3), fill=(20, 50, 160))
            draw.rectangle((w - band + band // 5, 12, w - band // 5 - 2, h // 2), fill=_grey(rng.randint(150, 240)))
            number = f"{rng.randint(1, 95):02d}"
            _paste_text(canvas, number, small, (255, 255, 255), (w - band + 4, h - 46, w - 8, h - 12))
            right = w - band - 10
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
        _draw_rows(canvas, rows, main, ink, (left, top, right, bottom), rng, style or PLAIN_GLYPHS)
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
    style: GlyphStyle,
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
        whole_row = rng.random() < 0.25  # the whole row as one piece of text, the font's spacing
        if whole_row and SEALS not in row and not style.redraws(row):
            _paste_text(canvas, row, font, ink, (x, y, x + width, y + height))
            continue
        mask = _row_mask(row, font, spacing, style).resize((width, height), Image.Resampling.BICUBIC)
        canvas.paste(Image.new("RGB", mask.size, ink), (x, y), mask)


_GLYPH_HEIGHT = 96
SQUARE_DOT = "▪"
SEALS = "◉"  # German plates: the inspection sticker over the state seal, between the district and the rest
# Renderer 4's German registrations: district (1-3 letters), the seals, 1-2 letters, 1-4 digits.
GERMAN_PATTERNS = ("L◉LL DDDD", "LL◉L DDD", "LLL◉LL DD", "LL◉LL DDDD", "L◉L DDDD", "LLL◉L DDD")
GERMAN_SHARE = 0.35  # of renderer 4's European plates (when no rows are given)
RIGHT_BAND_SHARE = 0.3  # of renderer 4's European plates: a regional band on the right (France, Italy)


@dataclass(frozen=True)
class GlyphStyle:
    """How the characters that plate typefaces draw their own way are drawn (the font's own shape otherwise)."""

    flat_a: bool = False  # renderer 3: Mercosur's A, flat-topped
    upright_w: bool = False  # renderer 5: W as the font's M turned over
    plate_m_w: bool = False  # renderers 6-8: M and W with upright stems and a short middle (_plate_m_w)
    middle_reach: float = 0.5  # with plate_m_w: how far the middle reaches, in character heights
    middle_weight: float = 1.0  # with plate_m_w: the middle's strokes, in stem widths

    def redraws(self, row: str) -> bool:
        """Whether a character of `row` is drawn other than the font draws it."""
        redrawn = ("A" if self.flat_a else "") + ("W" if self.upright_w else "") + ("MW" if self.plate_m_w else "")
        return any(ch in redrawn for ch in row)


PLAIN_GLYPHS = GlyphStyle()


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
    if ch == SQUARE_DOT:  # old Argentine plates: a small square between the groups, at mid-height
        mask = Image.new("L", (40, _GLYPH_HEIGHT), 0)
        ImageDraw.Draw(mask).rectangle((10, 38, 30, 58), fill=255)
        return mask
    if ch == SEALS:  # two round stickers stacked, each under half the character height, printed in colour (grey)
        mask = Image.new("L", (52, _GLYPH_HEIGHT), 0)
        draw = ImageDraw.Draw(mask)
        draw.ellipse((8, 4, 44, 40), fill=110, outline=200, width=4)
        draw.ellipse((6, 48, 46, 88), fill=90, outline=190, width=4)
        return mask
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


@cache
def _flat_top_a(font: ImageFont.FreeTypeFont) -> Image.Image:
    """The Mercosur font's A (renderer 3): the apex cut off and closed by a bar, so the top is flat, as on the
    real Argentine Mercosur plates (where v2 read it as a 4)."""
    glyph = _glyph("A", font)
    cut = round(glyph.height * 0.2)
    body = glyph.crop((0, cut, glyph.width, glyph.height)).resize(glyph.size, Image.Resampling.BICUBIC)
    ink = np.asarray(body)[: _GLYPH_HEIGHT // 6] > 127
    columns = np.flatnonzero(ink.any(axis=0))
    if columns.size:
        bar = max(6, _GLYPH_HEIGHT // 9)
        ImageDraw.Draw(body).rectangle((int(columns[0]), 0, int(columns[-1]), bar), fill=255)
    return body


@cache
def _upright_w(font: ImageFont.FreeTypeFont) -> Image.Image:
    """The plate typefaces' W (renderer 5): the font's M turned over, so the outer strokes stand upright and the
    middle rises from the foot, as on German, Mercosur and old Argentine plates."""
    return _glyph("M", font).rotate(180)


# The plate typefaces' M and W (FE-Schrift, Mercosur, old Argentine): two upright stems, and a middle V that reaches
# only about half-way, hung from the top for M and standing on the foot for W. Fonts draw M's V to the foot and W
# slanted, so a reader taught on them reads a plate's W as M, N or H.
# Renderer 8 draws the middle's reach and weight plate by plate from these ranges (the real plates' middles are
# often lower and thinner than the stems), in steps, so that the glyphs can be cached.
VARIED_MIDDLE_REACH = (0.3, 0.6)
VARIED_MIDDLE_WEIGHT = (0.5, 1.0)


def _stem_width(font: ImageFont.FreeTypeFont) -> int:
    """The font's upright stroke weight at _GLYPH_HEIGHT: the first run of ink across the H a quarter way down
    (above the bar, below any serif)."""
    row = np.asarray(_glyph("H", font))[_GLYPH_HEIGHT // 4] > 127
    ink = np.flatnonzero(row)
    if ink.size == 0:
        return _GLYPH_HEIGHT // 8
    gaps = np.flatnonzero(np.diff(ink) > 1)
    run_end = ink[gaps[0]] if gaps.size else ink[-1]
    return max(3, int(run_end - ink[0] + 1))


@cache
def _plate_m_w(ch: str, font: ImageFont.FreeTypeFont, reach: float = 0.5, weight: float = 1.0) -> Image.Image:
    """M or W as plate typefaces draw them, with the stem weight and the width of the font's own M; the middle
    reaches `reach` of the height and its strokes are `weight` stems wide."""
    stem = _stem_width(font)
    width = _glyph("M", font).width
    scale = 4  # drawn large, then shrunk: smooth diagonals
    big_w, big_h, big_stem = width * scale, _GLYPH_HEIGHT * scale, stem * scale
    mask = Image.new("L", (big_w, big_h), 0)
    draw = ImageDraw.Draw(mask)
    draw.rectangle((0, 0, big_stem, big_h), fill=255)
    draw.rectangle((big_w - big_stem, 0, big_w, big_h), fill=255)
    middle = max(scale, round(big_stem * weight))
    half = middle // 2
    apex = (big_w // 2, big_h - round(big_h * reach))
    # W: from each stem's foot up to the apex in the middle; M is the same turned upside down
    draw.line((big_stem // 2, big_h - half, *apex), fill=255, width=middle)
    draw.line((*apex, big_w - big_stem // 2, big_h - half), fill=255, width=middle)
    draw.ellipse((apex[0] - half, apex[1] - half, apex[0] + half, apex[1] + half), fill=255)
    glyph = mask.resize((width, _GLYPH_HEIGHT), Image.Resampling.LANCZOS)
    return glyph if ch == "W" else glyph.transpose(Image.Transpose.FLIP_TOP_BOTTOM)


def _row_mask(
    row: str, font: ImageFont.FreeTypeFont, spacing: _Spacing, style: GlyphStyle = PLAIN_GLYPHS
) -> Image.Image:
    """The row's characters set one by one with the plate's spacing, as an L mask (255 = ink), in `style`."""
    glyphs = {ch: _character_glyph(ch, font, style) for ch in set(row) if ch != " "}
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


def _character_glyph(ch: str, font: ImageFont.FreeTypeFont, style: GlyphStyle) -> Image.Image:
    if style.flat_a and ch == "A":
        return _flat_top_a(font)
    if style.plate_m_w and ch in "MW":
        return _plate_m_w(ch, font, style.middle_reach, style.middle_weight)
    if style.upright_w and ch == "W":
        return _upright_w(font)
    return _glyph(ch, font)


def _perspective(
    rng: random.Random,
    plate: npt.NDArray[np.uint8],
    jitter: tuple[float, float] = (0.06, 0.1),
    tilt: float = 0.08,
    loose_y: float = 0.25,
) -> npt.NDArray[np.uint8]:
    """Tilt and skew the plate and leave a loose, uneven margin of 'car' around it, as a detector crop has.

    `jitter` moves each corner by up to that share of the width and height; `tilt` raises one side by up to that
    share of the height; a loose box leaves up to `loose_y` of the height above and below (the defaults are
    renderer 1's)."""
    h, w = plate.shape[:2]
    # Detector boxes run from loose to tight: a tight one cuts the plate's border (never its registration).
    margin_x = rng.choice((rng.uniform(-0.015, 0.03), rng.uniform(0.0, 0.12))) * w
    margin_y = rng.choice((rng.uniform(-0.07, 0.04), rng.uniform(0.0, loose_y))) * h
    out_w, out_h = max(8, round(w + 2 * margin_x)), max(8, round(h + 2 * margin_y))
    jx, jy = jitter[0] * w, jitter[1] * h
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    dst = np.array(
        [
            [margin_x + rng.uniform(-jx, jx) + dx * w, margin_y + rng.uniform(-jy, jy) + dy * h]
            for dx, dy in ((0, 0), (1, 0), (1, 1), (0, 1))
        ],
        dtype=np.float32,
    )
    skew = rng.uniform(-tilt, tilt) * h  # a tilted plate: one side higher
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


# --- renderer 2: Argentine plates as the real ar_crops show them -------------------------------------------------
# What the contact sheet of real ar_crops against renderer 1 showed (models/reader/card.yaml attempts.v5): old plates
# (1995-2016) are a dark field inside a thick light rim with rounded corners and bolt holes, bold condensed light
# characters filling most of the field, groups split by a gap or a small square; Mercosur plates (2016-) are white
# with thin, narrow, widely spaced dark characters under a band that IR makes light as often as dark, often in a
# dealer's frame; every crop is grey, many at night overexposed and bloomed; few are sheared.

_DEALERS = ("AUTOMOTORES", "TOYOTA ZENTO", "FORD", "CONCESIONARIO", "STRIANESE", "RENAULT", "GRUPO", "PEUGEOT")


@cache
def _ar_fonts(bold: bool, typefaces: tuple[Path, ...] | None = None) -> tuple[Path, ...]:
    """Bold condensed fonts for old plates' characters, regular weights for Mercosur's (both from `typefaces`,
    default reader_fonts; all of them when none is of the weight)."""
    pool = typefaces or reader_fonts()
    heavy = ("Bold", "Fjalla", "Semibold", "SemiBold", "Medium")
    fonts = tuple(p for p in pool if any(k in p.name for k in heavy) == bold)
    return fonts or pool


def _ar_row(rng: random.Random, row: str, layout: str) -> str:
    """Old plates split 'LLL DDD' by a gap, a small square or a dash; the label is unchanged (label_of)."""
    if layout != "ar_old" or len(row) < 7:
        return row
    middle = rng.choices((" ", f" {SQUARE_DOT} ", SQUARE_DOT, "-"), (0.5, 0.3, 0.1, 0.1))[0]
    return row[:3] + middle + row[4:]


def _paste_row(
    canvas: Image.Image,
    rng: random.Random,
    row: str,
    font: ImageFont.FreeTypeFont,
    spacing: _Spacing,
    ink: Rgb,
    box: tuple[int, int, int, int],
    style: GlyphStyle,
) -> None:
    """The row set with `spacing` and `style`, stretched to `box` (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    mask = _row_mask(row, font, spacing, style).resize((max(1, x1 - x0), max(1, y1 - y0)), Image.Resampling.BICUBIC)
    canvas.paste(Image.new("RGB", mask.size, ink), (x0, y0), mask)


def _grey(value: int) -> Rgb:
    return (value, value, value)


def _draw_ar_old(
    rng: random.Random, row: str, style: GlyphStyle, typefaces: tuple[Path, ...] | None = None
) -> Image.Image:
    h = 120
    w = round(h * rng.uniform(2.1, 2.45))
    surround, rim, field = _grey(rng.randint(0, 90)), _grey(rng.randint(170, 250)), _grey(rng.randint(5, 70))
    ink = _grey(rng.randint(160, 255))
    canvas = Image.new("RGB", (w, h), surround)
    draw = ImageDraw.Draw(canvas)
    draw.rounded_rectangle((0, 0, w - 1, h - 1), radius=round(h * rng.uniform(0.05, 0.15)), fill=rim)
    top, bottom = round(h * rng.uniform(0.1, 0.2)), h - round(h * rng.uniform(0.08, 0.16))
    side = round(w * rng.uniform(0.025, 0.06))
    draw.rounded_rectangle((side, top, w - side, bottom), radius=round(h * 0.05), fill=field)
    for y, chance in ((top / 2, 0.8), ((bottom + h) / 2, 0.5)):  # bolt holes in the rim
        if rng.random() < chance:
            r = max(2, round(h * rng.uniform(0.025, 0.045)))
            for x in (w * rng.uniform(0.12, 0.25), w * rng.uniform(0.75, 0.88)):
                draw.ellipse((x - 1.5 * r, y - r, x + 1.5 * r, y + r), fill=field)
    if rng.random() < 0.4 and top > 12:
        header = _font(reader_fonts()[0], 40)
        _paste_text(canvas, "ARGENTINA", header, field, (w // 2 - w // 8, 2, w // 2 + w // 8, max(4, top - 3)))
    field_h, field_w = bottom - top, w - 2 * side
    text_h = round(field_h * rng.uniform(0.72, 0.92))
    text_w = round(field_w * rng.uniform(0.82, 0.97))
    x = side + rng.randint(0, field_w - text_w)
    y = top + rng.randint(0, field_h - text_h)
    spacing = _Spacing(
        gap=rng.uniform(0.03, 0.15),
        group_gap=rng.uniform(0.3, 0.9),
        monospace=rng.random() < 0.5,
        condense=rng.uniform(0.55, 0.85),
        weight=rng.choice((0, 1, 2, 3)),
    )
    font = _font(rng.choice(_ar_fonts(True, typefaces)), _GLYPH_HEIGHT)
    _paste_row(canvas, rng, _ar_row(rng, row, "ar_old"), font, spacing, ink, (x, y, x + text_w, y + text_h), style)
    return canvas


def _draw_ar_mercosur(
    rng: random.Random,
    row: str,
    style: GlyphStyle,
    typefaces: tuple[Path, ...] | None = None,
) -> Image.Image:
    h = 120
    w = round(h * rng.uniform(2.9, 3.2))
    paper, ink = _grey(rng.randint(200, 255)), _grey(rng.randint(5, 60))
    canvas = Image.new("RGB", (w, h), paper)
    draw = ImageDraw.Draw(canvas)
    draw.rounded_rectangle((1, 1, w - 2, h - 2), radius=8, outline=ink, width=rng.randint(2, 4))
    band = round(h * rng.uniform(0.17, 0.24))
    dark_band = rng.random() < 0.5  # blue: dark in daylight grey, light under an IR illuminator
    band_colour: Rgb = (30, 50, 140) if dark_band else _grey(rng.randint(140, 215))
    draw.rectangle((3, 3, w - 4, band), fill=band_colour)
    title_ink = _grey(240) if dark_band else ink
    small = _font(reader_fonts()[0], 40)
    title_w = round(w * rng.uniform(0.3, 0.45))
    _paste_text(canvas, "REPUBLICA ARGENTINA", small, title_ink, ((w - title_w) // 2, 6, (w + title_w) // 2, band - 3))
    if rng.random() < 0.6:  # the flag at the band's left
        draw.rectangle((10, 7, 10 + round(band * 1.2), band - 4), fill=_grey(rng.randint(150, 230)))
    top = band + round(h * rng.uniform(0.06, 0.12))
    bottom = h - round(h * rng.uniform(0.08, 0.15))
    text_w = round((w - 20) * rng.uniform(0.8, 0.95))
    x = 10 + rng.randint(0, (w - 20) - text_w)
    spacing = _Spacing(
        gap=rng.uniform(0.08, 0.25),
        group_gap=rng.uniform(0.25, 0.7),
        monospace=rng.random() < 0.6,
        condense=rng.uniform(0.55, 0.8),
        weight=rng.choice((-2, -1, 0, 0, 1)),
    )
    font = _font(rng.choice(_ar_fonts(False, typefaces)), _GLYPH_HEIGHT)
    _paste_row(canvas, rng, row, font, spacing, ink, (x, top, x + text_w, bottom), style)
    return _holder(rng, canvas)


def _holder(rng: random.Random, plate: Image.Image) -> Image.Image:
    """Half the plates in a dark holder; some holders carry a dealer's name under the plate."""
    if rng.random() >= 0.5:
        return plate
    w, h = plate.size
    edge = round(h * rng.uniform(0.03, 0.08))
    foot = round(h * rng.uniform(0.12, 0.2)) if rng.random() < 0.6 else edge
    frame = _grey(rng.randint(10, 70))
    out = Image.new("RGB", (w + 2 * edge, h + edge + foot), frame)
    out.paste(plate, (edge, edge))
    if foot > edge:
        words = rng.choice(_DEALERS)
        width = round(w * rng.uniform(0.25, 0.5))
        letters = _font(reader_fonts()[0], 40)
        top = edge + h + 2
        _paste_text(
            out,
            words,
            letters,
            _grey(rng.randint(150, 240)),
            ((out.width - width) // 2, top, (out.width + width) // 2, top + foot - 4),
        )
    return out


def draw_ar_plate(
    rng: random.Random,
    layout: str,
    rows: tuple[str, ...],
    style: GlyphStyle | None = None,
    typefaces: tuple[Path, ...] | None = None,
) -> npt.NDArray[np.uint8]:
    """An Argentine plate (renderer 2) front on, about 120 px high, as BGR, its characters in `style` (renderer 3:
    Mercosur's A flat-topped; the A stays plain on old plates) and `typefaces` (renderer 6; default reader_fonts)."""
    row = " ".join(rows)
    style = style or PLAIN_GLYPHS
    if layout == "ar_old":
        plate = _draw_ar_old(rng, row, replace(style, flat_a=False), typefaces)
    else:
        plate = _draw_ar_mercosur(rng, row, style, typefaces)
    return np.asarray(cv2.cvtColor(np.asarray(plate), cv2.COLOR_RGB2BGR), dtype=np.uint8)


# --- renderer 3: Argentine motorcycle plates (two rows), as the 4 real ones in ar_crops ---------------------------
# Old (1995-2016): '123' over 'ABC', light characters on a dark field in a light rim with bolt holes at the top;
# Mercosur (2016-): 'A12' over '3BCD', dark characters on white under a thin band, flat-topped A. Squarish crops
# (width / height 1.0-1.5), which the reader also reads as top half + bottom half side by side.
MOTO_SHARE = 0.15  # of renderer 3's Argentine crops (when no rows are given)
_MOTO_PATTERNS = {"ar_old": "DDD|LLL", "ar_mercosur": "LDD|DLLL"}


def moto_rows(rng: random.Random, layout: str) -> tuple[str, ...]:
    return tuple(_pick(rng, part) for part in _MOTO_PATTERNS[layout].split("|"))


def draw_ar_moto(rng: random.Random, layout: str, rows: tuple[str, ...]) -> npt.NDArray[np.uint8]:
    """An Argentine motorcycle plate front on, two rows, about 130 px high, as BGR."""
    old = layout == "ar_old"
    h = 130
    w = round(h * rng.uniform(1.05, 1.4))
    surround = _grey(rng.randint(0, 90))
    canvas = Image.new("RGB", (w, h), surround)
    draw = ImageDraw.Draw(canvas)
    if old:
        rim, field, ink = _grey(rng.randint(170, 250)), _grey(rng.randint(5, 70)), _grey(rng.randint(160, 255))
        draw.rounded_rectangle((0, 0, w - 1, h - 1), radius=round(h * rng.uniform(0.08, 0.18)), fill=rim)
        top, bottom = round(h * rng.uniform(0.12, 0.2)), h - round(h * rng.uniform(0.1, 0.18))
        side = round(w * rng.uniform(0.05, 0.1))
        draw.rounded_rectangle((side, top, w - side, bottom), radius=round(h * 0.06), fill=field)
        if rng.random() < 0.8:  # bolt holes in the top rim
            r = max(2, round(h * rng.uniform(0.03, 0.05)))
            for x in (w * rng.uniform(0.15, 0.3), w * rng.uniform(0.7, 0.85)):
                draw.ellipse((x - r, top / 2 - r, x + r, top / 2 + r), fill=_grey(rng.randint(60, 140)))
        fonts, weight, condense = _ar_fonts(bold=True), rng.choice((0, 1, 2, 3)), rng.uniform(0.6, 0.9)
    else:
        paper, ink = _grey(rng.randint(200, 255)), _grey(rng.randint(5, 60))
        draw.rounded_rectangle((0, 0, w - 1, h - 1), radius=8, fill=paper, outline=ink, width=rng.randint(2, 4))
        band = round(h * rng.uniform(0.08, 0.14))
        draw.rectangle((3, 3, w - 4, band), fill=(30, 50, 140) if rng.random() < 0.5 else _grey(rng.randint(140, 215)))
        top, bottom, side = band + round(h * rng.uniform(0.04, 0.1)), h - round(h * rng.uniform(0.06, 0.12)), 8
        fonts, weight, condense = _ar_fonts(bold=False), rng.choice((-1, 0, 0, 1, 2)), rng.uniform(0.6, 0.85)
    font = _font(rng.choice(fonts), _GLYPH_HEIGHT)
    field_w, row_h = w - 2 * side, (bottom - top) // len(rows)
    for i, row in enumerate(rows):
        spacing = _Spacing(
            gap=rng.uniform(0.05, 0.2), group_gap=0.3, monospace=rng.random() < 0.6, condense=condense, weight=weight
        )
        text_w = round(field_w * rng.uniform(0.75, 0.95) * (0.8 if len(row) < 4 and not old else 1.0))
        text_h = round(row_h * rng.uniform(0.78, 0.92))
        x = side + rng.randint(0, field_w - text_w)
        y = top + i * row_h + rng.randint(0, row_h - text_h)
        _paste_row(canvas, rng, row, font, spacing, ink, (x, y, x + text_w, y + text_h), GlyphStyle(flat_a=not old))
    if rng.random() < 0.3:  # a small sticker or letter beside the rows, as on the real old plate
        size = round(h * rng.uniform(0.1, 0.16))
        x, y = w - side - size, top + row_h - size
        draw.ellipse((x, y, x + size, y + size), fill=_grey(rng.randint(150, 255)))
    return np.asarray(cv2.cvtColor(np.asarray(canvas), cv2.COLOR_RGB2BGR), dtype=np.uint8)


def _overexpose(rng: random.Random, gray: MatLike) -> Gray:
    """A night IR crop: the reflective sheeting burns out and bright strokes bleed over dark ones."""
    values = gray.astype(np.float32) * rng.uniform(1.2, 2.0)
    glow = cv2.GaussianBlur(values, (0, 0), rng.uniform(0.8, 2.5))
    values = np.maximum(values, glow * rng.uniform(0.7, 1.0))
    return np.asarray(np.clip(values, 0, 255), dtype=np.uint8)


def _overexpose_strong(rng: random.Random, gray: MatLike, light_ink: bool) -> Gray:
    """Renderer 3's night IR crop, as the 15 burnt-out real crops v2 misread: light strokes brighter and wider
    (bleeding into each other and the rim); on dark-ink plates the white sheeting eats thin strokes. A render
    whose middle burns out entirely is left as it was (every real crop was readable)."""
    if light_ink:
        gain, sigma, share = rng.uniform(1.3, 2.1), rng.uniform(1.0, 3.0), rng.uniform(0.7, 1.0)
    else:
        gain, sigma, share = rng.uniform(1.1, 1.4), rng.uniform(0.6, 1.4), rng.uniform(0.4, 0.7)
    values = gray.astype(np.float32) * gain
    glow = cv2.GaussianBlur(values, (0, 0), sigma)
    out = np.clip(np.maximum(values, glow * share), 0, 255).astype(np.uint8)
    h, w = out.shape
    middle = out[h // 4 : h - h // 4, w // 8 : w - w // 8]
    return np.asarray(gray if (middle >= 245).mean() > 0.6 else out, dtype=np.uint8)


def degrade_ar(
    rng: random.Random, image: npt.NDArray[np.uint8], light_ink: bool, renderer: int = 2
) -> npt.NDArray[np.uint8]:
    """`degrade` for renderer 2's Argentine plates: front-on more often, the sizes the real crops come in,
    always grey (as every real ar_crop), overexposed at night, and never blurred or burnt past reading (every
    real crop was labelled by eye): small crops blur less, and only light ink (old plates) blooms. Renderer 3
    overexposes more often and harder, and burns out Mercosur's white sheeting over its thin dark strokes too."""
    out: MatLike = _perspective(rng, image, jitter=(0.03, 0.05), tilt=0.05, loose_y=0.4)
    if rng.random() < 0.2:
        out = _dirt(rng, out)
    h, w = out.shape[:2]
    target_h = rng.choice((rng.randint(36, 56), rng.randint(44, 80), rng.randint(60, 120)))  # real: 44-129
    out = cv2.resize(out, (max(8, round(w * target_h / h)), target_h), interpolation=cv2.INTER_AREA)
    gray: MatLike = cv2.cvtColor(out, cv2.COLOR_BGR2GRAY)
    small = target_h < 56
    if rng.random() < 0.7:
        gray = cv2.GaussianBlur(gray, (5, 5), rng.uniform(0.4, 0.7 if small else 1.3))
    if rng.random() < 0.2 and not small:
        length = rng.randint(3, 7)
        kernel = np.zeros((length, length), np.float32)
        kernel[length // 2, :] = 1.0 / length
        gray = cv2.filter2D(gray, -1, kernel)
    roll = rng.random()
    if renderer >= 3 and roll < (0.5 if light_ink else 0.25):
        gray = _overexpose_strong(rng, gray, light_ink)
    elif renderer < 3 and roll < 0.3 and light_ink:  # before the IR curve: the sheeting burns out, not inverted
        gray = _overexpose(rng, gray)
    if rng.random() < 0.6:
        gray = _infrared(rng, gray)
    gain, bias = rng.uniform(0.6, 1.3), rng.uniform(-30, 30)
    noise = np.random.default_rng(rng.getrandbits(32)).normal(0, rng.uniform(0, 6), gray.shape)
    gray = np.clip(gray.astype(np.float32) * gain + bias + noise, 0, 255).astype(np.uint8)
    gh, gw = gray.shape
    low, high = np.percentile(gray[gh // 5 : gh - gh // 5, gw // 5 : gw - gw // 5], (5, 95))  # the plate's middle
    if high - low < 50:  # every real crop was labelled by eye: stretch a washed-out render back to readable
        gray = np.clip((gray.astype(np.float32) - low) * 80 / max(1.0, high - low) + low, 0, 255).astype(np.uint8)
    ok, jpeg = cv2.imencode(".jpg", gray, [cv2.IMWRITE_JPEG_QUALITY, rng.randint(30, 95)])
    decoded = cv2.imdecode(jpeg, cv2.IMREAD_GRAYSCALE) if ok else None
    return np.asarray(cv2.cvtColor(gray if decoded is None else decoded, cv2.COLOR_GRAY2BGR), dtype=np.uint8)


def render_plate(
    seed: int, layout: str | None = None, rows: tuple[str, ...] | None = None, renderer: int = 1
) -> SyntheticPlate:
    """One degraded plate crop, identical for the same arguments.

    `renderer` 2 draws the Argentine layouts as real Argentine crops look (`draw_ar_plate`, `degrade_ar`); every
    other layout, and renderer 1 (the default, v1-v4's), is drawn exactly as before. Renderer 3 is renderer 2
    plus, for the Argentine layouts, a share of two-row motorcycle plates (layout AR_MOTO, when `rows` is not
    given), Mercosur's flat-topped A on half the Mercosur plates, and stronger night overexposure. Renderer 4 is
    renderer 2 plus, for the European layout, German registrations with the seals between the groups (GERMAN_SHARE,
    when `rows` is not given) and a regional band on the right (RIGHT_BAND_SHARE). Renderer 5 is renderer 4 with,
    on a share of the plates of UPRIGHT_W_LAYOUTS (UPRIGHT_W_SHARE), the plate typefaces' upright W; a plate
    without a W, or not drawn so, is the same as renderer 4's. Renderer 6 is renderer 5 with the registration's
    typeface drawn from reader_fonts and PLATE_TYPEFACES, and on the plates where 5 turns the W, M and W drawn as
    plate typefaces draw them; renderer 7 (evaluation only) is 6 set in HELD_OUT_TYPEFACE alone."""
    if renderer not in RENDERERS:
        raise ValueError(f"unknown renderer {renderer!r}; expected one of {RENDERERS}")
    rng = random.Random(seed)
    chosen = layout or rng.choice(LAYOUTS)
    if chosen not in LAYOUTS:
        raise ValueError(f"unknown layout {chosen!r}; expected one of {LAYOUTS}")
    printed = rows or plate_text(rng, chosen)
    if renderer in EU_VARIETY_RENDERERS and chosen == "eu" and rows is None and rng.random() < GERMAN_SHARE:
        printed = (_pick(rng, rng.choice(GERMAN_PATTERNS)),)
    if renderer in AR_MOTO_RENDERERS and chosen in AR_LAYOUTS:
        if rows is None and rng.random() < MOTO_SHARE:
            moto = moto_rows(rng, chosen)
            image = degrade_ar(rng, draw_ar_moto(rng, chosen, moto), light_ink=chosen == "ar_old", renderer=3)
            return SyntheticPlate(image=image, text=label_of(moto), layout=AR_MOTO)
        bare_ar = draw_ar_plate(rng, chosen, printed, GlyphStyle(flat_a=rng.random() < 0.5))
        image = degrade_ar(rng, bare_ar, light_ink=chosen == "ar_old", renderer=3)
        return SyntheticPlate(image=image, text=label_of(printed), layout=chosen)
    style = _glyph_style(renderer, seed, chosen)
    typefaces = registration_typefaces(renderer)
    if renderer >= 2 and chosen in AR_LAYOUTS:
        bare_ar = draw_ar_plate(rng, chosen, printed, style, typefaces)
        image = degrade_ar(rng, bare_ar, light_ink=chosen == "ar_old")
        return SyntheticPlate(image=image, text=label_of(printed), layout=chosen)
    eu_variety = renderer in EU_VARIETY_RENDERERS
    plate = draw_plate(rng, chosen, printed, eu_variety=eu_variety, style=style, typefaces=typefaces)
    bare = cv2.cvtColor(np.asarray(plate), cv2.COLOR_RGB2BGR)
    return SyntheticPlate(image=degrade(rng, np.asarray(bare, dtype=np.uint8)), text=label_of(printed), layout=chosen)


def _glyph_style(renderer: int, seed: int, layout: str) -> GlyphStyle:
    """Whether the plate's W (renderer 5) or M and W (renderers 6-8) are drawn the plate typefaces' way, and how
    (renderer 8), drawn from streams of their own so that the plate is otherwise the same as without."""
    if renderer not in UPRIGHT_W_RENDERERS or layout not in UPRIGHT_W_LAYOUTS:
        return PLAIN_GLYPHS
    if random.Random(f"upright-w {seed}").random() >= UPRIGHT_W_SHARE:
        return PLAIN_GLYPHS
    if renderer not in PLATE_M_W_RENDERERS:
        return GlyphStyle(upright_w=True)
    if renderer not in VARIED_MIDDLE_RENDERERS:
        return GlyphStyle(plate_m_w=True)
    middle = random.Random(f"plate-m-w middle {seed}")
    reach = round(middle.uniform(*VARIED_MIDDLE_REACH) / 0.05) * 0.05
    weight = round(middle.uniform(*VARIED_MIDDLE_WEIGHT) / 0.1) * 0.1
    return GlyphStyle(plate_m_w=True, middle_reach=round(reach, 2), middle_weight=round(weight, 1))


def render_clean(seed: int, layout: str, rows: tuple[str, ...]) -> npt.NDArray[np.uint8]:
    """A sharp, front-on plate (BGR) with a small margin: for tests and demos."""
    rng = random.Random(seed)
    bare = cv2.cvtColor(np.asarray(draw_plate(rng, layout, rows, varied=False)), cv2.COLOR_RGB2BGR)
    return np.asarray(cv2.copyMakeBorder(bare, 6, 6, 6, 6, cv2.BORDER_CONSTANT, value=(90, 90, 90)), dtype=np.uint8)
