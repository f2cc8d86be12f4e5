"""Synthetic detector training data: plates of many countries composited into real and drawn scenes.

A scene is a pure function of its seed: a background (a frame of a *training* dashcam video, or a drawn street),
cropped at a random zoom (close-ups to wide scenes) and resized so its long side is `OUT_LONG` pixels; the real
plates in it are mostly pasted over with synthetic ones (US, EU, Brazilian, Argentine, two-row; plate-like fonts;
perspective), more synthetic plates are pasted at random places and scales, sometimes on a drawn car, and
negatives (signs, lettering, badges, stickers) are added unlabelled so that text which is not a plate is not
detected. Weather and camera effects (night, glare, rain, fog, blur, noise, JPEG) come last.

Labels are the axis-aligned box of each visible plate, as the dashcam annotators drew them.
"""

from __future__ import annotations

import math
import random
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw

from models.training.dataset import parse_voc, read_frames
from models.training.lettering_negatives import KIND_WIDTHS, degrade, lettering_sprite, pick_kind
from models.training.synthetic_plates import (
    LAYOUTS,
    _font,
    _paste_text,
    _style,
    font_paths,
    plate_text,
)
from models.training.vehicle_negatives import KIND_WIDTHS as VEHICLE_WIDTHS
from models.training.vehicle_negatives import pick_kind as pick_vehicle_kind
from models.training.vehicle_negatives import vehicle_sprite

OUT_LONG = 640  # the detector sees 1280x720 frames at 640x360: compose at that scale
Bgr = npt.NDArray[np.uint8]
Xyxy = tuple[float, float, float, float]
Rgb = tuple[int, int, int]

# Plate-like fonts beyond DejaVu, used when installed (Debian: fonts-opendin, fonts-roboto-unhinted, fonts-dejavu-extra,
# fonts-liberation). Missing ones are skipped, so the generator runs anywhere DejaVu does.
_EXTRA_FONTS = (
    "/usr/share/fonts/truetype/opendin/OSP-DIN.ttf",
    "/usr/share/fonts/truetype/roboto/unhinted/RobotoCondensed-Bold.ttf",
    "/usr/share/fonts/truetype/roboto/unhinted/RobotoCondensed-Regular.ttf",
    "/usr/share/fonts/truetype/roboto/unhinted/RobotoTTF/Roboto-Bold.ttf",
    "/usr/share/fonts/truetype/roboto/unhinted/RobotoTTF/Roboto-Medium.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed-BoldOblique.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSansNarrow-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationMono-Bold.ttf",
)
_SCRIPT_FONTS = (  # state names are often in italic or serif lettering
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif-BoldItalic.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerifCondensed-Italic.ttf",
    "/usr/share/fonts/truetype/roboto/unhinted/RobotoCondensed-BoldItalic.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSerif-BoldItalic.ttf",
)
US_STATES = (
    "California", "Texas", "New York", "Florida", "Ohio", "Arizona", "Oregon", "Nevada", "Georgia", "Utah",
    "Illinois", "Michigan", "Virginia", "Colorado", "Washington", "Pennsylvania", "New Jersey", "Maryland",
    "Tennessee", "Indiana", "Kansas", "Idaho", "Montana", "Alaska", "Hawaii", "Maine", "Vermont", "Iowa",
)  # fmt: skip
US_SLOGANS = (
    "Sunshine State", "The Lone Star State", "Empire State", "dmv.ca.gov", "Grand Canyon State", "Land of Lincoln",
    "Great Lakes", "Virginia is for Lovers", "Live Free or Die", "Famous Potatoes", "Garden State", "Aloha State",
    "Pure Michigan", "Evergreen State", "Big Sky Country", "Volunteer State", "", "",
)  # fmt: skip
NEGATIVE_WORDS = (
    "STOP", "PARKING", "NO PARKING", "EXIT", "ONE WAY", "PHARMACY", "BANK", "HOTEL", "CAFE", "OPEN", "SALE",
    "POLICE", "TAXI", "BUS ONLY", "MAIN ST", "OAK AVE", "KEEP RIGHT", "YIELD", "DETOUR", "SCHOOL", "PIZZA",
    "FRAGILE", "LOGISTICS", "EXPRESS", "TRANSPORT", "DELIVERY", "BAKERY", "PARKPLATZ", "AUSFAHRT", "CENTRU",
    "TOYOTA", "HONDA", "FORD", "DACIA", "LOGAN", "GOLF", "COROLLA", "TDI", "4MATIC", "HYBRID", "QUATTRO",
    "ROUTE 66", "SPEED LIMIT", "ZONE", "TOW AWAY", "LOADING", "ENTRANCE", "PRIVATE", "RENT", "MOTEL",
)  # fmt: skip
# Layouts drawn over a real (wide, EU-shaped) plate, weighted towards wide plates so the real one stays covered.
_REPLACE_WEIGHTS = {
    "eu": 0.34,
    "br_mercosul": 0.14,
    "ar_mercosur": 0.1,
    "br_old": 0.1,
    "us": 0.22,
    "ar_old": 0.05,
    "two_row": 0.05,
}
_FREE_WEIGHTS = {
    "eu": 0.28,
    "us": 0.32,
    "br_mercosul": 0.1,
    "ar_mercosur": 0.06,
    "br_old": 0.08,
    "ar_old": 0.06,
    "two_row": 0.1,
}


def _u8(array: object) -> Bgr:
    return np.asarray(array, dtype=np.uint8)


def _rgb(rng: random.Random, lo: int, hi: int) -> Rgb:
    return (rng.randint(lo, hi), rng.randint(lo, hi), rng.randint(lo, hi))


@dataclass(frozen=True)
class SceneSource:
    """A real frame to composite into and its labelled plates (x1, y1, x2, y2 pixels)."""

    image: Path
    boxes: tuple[Xyxy, ...]


@dataclass(frozen=True)
class SyntheticScene:
    image: Bgr  # H x W x 3 BGR, long side OUT_LONG
    boxes: tuple[Xyxy, ...]  # plates, pixels of `image`
    lettering: tuple[Xyxy, ...] = ()  # unlabelled lettering negatives (compose_scene's `lettering`), for tests
    vehicle: tuple[Xyxy, ...] = ()  # unlabelled bus badges, light boxes, windows (compose_scene's `vehicle`), for tests


# --------------------------------------------------------------------------------------------------------------
# Sources


def scene_sources(data_root: Path, videos: Iterable[str]) -> list[SceneSource]:
    """The frames of `videos` with their VOC boxes, sorted by name (the caller decides which videos: never held-out)."""
    wanted = set(videos)
    out = []
    for frame in sorted(read_frames(data_root / "frames.csv"), key=lambda f: f.image):
        if frame.video not in wanted:
            continue
        xml = data_root / "annotations" / f"{Path(frame.image).stem}.xml"
        boxes: tuple[Xyxy, ...] = ()
        if xml.is_file():
            ann = parse_voc(xml.read_text(encoding="utf-8"))
            boxes = tuple((b.xmin, b.ymin, b.xmax, b.ymax) for _, b in ann.boxes)
        out.append(SceneSource(data_root / "images" / frame.image, boxes))
    return out


def split_sources(sources: Sequence[SceneSource], every: int) -> tuple[list[SceneSource], list[SceneSource]]:
    """(for training, for the synthetic held-out set): every `every`-th frame is kept for the held-out set."""
    train = [s for i, s in enumerate(sources) if i % every]
    held = [s for i, s in enumerate(sources) if not i % every]
    return train, held


@cache
def plate_fonts() -> tuple[Path, ...]:
    """DejaVu (always) plus the plate-like fonts installed on this machine."""
    return font_paths() + tuple(Path(p) for p in _EXTRA_FONTS if Path(p).is_file())


@cache
def script_fonts() -> tuple[Path, ...]:
    found = tuple(Path(p) for p in _SCRIPT_FONTS if Path(p).is_file())
    return found or font_paths()


# --------------------------------------------------------------------------------------------------------------
# Plates


def _weighted(rng: random.Random, weights: dict[str, float]) -> str:
    names = list(weights)
    return rng.choices(names, weights=[weights[n] for n in names])[0]


def _us_background(rng: random.Random, w: int, h: int) -> Image.Image:
    """A state plate's sheeting: white or pale, often a gradient, sometimes a band, hills or a sun."""
    base = rng.choice([(250, 250, 250), (245, 240, 215), (225, 235, 250), (250, 235, 200), (235, 245, 235)])
    top = tuple(max(0, min(255, c + rng.randint(-60, 10))) for c in base)
    rows = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    grad = (np.array(top, np.float32) * (1 - rows) + np.array(base, np.float32) * rows) * np.ones((1, w, 1))
    img = Image.fromarray(grad.astype(np.uint8) if rng.random() < 0.6 else np.full((h, w, 3), base, np.uint8))
    draw = ImageDraw.Draw(img)
    pastel = tuple(rng.randint(120, 240) for _ in range(3))
    shape = rng.random()
    if shape < 0.25:  # hills or mountains along the bottom
        pts = [(0, h)] + [(x, int(h * rng.uniform(0.55, 0.85))) for x in range(0, w + 40, 40)] + [(w, h)]
        draw.polygon(pts, fill=pastel)
    elif shape < 0.4:  # a sun or a circle behind the number
        r = rng.randint(h // 4, h // 2)
        cx, cy = rng.randint(r, w - r), rng.randint(h // 3, h - h // 3)
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=pastel)
    elif shape < 0.6:  # a coloured band at the top or bottom
        band = rng.randint(10, 26)
        y0 = 0 if rng.random() < 0.5 else h - band
        draw.rectangle((0, y0, w, y0 + band), fill=tuple(rng.randint(0, 160) for _ in range(3)))
    return img


def _draw_us(rng: random.Random, rows: tuple[str, ...], fonts: Sequence[Path]) -> Image.Image:
    h = 120
    w = round(h * rng.uniform(1.9, 2.1))
    canvas = _us_background(rng, w, h)
    draw = ImageDraw.Draw(canvas)
    ink = rng.choice([(20, 30, 110), (10, 10, 10), (140, 20, 20), (20, 80, 30), (30, 30, 90)])
    state_ink = rng.choice([ink, (180, 20, 20), (20, 40, 150), (10, 10, 10)])
    if rng.random() < 0.6:
        draw.rectangle((1, 1, w - 2, h - 2), outline=ink, width=rng.randint(1, 4))
    state = rng.choice(US_STATES)
    state = state.upper() if rng.random() < 0.5 else state
    script = _font(rng.choice(script_fonts() + tuple(fonts[:2])), 48)
    sw = min(w - 20, round(len(state) * rng.uniform(13, 20)))
    x0 = (w - sw) // 2
    _paste_text(canvas, state, script, state_ink, (x0, 5, x0 + sw, rng.randint(24, 32)))
    slogan = rng.choice(US_SLOGANS)
    if slogan:
        small = _font(fonts[0], 40)
        lw = min(w - 30, round(len(slogan) * rng.uniform(7, 10)))
        x0 = (w - lw) // 2
        _paste_text(canvas, slogan, small, state_ink, (x0, h - 22, x0 + lw, h - 8))
    for corner in rng.sample([(6, 6), (w - 30, 6), (6, h - 22), (w - 30, h - 22)], k=rng.randint(0, 2)):
        sticker = tuple(rng.randint(0, 255) for _ in range(3))  # registration stickers
        draw.rectangle((corner[0], corner[1], corner[0] + 24, corner[1] + 16), fill=sticker)
    main = _font(rng.choice(list(fonts)), 96)
    width = round((w - 24) * rng.uniform(0.78, 0.95))
    height = round((h - 66) * rng.uniform(0.85, 1.0))
    x = 12 + rng.randint(0, w - 24 - width)
    _paste_text(canvas, rows[0], main, ink, (x, 34, x + width, 34 + height))
    return canvas


def _draw_generic(rng: random.Random, layout: str, rows: tuple[str, ...], fonts: Sequence[Path]) -> Image.Image:
    """synthetic_plates.draw_plate's layouts, with the registration in any of our plate-like fonts."""
    background, ink, aspect = _style(rng, layout)
    if layout == "eu" and rng.random() < 0.3:
        background = (250, 215, 40)  # UK/NL-style yellow rear plates
    h = 120
    w = round(h * aspect)
    canvas = Image.new("RGB", (w, h), background)
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((1, 1, w - 2, h - 2), outline=ink if rng.random() < 0.7 else (60, 60, 60), width=rng.randint(2, 5))
    small = _font(fonts[0], 40)
    left, top, right, bottom = 8, 10, w - 8, h - 10
    if layout == "eu":
        band = round(h * rng.uniform(0.3, 0.4))
        draw.rectangle((2, 2, band, h - 3), fill=(20, 50, 160))
        if rng.random() < 0.85:  # the ring of stars
            cx, cy, r = band / 2, h * 0.3, band * 0.3
            for k in range(12):
                a = 2 * math.pi * k / 12
                sx, sy = cx + r * math.cos(a), cy + r * math.sin(a)
                draw.ellipse((sx - 2, sy - 2, sx + 2, sy + 2), fill=(240, 200, 30))
        code = rng.choice(("D", "F", "I", "NL", "RO", "E", "B", "PL", "CZ", "A", "GB", "P", "S", "H", "SK", "BG"))
        _paste_text(canvas, code, small, (255, 255, 255), (6, h - 48, band - 4, h - 12))
        left = band + 10
        if rng.random() < 0.3:  # German-style registration seals between the letter groups
            sx = left + rng.randint(60, max(61, (w - left) // 2))
            draw.ellipse((sx, 30, sx + 22, 52), fill=(180, 60, 60))
            draw.ellipse((sx, 62, sx + 22, 84), fill=(70, 110, 180))
    elif layout in ("br_mercosul", "ar_mercosur"):
        draw.rectangle((2, 2, w - 3, 30), fill=(20, 60, 170))
        title = "BRASIL" if layout == "br_mercosul" else "REPUBLICA ARGENTINA"
        _paste_text(canvas, title, small, (255, 255, 255), (w // 3, 6, 2 * w // 3, 26))
        top = 38
    elif layout == "br_old":
        city = rng.choice(("SP - SAO PAULO", "RJ - RIO DE JANEIRO", "MG - BELO HORIZONTE", "PR - CURITIBA"))
        _paste_text(canvas, city, small, ink, (w // 4, 8, 3 * w // 4, 30))
        top = 36
    elif layout == "ar_old" and rng.random() < 0.5:
        _paste_text(canvas, "ARGENTINA", small, ink, (w // 3, 6, 2 * w // 3, 24))
        top = 28
    main = _font(rng.choice(list(fonts)), 96)
    row_h = (bottom - top) // len(rows)
    for i, row in enumerate(rows):
        width = round((right - left) * rng.uniform(0.8, 0.97))
        height = round(row_h * rng.uniform(0.78, 0.95))
        x = left + rng.randint(0, (right - left) - width)
        y = top + i * row_h + rng.randint(0, row_h - height)
        _paste_text(canvas, row, main, ink, (x, y, x + width, y + height))
    return canvas


def draw_any_plate(rng: random.Random, layout: str) -> Bgr:
    """A bare, front-on plate of `layout` (BGR, 120 px high), sometimes in a dark plate holder."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; expected one of {LAYOUTS}")
    rows = plate_text(rng, layout)
    fonts = plate_fonts()
    pil = _draw_us(rng, rows, fonts) if layout == "us" else _draw_generic(rng, layout, rows, fonts)
    plate = cv2.cvtColor(np.asarray(pil), cv2.COLOR_RGB2BGR)
    if rng.random() < 0.35:  # a frame round the plate, often with a dealer's name
        t = rng.randint(4, 12)
        shade = rng.randint(10, 90)
        bottom = t + (rng.randint(6, 14) if rng.random() < 0.5 else 0)
        plate = cv2.copyMakeBorder(plate, t, bottom, t, t, cv2.BORDER_CONSTANT, value=(shade, shade, shade))
        if bottom > t + 5:
            light = 255 - shade
            words = rng.choice(NEGATIVE_WORDS)
            cv2.putText(plate, words, (plate.shape[1] // 3, plate.shape[0] - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                        (light, light, light), 1, cv2.LINE_AA)  # fmt: skip
    return np.asarray(plate, dtype=np.uint8)


# --------------------------------------------------------------------------------------------------------------
# Pasting


def _quad(
    rng: random.Random, cx: float, cy: float, w: float, h: float, strength: float = 1.0
) -> npt.NDArray[np.float32]:
    """The corners (tl, tr, br, bl) of a w x h plate centred at (cx, cy), rotated, yawed and sheared a little."""
    pts = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]], dtype=np.float32)
    yaw = rng.uniform(0.75, 1.0) if rng.random() < 0.5 * strength else 1.0  # the far side looks shorter
    side = 1 if rng.random() < 0.5 else 2
    if side == 1:
        pts[[1, 2], 1] *= yaw
    else:
        pts[[0, 3], 1] *= yaw
    pts[:, 0] += pts[:, 1] * rng.uniform(-0.15, 0.15) * strength  # shear
    angle = math.radians(rng.gauss(0, 3.5 * strength))
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]], dtype=np.float32)
    return np.asarray(pts @ rot.T + np.array([cx, cy], dtype=np.float32), dtype=np.float32)


def paste_warped(rng: random.Random, canvas: Bgr, sprite: Bgr, quad: npt.NDArray[np.float32]) -> Xyxy | None:
    """Warp `sprite` onto `quad` of `canvas` (in place), lit like its surroundings; its visible box, or None."""
    ch, cw = canvas.shape[:2]
    x1, y1 = np.floor(quad.min(axis=0)).astype(int)
    x2, y2 = np.ceil(quad.max(axis=0)).astype(int)
    bx1, by1, bx2, by2 = max(0, x1), max(0, y1), min(cw, x2), min(ch, y2)
    if bx2 - bx1 < 3 or by2 - by1 < 3:
        return None
    target_w = float(np.linalg.norm(quad[1] - quad[0]))
    sh, sw = sprite.shape[:2]
    if target_w < sw * 0.7:  # shrink first so the warp does not alias
        factor = max(target_w * 1.2, 8) / sw
        sprite = _u8(
            cv2.resize(sprite, (max(4, round(sw * factor)), max(4, round(sh * factor))), interpolation=cv2.INTER_AREA)
        )
        sh, sw = sprite.shape[:2]
    src = np.array([[0, 0], [sw, 0], [sw, sh], [0, sh]], dtype=np.float32)
    local = quad - np.array([bx1, by1], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(src, local)
    size = (bx2 - bx1, by2 - by1)
    region = canvas[by1:by2, bx1:bx2]
    lum = float(region.mean()) / 128.0
    gain = float(np.clip(rng.uniform(0.65, 1.1) * (0.45 + 0.55 * lum), 0.25, 1.25))
    lit = np.clip(sprite.astype(np.float32) * gain + rng.uniform(-15, 15), 0, 255).astype(np.uint8)
    warped = cv2.warpPerspective(lit, matrix, size, flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.full((sh, sw), 255, np.uint8), matrix, size, flags=cv2.INTER_LINEAR)
    if target_w > 40 and rng.random() < 0.4:
        warped = cv2.GaussianBlur(warped, (3, 3), rng.uniform(0.3, 1.0))
    alpha = (mask.astype(np.float32) / 255.0)[:, :, None]
    region[:] = (warped.astype(np.float32) * alpha + region.astype(np.float32) * (1 - alpha)).astype(np.uint8)
    return (float(bx1), float(by1), float(bx2), float(by2))


def _iou_any(box: Xyxy, others: Iterable[Xyxy], margin: float = 0.0) -> bool:
    """True if `box` (grown by `margin` of its size) touches any of `others`."""
    x1, y1, x2, y2 = box
    mx, my = (x2 - x1) * margin, (y2 - y1) * margin
    x1, y1, x2, y2 = x1 - mx, y1 - my, x2 + mx, y2 + my
    return any(x1 < o[2] and o[0] < x2 and y1 < o[3] and o[1] < y2 for o in others)


def _covered_fraction(box: Xyxy, cover: Xyxy) -> float:
    ix = max(0.0, min(box[2], cover[2]) - max(box[0], cover[0]))
    iy = max(0.0, min(box[3], cover[3]) - max(box[1], cover[1]))
    area = max(1e-6, (box[2] - box[0]) * (box[3] - box[1]))
    return ix * iy / area


def replace_plate(rng: random.Random, canvas: Bgr, box: Xyxy) -> Xyxy | None:
    """Paste a synthetic plate over the real plate in `box`, covering it whole; the new plate's box."""
    layout = _weighted(rng, _REPLACE_WEIGHTS)
    plate = draw_any_plate(rng, layout)
    aspect = plate.shape[1] / plate.shape[0]
    bw, bh = box[2] - box[0], box[3] - box[1]
    w = max(bw * rng.uniform(1.06, 1.2), bh * rng.uniform(1.1, 1.25) * aspect)
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return paste_warped(rng, canvas, plate, _quad(rng, cx, cy, w, w / aspect, strength=0.4))


def _car(rng: random.Random, canvas: Bgr, cx: float, cy: float, plate_w: float) -> Xyxy:
    """A rough car rear (body, bumper, lights, window) behind a plate centred at (cx, cy); its box."""
    w = plate_w * rng.uniform(3.2, 4.5)
    h = w * rng.uniform(0.55, 0.8)
    x1, x2 = cx - w / 2, cx + w / 2
    y1 = cy - h * rng.uniform(0.55, 0.7)
    y2 = y1 + h
    body = tuple(int(v) for v in rng.choice([(30, 30, 30), (200, 200, 200), (240, 240, 240), (40, 40, 140),
                                            (140, 60, 20), (90, 90, 90), (20, 90, 40), (160, 160, 170)]))  # fmt: skip
    body = tuple(int(np.clip(c + rng.randint(-20, 20), 0, 255)) for c in body)
    pts = np.array([[x1, y2], [x1, y1 + h * 0.3], [x1 + w * 0.12, y1], [x2 - w * 0.12, y1], [x2, y1 + h * 0.3],
                    [x2, y2]], dtype=np.int32)  # fmt: skip
    cv2.fillPoly(canvas, [pts], body, lineType=cv2.LINE_AA)
    glass = tuple(int(v) for v in np.clip(np.array(body) * 0.3 + 20, 0, 255))
    cv2.rectangle(canvas, (int(x1 + w * 0.15), int(y1 + h * 0.05)), (int(x2 - w * 0.15), int(y1 + h * 0.3)), glass, -1)
    light = (int(rng.randint(0, 40)), int(rng.randint(0, 40)), int(rng.randint(150, 255)))
    lw, lh = int(w * 0.16), int(h * 0.1)
    ly = int(y1 + h * 0.36)
    cv2.rectangle(canvas, (int(x1 + w * 0.03), ly), (int(x1 + w * 0.03) + lw, ly + lh), light, -1)
    cv2.rectangle(canvas, (int(x2 - w * 0.03) - lw, ly), (int(x2 - w * 0.03), ly + lh), light, -1)
    bumper = tuple(int(v) for v in np.clip(np.array(body) * rng.uniform(0.5, 1.1), 0, 255))
    cv2.rectangle(canvas, (int(x1), int(y2 - h * 0.18)), (int(x2), int(y2)), bumper, -1)
    if rng.random() < 0.5:  # a badge or model name: a classic false alarm
        _negative_at(rng, canvas, (cx, y1 + h * 0.33), plate_w * rng.uniform(0.25, 0.6), kind="badge")
    return (x1, y1, x2, y2)


def add_free_plate(rng: random.Random, canvas: Bgr, taken: list[Xyxy], width: float) -> Xyxy | None:
    """A synthetic plate `width` px wide at a free random place, sometimes on a drawn car."""
    ch, cw = canvas.shape[:2]
    layout = _weighted(rng, _FREE_WEIGHTS)
    plate = draw_any_plate(rng, layout)
    aspect = plate.shape[1] / plate.shape[0]
    h = width / aspect
    for _ in range(12):
        cx = rng.uniform(width * 0.3, cw - width * 0.3)
        cy = rng.uniform(h * 0.4, ch - h * 0.4)
        box = (cx - width / 2, cy - h / 2, cx + width / 2, cy + h / 2)
        with_car = rng.random() < 0.45 and width < cw / 3.5
        zone = box
        if with_car:
            w = width * 4.5
            zone = (cx - w / 2, cy - w * 0.6, cx + w / 2, cy + w * 0.3)
        if _iou_any(zone, taken, margin=0.1):
            continue
        if with_car:
            _car(rng, canvas, cx, cy, width)
        return paste_warped(rng, canvas, plate, _quad(rng, cx, cy, width, h))
    return None


# --------------------------------------------------------------------------------------------------------------
# Negatives: text and shapes that are not plates


def _negative_sprite(rng: random.Random, kind: str) -> tuple[Bgr, Bgr | None]:
    """A sign, a patch of lettering, a badge or a sticker (BGR) and its mask (None = the whole rectangle)."""
    fonts = plate_fonts() + script_fonts()
    font = _font(rng.choice(list(fonts)), 64)
    if kind == "sign":
        bg, ink = rng.choice([((255, 255, 255), (0, 0, 0)), ((20, 110, 40), (255, 255, 255)),
                              ((20, 60, 170), (255, 255, 255)), ((200, 20, 20), (255, 255, 255)),
                              ((250, 210, 20), (0, 0, 0)), ((110, 60, 30), (255, 255, 255)),
                              ((240, 240, 240), (200, 20, 20))])  # fmt: skip
        lines = [rng.choice(NEGATIVE_WORDS) for _ in range(rng.choice((1, 2, 2, 3)))]
        if rng.random() < 0.3:
            lines.append(f"{rng.randint(1, 999)} m" if rng.random() < 0.5 else rng.choice(("->", "<-", "^")))
        w = 60 * max(len(t) for t in lines)
        h = 80 * len(lines)
        img = Image.new("RGB", (w + 20, h + 20), bg)
        draw = ImageDraw.Draw(img)
        draw.rectangle((2, 2, w + 17, h + 17), outline=ink, width=4)
        for i, line in enumerate(lines):
            lw = round(w * rng.uniform(0.5, 1.0) * len(line) / max(len(t) for t in lines))
            _paste_text(img, line, font, ink, (10, 10 + 80 * i, 10 + max(lw, 20), 80 + 80 * i))
        return _u8(cv2.cvtColor(np.asarray(img), cv2.COLOR_RGB2BGR)), None
    if kind == "round":  # speed-limit or no-parking disc
        size = 160
        img = Image.new("RGB", (size, size), (0, 0, 0))
        mask = Image.new("L", (size, size), 0)
        draw = ImageDraw.Draw(img)
        ImageDraw.Draw(mask).ellipse((0, 0, size - 1, size - 1), fill=255)
        draw.ellipse((0, 0, size - 1, size - 1), fill=(200, 20, 20))
        inner = (20, 60, 170) if rng.random() < 0.3 else (250, 250, 250)
        draw.ellipse((18, 18, size - 19, size - 19), fill=inner)
        _paste_text(img, str(rng.choice((20, 30, 40, 50, 60, 70, 90, 25, 35))), font, (0, 0, 0), (40, 50, 120, 110))
        return _u8(cv2.cvtColor(np.asarray(img), cv2.COLOR_RGB2BGR)), _u8(mask)
    if kind == "badge":  # chrome lettering or an oval brand badge
        word = rng.choice(NEGATIVE_WORDS[30:41])
        colour = _rgb(rng, 170, 235) if rng.random() < 0.7 else (30, 30, 30)
        w, h = 50 * len(word) + 20, 80
        img = Image.new("RGB", (w, h), (0, 0, 0))
        mask = Image.new("L", (w, h), 0)
        if rng.random() < 0.4:
            ImageDraw.Draw(img).ellipse((0, 0, w - 1, h - 1), outline=colour, width=6)
            ImageDraw.Draw(mask).ellipse((0, 0, w - 1, h - 1), outline=255, width=6)
        sprite = Image.new("RGBA", (w, h), (0, 0, 0, 0))
        _paste_text(sprite, word, font, colour, (10, 10, w - 10, h - 10))
        img.paste(sprite, (0, 0), sprite)
        mask.paste(sprite.split()[3], (0, 0), sprite.split()[3])
        return _u8(cv2.cvtColor(np.asarray(img), cv2.COLOR_RGB2BGR)), _u8(mask)
    # lettering on a truck or a shop window: words and phone numbers straight on the surface, no plate border
    words = rng.choice(NEGATIVE_WORDS)
    if rng.random() < 0.4:
        words = f"{words} {rng.randint(100, 999)}-{rng.randint(1000, 9999)}"
    ink = _rgb(rng, 0, 255)
    w, h = 45 * len(words), 80
    sprite = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    _paste_text(sprite, words, font, ink, (0, 0, w, h))
    rgb = np.asarray(sprite.convert("RGB"))
    return _u8(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)), _u8(sprite.split()[3])


def _negative_at(rng: random.Random, canvas: Bgr, centre: tuple[float, float], width: float, kind: str) -> Xyxy | None:
    sprite, mask = _negative_sprite(rng, kind)
    return _paste_negative(rng, canvas, sprite, mask, centre, width)


def _paste_negative(
    rng: random.Random, canvas: Bgr, sprite: Bgr, mask: Bgr | None, centre: tuple[float, float], width: float
) -> Xyxy | None:
    """Warp `sprite` (its `mask`; None: all of it) to `width` px at `centre`, a little in perspective; its box."""
    sh, sw = sprite.shape[:2]
    height = width * sh / sw
    ch, cw = canvas.shape[:2]
    quad = _quad(rng, centre[0], centre[1], width, height, strength=0.6)
    x1, y1 = np.floor(quad.min(axis=0)).astype(int)
    x2, y2 = np.ceil(quad.max(axis=0)).astype(int)
    bx1, by1, bx2, by2 = max(0, x1), max(0, y1), min(cw, x2), min(ch, y2)
    if bx2 - bx1 < 3 or by2 - by1 < 3:
        return None
    if mask is None:
        mask = np.full((sh, sw), 255, np.uint8)
    src = np.array([[0, 0], [sw, 0], [sw, sh], [0, sh]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(src, quad - np.array([bx1, by1], dtype=np.float32))
    size = (bx2 - bx1, by2 - by1)
    warped = cv2.warpPerspective(sprite, matrix, size, flags=cv2.INTER_AREA)
    alpha = cv2.warpPerspective(mask, matrix, size, flags=cv2.INTER_LINEAR).astype(np.float32)[:, :, None] / 255.0
    region = canvas[by1:by2, bx1:bx2]
    gain = rng.uniform(0.5, 1.1)
    region[:] = np.clip(warped * gain * alpha + region * (1 - alpha), 0, 255).astype(np.uint8)
    return (float(bx1), float(by1), float(bx2), float(by2))


def add_negative(rng: random.Random, canvas: Bgr, taken: list[Xyxy]) -> Xyxy | None:
    ch, cw = canvas.shape[:2]
    kind = rng.choices(("sign", "lettering", "badge", "round"), weights=(0.35, 0.3, 0.2, 0.15))[0]
    width = math.exp(rng.uniform(math.log(14), math.log(cw * 0.35)))
    for _ in range(8):
        centre = (rng.uniform(0, cw), rng.uniform(0, ch))
        zone = (centre[0] - width / 2, centre[1] - width / 2, centre[0] + width / 2, centre[1] + width / 2)
        if not _iou_any(zone, taken, margin=0.05):
            return _negative_at(rng, canvas, centre, width, kind)
    return None


def add_lettering(
    rng: random.Random, canvas: Bgr, taken: list[Xyxy], degraded: random.Random | None = None, share: float = 0.0
) -> Xyxy | None:
    """One unlabelled piece of lettering (lettering_negatives.KINDS) at a free place, clear of `taken`; its box.

    With `degraded` (a random stream of its own, so `rng`'s draws stay those of the crisp scene) a `share` of the
    sprites are degraded (lettering_negatives.degrade): soft, low-contrast, hazy, glowing, as real lettering looks.
    """
    kind = pick_kind(rng)
    sprite, mask = lettering_sprite(rng, kind, plate_fonts() + script_fonts())
    if degraded is not None and degraded.random() < share:
        sprite = degrade(degraded, sprite, kind)
    return _place_negative(rng, canvas, sprite, mask, KIND_WIDTHS[kind], taken)


def _place_negative(
    rng: random.Random, canvas: Bgr, sprite: Bgr, mask: Bgr | None, widths: tuple[float, float], taken: Sequence[Xyxy]
) -> Xyxy | None:
    """`sprite` pasted unlabelled at a free place clear of `taken`, `widths` (lo, hi) its width as a share of the
    canvas's; its box, or None if 10 tries found no place."""
    ch, cw = canvas.shape[:2]
    lo, hi = widths
    width = math.exp(rng.uniform(math.log(max(12.0, lo * cw)), math.log(max(13.0, hi * cw))))
    height = width * sprite.shape[0] / sprite.shape[1]
    for _ in range(10):
        centre = (rng.uniform(0, cw), rng.uniform(0, ch))
        zone = (centre[0] - width / 2, centre[1] - height / 2, centre[0] + width / 2, centre[1] + height / 2)
        if not _iou_any(zone, taken, margin=0.1):
            return _paste_negative(rng, canvas, sprite, mask, centre, width)
        width, height = width * 0.8, height * 0.8  # big panels rarely fit beside plates: try smaller
    return None


def add_lettering_negatives(
    seed: int, canvas: Bgr, taken: Sequence[Xyxy], most: int, degraded: float = 0.0
) -> tuple[Xyxy, ...]:
    """1 to `most` pieces of lettering, from their own random stream (the scene's other draws stay as they were);
    a `degraded` share of them degraded, from a third stream (0: exactly the crisp pieces of before)."""
    rng = random.Random(f"lettering-{seed}")
    worse = random.Random(f"degraded-{seed}") if degraded > 0 else None
    placed: list[Xyxy] = []
    for _ in range(rng.randint(1, most)):
        box = add_lettering(rng, canvas, [*taken, *placed], worse, degraded)
        if box is not None:
            placed.append(box)
    return tuple(placed)


SMALL_WIDTHS: tuple[float, float] = (12.0, 40.0)  # px of the 640-px scene: where v3 misses most (card, stage 10)


def add_small_plates(
    seed: int, canvas: Bgr, taken: Sequence[Xyxy], most: int, widths: tuple[float, float] = SMALL_WIDTHS
) -> tuple[Xyxy, ...]:
    """1 to `most` more LABELLED plates `widths` (lo, hi) px wide (log-uniform), at free places clear of `taken`,
    sometimes on a drawn car (add_free_plate), from their own random stream: distant plates of wide scenes."""
    rng = random.Random(f"small-{seed}")
    lo, hi = widths
    placed: list[Xyxy] = []
    for _ in range(rng.randint(1, most)):
        width = math.exp(rng.uniform(math.log(lo), math.log(hi)))
        box = add_free_plate(rng, canvas, [*taken, *placed], width)
        if box is not None:
            placed.append(box)
    return tuple(placed)


def add_vehicle_negatives(seed: int, canvas: Bgr, taken: Sequence[Xyxy], most: int) -> tuple[Xyxy, ...]:
    """1 to `most` unlabelled bus badges, lit posters and glossy windows (vehicle_negatives.KINDS) clear of `taken`,
    from their own random stream, so the scene's other draws (plates, labels, lettering, effects) stay as they were."""
    rng = random.Random(f"vehicle-{seed}")
    placed: list[Xyxy] = []
    for _ in range(rng.randint(1, most)):
        kind = pick_vehicle_kind(rng)
        sprite, mask = vehicle_sprite(rng, kind, plate_fonts() + script_fonts())
        box = _place_negative(rng, canvas, sprite, mask, VEHICLE_WIDTHS[kind], [*taken, *placed])
        if box is not None:
            placed.append(box)
    return tuple(placed)


# --------------------------------------------------------------------------------------------------------------
# Scenes


def drawn_scene(rng: random.Random, width: int, height: int) -> Bgr:
    """A street-ish background without plates: sky, road, walls, windows, poles, texture."""
    sky = np.array([rng.randint(120, 255), rng.randint(100, 230), rng.randint(80, 200)], np.float32)
    road = np.array([rng.randint(40, 130)] * 3, np.float32)
    horizon = rng.uniform(0.3, 0.6)
    t = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    img = np.where(t < horizon, sky * (1 - t * 0.5), road * (0.7 + 0.6 * t)) * np.ones((1, width, 1), np.float32)
    canvas = np.clip(img, 0, 255).astype(np.uint8)
    for _ in range(rng.randint(3, 12)):  # buildings, walls, parked things
        x1, y1 = rng.randint(-50, width), rng.randint(0, height)
        x2, y2 = x1 + rng.randint(20, width // 2), y1 + rng.randint(20, height // 2)
        colour = tuple(rng.randint(20, 240) for _ in range(3))
        cv2.rectangle(canvas, (x1, y1), (x2, y2), colour, -1)
        if rng.random() < 0.5:  # windows
            step = rng.randint(12, 40)
            wcol = tuple(rng.randint(0, 120) for _ in range(3))
            for wx in range(x1 + 5, x2 - 10, step):
                for wy in range(y1 + 5, y2 - 10, step):
                    cv2.rectangle(canvas, (wx, wy), (wx + step // 2, wy + step // 2), wcol, -1)
    for _ in range(rng.randint(0, 4)):  # poles and lane marks
        x = rng.randint(0, width)
        cv2.line(
            canvas, (x, rng.randint(0, height)), (x + rng.randint(-40, 40), height), (200, 200, 200), rng.randint(1, 6)
        )
    noise = np.random.default_rng(rng.getrandbits(32)).normal(0, rng.uniform(2, 10), canvas.shape)
    return _u8(np.clip(canvas + noise, 0, 255))


def _crop_window(rng: random.Random, fw: int, fh: int, boxes: Sequence[Xyxy], aspect: float, zoom: float) -> Xyxy:
    ww = fw / zoom
    wh = ww / aspect
    if wh > fh:
        wh, ww = float(fh), fh * aspect
    if ww > fw:
        ww, wh = float(fw), fw / aspect
    if boxes and zoom > 1.4 and rng.random() < 0.7:  # frame a real plate: close-ups of real cars
        b = rng.choice(list(boxes))
        cx = rng.uniform(b[2] - ww * 0.9, b[0] + ww * 0.9) if ww > b[2] - b[0] else (b[0] + b[2]) / 2
        cy = rng.uniform(b[3] - wh * 0.9, b[1] + wh * 0.9) if wh > b[3] - b[1] else (b[1] + b[3]) / 2
        x0 = min(max(0.0, cx - ww / 2), fw - ww)
        y0 = min(max(0.0, cy - wh / 2), fh - wh)
    else:
        x0, y0 = rng.uniform(0, fw - ww), rng.uniform(0, fh - wh)
    return (x0, y0, x0 + ww, y0 + wh)


def _night(rng: random.Random, img: Bgr, plates: Sequence[Xyxy]) -> Bgr:
    dark = img.astype(np.float32) / 255.0
    dark = np.power(dark, rng.uniform(1.4, 2.4)) * rng.uniform(0.35, 0.8) * 255
    dark *= np.array([rng.uniform(1.0, 1.3), 1.0, rng.uniform(0.75, 1.0)], np.float32)  # sodium or blue cast
    for b in plates:  # reflective sheeting lit by our headlights
        if rng.random() < 0.6:
            x1, y1, x2, y2 = (int(v) for v in b)
            dark[y1:y2, x1:x2] = np.clip(dark[y1:y2, x1:x2] * rng.uniform(1.5, 3.0), 0, 255)
    out = _u8(np.clip(dark, 0, 255))
    for _ in range(rng.randint(0, 5)):  # other cars' lights and street lamps
        _glare_blob(rng, out, rng.uniform(4, 40))
    return out


def _glare_blob(rng: random.Random, img: Bgr, radius: float, centre: tuple[float, float] | None = None) -> None:
    h, w = img.shape[:2]
    cx, cy = centre or (rng.uniform(0, w), rng.uniform(0, h))
    yy, xx = np.ogrid[:h, :w]
    d2 = ((xx - cx) ** 2 + (yy - cy) ** 2) / max(1.0, radius) ** 2
    strength = np.exp(-d2)[:, :, None] * rng.uniform(0.5, 1.0)
    tint = np.array([rng.uniform(200, 255), rng.uniform(220, 255), 255], np.float32)
    img[:] = np.clip(img * (1 - strength) + tint * strength, 0, 255).astype(np.uint8)


def _rain(rng: random.Random, img: Bgr) -> Bgr:
    h, w = img.shape[:2]
    layer = np.zeros_like(img)
    angle = rng.uniform(-0.3, 0.3)
    for _ in range(rng.randint(150, 700)):
        x, y = rng.randint(0, w), rng.randint(0, h)
        length = rng.randint(6, 28)
        shade = rng.randint(150, 230)
        cv2.line(layer, (x, y), (int(x + length * angle), y + length), (shade, shade, shade), 1)
    layer = _u8(cv2.blur(layer, (3, 3)))
    hazy = cv2.addWeighted(img, rng.uniform(0.7, 0.9), np.full_like(img, rng.randint(110, 170)), 0.2, 0)
    return np.asarray(cv2.addWeighted(hazy, 1.0, layer, rng.uniform(0.3, 0.7), 0), dtype=np.uint8)


def camera_effects(rng: random.Random, img: Bgr, plates: Sequence[Xyxy]) -> Bgr:
    """Night, glare, rain, fog, blur, infrared grey, noise and JPEG, each with its own probability."""
    out: Bgr = img
    if rng.random() < 0.18:
        out = _night(rng, out, plates)
    if rng.random() < 0.12:  # sun or headlight glare, sometimes on a plate
        centre = None
        if plates and rng.random() < 0.5:
            b = rng.choice(list(plates))
            centre = (rng.uniform(b[0], b[2]), rng.uniform(b[1], b[3]))
        _glare_blob(rng, out, rng.uniform(15, max(out.shape[:2]) * 0.4), centre)
    if rng.random() < 0.12:
        out = _rain(rng, out)
    if rng.random() < 0.06:  # fog
        out = _u8(cv2.addWeighted(out, rng.uniform(0.5, 0.8), np.full_like(out, rng.randint(150, 220)), 0.35, 0))
    if rng.random() < 0.12:  # motion blur
        n = rng.randint(3, 9)
        kernel = np.zeros((n, n), np.float32)
        kernel[n // 2, :] = 1.0 / n
        out = _u8(cv2.filter2D(out, -1, kernel))
    elif rng.random() < 0.2:
        out = _u8(cv2.GaussianBlur(out, (5, 5), rng.uniform(0.4, 1.4)))
    if rng.random() < 0.08:
        out = _u8(cv2.cvtColor(cv2.cvtColor(out, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR))
    if rng.random() < 0.35:
        noise = np.random.default_rng(rng.getrandbits(32)).normal(0, rng.uniform(2, 12), out.shape)
        out = np.clip(out + noise, 0, 255).astype(np.uint8)
    ok, jpeg = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, rng.randint(35, 95)])
    return np.asarray(cv2.imdecode(jpeg, cv2.IMREAD_COLOR) if ok else out, dtype=np.uint8)


_ASPECTS = ((16 / 9, 0.45), (4 / 3, 0.2), (3 / 2, 0.12), (1.0, 0.1), (3 / 4, 0.08), (2.0, 0.05))


def _aspect_and_source(rng: random.Random, sources: Sequence[SceneSource]) -> tuple[float, SceneSource | None]:
    """A scene's first draws: its aspect ratio and its real background (None: a drawn street)."""
    aspect = rng.choices([a for a, _ in _ASPECTS], weights=[p for _, p in _ASPECTS])[0]
    if sources and rng.random() < 0.75:
        return aspect, sources[rng.randrange(len(sources))]
    return aspect, None


def scene_background(seed: int, sources: Sequence[SceneSource]) -> Path | None:
    """The real frame compose_scene(seed, sources) composites onto (None: a drawn street), without composing it."""
    _, src = _aspect_and_source(random.Random(seed), sources)
    return None if src is None else src.image


def compose_scene(
    seed: int,
    sources: Sequence[SceneSource],
    lettering: int = 0,
    degraded: float = 0.0,
    vehicle: int = 0,
    small: int = 0,
    small_widths: tuple[float, float] = SMALL_WIDTHS,
) -> SyntheticScene:
    """One synthetic training image and its plate boxes, identical for the same seed and sources.

    `lettering` > 0 adds 1 to `lettering` unlabelled pieces of non-plate lettering (bus sides, route numbers, van
    lettering, signs, badges, plate-shaped boards with words) clear of the plates; they come from their own random
    stream, so the scene's plates, labels and camera effects are those of the same seed without them. `degraded`:
    the share of those pieces degraded like real lettering seen from a dashcam (add_lettering). `vehicle` > 0 adds
    1 to `vehicle` unlabelled bus badges, lit posters and glossy windows (add_vehicle_negatives), also from their
    own stream: 0 gives exactly the scene of before. `small` > 0 adds 1 to `small` more labelled plates
    `small_widths` px wide (add_small_plates; their own stream, placed last, after the negatives): the plain scene's
    plates and negatives stay where they were, its camera effects differ (they draw per plate).
    """
    rng = random.Random(seed)
    aspect, src = _aspect_and_source(rng, sources)
    out_w, out_h = (OUT_LONG, round(OUT_LONG / aspect)) if aspect >= 1 else (round(OUT_LONG * aspect), OUT_LONG)
    real: list[Xyxy] = []
    if src is not None:
        frame = cv2.imread(str(src.image), cv2.IMREAD_COLOR)
        if frame is None:
            raise FileNotFoundError(src.image)
        fh, fw = frame.shape[:2]
        zoom = math.exp(rng.uniform(0, math.log(4.5))) if rng.random() < 0.6 else 1.0
        x0, y0, x1, y1 = _crop_window(rng, fw, fh, src.boxes, aspect, zoom)
        crop = frame[int(y0) : math.ceil(y1), int(x0) : math.ceil(x1)]
        scale = out_w / crop.shape[1]
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        canvas = np.ascontiguousarray(cv2.resize(crop, (out_w, out_h), interpolation=interp), dtype=np.uint8)
        sy = out_h / crop.shape[0]
        for b in src.boxes:
            nb = ((b[0] - int(x0)) * scale, (b[1] - int(y0)) * sy, (b[2] - int(x0)) * scale, (b[3] - int(y0)) * sy)
            clipped = (max(0.0, nb[0]), max(0.0, nb[1]), min(float(out_w), nb[2]), min(float(out_h), nb[3]))
            if clipped[2] - clipped[0] >= 3 and clipped[3] - clipped[1] >= 3:
                real.append(clipped)
        close_up = zoom > 2.0
    else:
        canvas = drawn_scene(rng, out_w, out_h)
        close_up = rng.random() < 0.3
    plates: list[Xyxy] = []
    for b in real:
        new = replace_plate(rng, canvas, b) if rng.random() < 0.7 else None
        plates.append(new if new is not None else b)
    count = rng.choice((0, 1, 1, 2)) if close_up else rng.choice((0, 1, 1, 2, 2, 3, 4))
    if not plates and count == 0:
        count = 1 if rng.random() < 0.8 else 0  # a few plate-free scenes stay: pure negatives
    lo, hi = (out_w * 0.15, out_w * 0.75) if close_up else (12.0, out_w * 0.3)
    for _ in range(count):
        width = math.exp(rng.uniform(math.log(lo), math.log(hi)))
        box = add_free_plate(rng, canvas, plates, width)
        if box is not None:
            # a drawn car may hide real plates nearby; drop the labels it covers
            plates = [p for p in plates if _covered_fraction(p, box) < 0.3 or p == box]
            plates.append(box)
    taken = list(plates)
    for _ in range(rng.choice((0, 1, 1, 2, 3))):
        neg = add_negative(rng, canvas, taken)
        if neg is not None:
            taken.append(neg)
    extra = add_lettering_negatives(seed, canvas, taken, lettering, degraded) if lettering > 0 else ()
    more = add_vehicle_negatives(seed, canvas, [*taken, *extra], vehicle) if vehicle > 0 else ()
    if small > 0:
        plates += add_small_plates(seed, canvas, [*taken, *extra, *more], small, small_widths)
    image = camera_effects(rng, canvas, plates)
    return SyntheticScene(image=image, boxes=tuple(plates), lettering=extra, vehicle=more)


def yolo_label(scene: SyntheticScene) -> str:
    h, w = scene.image.shape[:2]
    lines = []
    for x1, y1, x2, y2 in scene.boxes:
        lines.append(f"0 {(x1 + x2) / 2 / w:.6f} {(y1 + y2) / 2 / h:.6f} {(x2 - x1) / w:.6f} {(y2 - y1) / h:.6f}\n")
    return "".join(lines)


def write_synthetic_set(
    out_dir: Path,
    sources: Sequence[SceneSource],
    count: int,
    seed: int,
    progress: bool = True,
    lettering: int = 0,
    degraded: float = 0.0,
    vehicle: int = 0,
    small: int = 0,
    small_widths: tuple[float, float] = SMALL_WIDTHS,
) -> Path:
    """Write `count` scenes as a YOLO folder (images/, labels/); scenes already written are kept (resumable).

    The folder is named by its content: same sources, count, seed, `lettering`, `degraded`, `vehicle`, `small` and
    `small_widths` (compose_scene) give the same files.
    """
    images, labels = out_dir / "images", out_dir / "labels"
    images.mkdir(parents=True, exist_ok=True)
    labels.mkdir(parents=True, exist_ok=True)
    indices: Iterable[int] = range(count)
    if progress:
        from rich.progress import track

        indices = track(indices, description=f"synthetic scenes -> {out_dir.name}", total=count)
    for i in indices:
        stem = _stem(seed, i)
        if (images / f"{stem}.jpg").is_file() and (labels / f"{stem}.txt").is_file():
            continue
        scene = compose_scene(_scene_seed(seed, i), sources, lettering, degraded, vehicle, small, small_widths)
        (labels / f"{stem}.txt").write_text(yolo_label(scene), encoding="utf-8")
        cv2.imwrite(str(images / f"{stem}.jpg"), scene.image, [cv2.IMWRITE_JPEG_QUALITY, 95])
    return images


def _stem(seed: int, i: int) -> str:
    return f"syn_{seed}_{i:06d}"


def _scene_seed(seed: int, i: int) -> int:
    return seed * 1_000_003 + i


def write_view_without(
    set_dir: Path, out_dir: Path, sources: Sequence[SceneSource], count: int, seed: int, excluded: Collection[str]
) -> Path:
    """A YOLO folder of symlinks to the scenes of `set_dir` (written by write_synthetic_set from `sources`, `count`,
    `seed`) whose background is not one of the frames named in `excluded`; its images folder.

    The scenes kept are the very files of `set_dir`: the set is not redrawn (a shorter source list would change
    every scene), the scenes on held-back frames are just left out. Which frame a scene used is replayed from its
    seed (scene_background), so the view can be made before or after the set.
    """
    wanted = {
        _stem(seed, i)
        for i in range(count)
        if (bg := scene_background(_scene_seed(seed, i), sources)) is None or bg.name not in excluded
    }
    for kind, suffix in (("images", ".jpg"), ("labels", ".txt")):
        folder = out_dir / kind
        folder.mkdir(parents=True, exist_ok=True)
        for entry in folder.iterdir():
            if entry.stem not in wanted:
                entry.unlink()
        for stem in sorted(wanted):
            target, link = (set_dir / kind / f"{stem}{suffix}").resolve(), folder / f"{stem}{suffix}"
            if not target.is_file():
                raise FileNotFoundError(f"{target}: write the set before its view")
            if not (link.is_symlink() and link.readlink() == target):
                link.unlink(missing_ok=True)
                link.symlink_to(target)
    return out_dir / "images"
