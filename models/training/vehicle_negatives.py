"""Stage 9's synthetic negatives: the kinds of non-plate stage 8 still fired on in the held-out dashcam videos.

Drawn as sprites for the synthetic detector scenes and pasted unlabelled (detector_synth.add_vehicle_negatives):

* `badge`: a bus company's badge on bus-like livery: a short wordmark of 2 to 4 capitals (STB-like), painted or
  chrome, sometimes italic, in a rounded or oval badge of a colour, on a band of livery with stripes;
* `lightbox`: a lit poster or light box: a bright panel in a frame, a picture of soft blobs and a few lines of text;
* `window`: a glossy car side or rear window full of reflections: a dark pane with the sky's gradient, bright
  streaks and the reflected lines of the street, in a rubber or chrome frame.

Every sprite is a pure function of the `random.Random` it is given and of the fonts passed in; none carries a
registration-like string. A sprite is (BGR image, mask or None for the whole rectangle).
"""

from __future__ import annotations

import random
import string
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

from models.training.lettering_negatives import Rgb, Sprite, _bgr, _u8
from models.training.synthetic_plates import _font, _paste_text

KINDS = ("badge", "lightbox", "window")
KIND_WEIGHTS = (0.45, 0.25, 0.3)
# sprite width as a share of the scene's width (lo, hi): the held-out window false alarm was a large box
KIND_WIDTHS = {"badge": (0.03, 0.3), "lightbox": (0.05, 0.35), "window": (0.08, 0.45)}
WORDMARKS = ("STB", "RATB", "STPT", "CTP", "RATC", "STS", "OTL", "TUR", "RAT", "STCM", "CTB", "URBIS", "TCE")
LIVERIES: tuple[Rgb, ...] = (
    (240, 240, 235), (250, 205, 20), (20, 70, 160), (200, 25, 30), (30, 130, 60), (235, 120, 20), (120, 120, 125),
)  # fmt: skip


def _jitter(rng: random.Random, colour: Rgb, amount: int = 25) -> Rgb:
    r, g, b = (min(255, max(0, c + rng.randint(-amount, amount))) for c in colour)
    return (r, g, b)


def wordmark(rng: random.Random) -> str:
    """A bus company's short wordmark: a known one or 2 to 4 random capitals."""
    if rng.random() < 0.5:
        return rng.choice(WORDMARKS)
    return "".join(rng.choice(string.ascii_uppercase) for _ in range(rng.randint(2, 4)))


def _italic(img: Image.Image, rng: random.Random, fill: tuple[int, ...]) -> Image.Image:
    """Sheared to the right like an italic wordmark (same size)."""
    shear = rng.uniform(0.15, 0.35)
    return img.transform(
        img.size, Image.Transform.AFFINE, (1, shear, -shear * img.size[1] / 2, 0, 1, 0), fillcolor=fill
    )


def _badge(rng: random.Random, fonts: Sequence[Path]) -> Sprite:
    word = wordmark(rng)
    font = _font(rng.choice(list(fonts)), 64)
    bw, bh = 48 * len(word) + rng.randint(30, 70), rng.randint(70, 100)
    pad_x, pad_y = rng.randint(20, 90), rng.randint(10, 60)
    w, h = bw + 2 * pad_x, bh + 2 * pad_y
    livery = _jitter(rng, rng.choice(LIVERIES))
    img = Image.new("RGB", (w, h), livery)
    draw = ImageDraw.Draw(img)
    for _ in range(rng.randint(0, 3)):  # livery stripes across the bus side
        y, t = rng.randint(0, h), rng.randint(3, 18)
        draw.rectangle((0, y, w, y + t), fill=_jitter(rng, rng.choice(LIVERIES)))
    box = (pad_x, pad_y, pad_x + bw, pad_y + bh)
    style = rng.choice(("painted", "chrome", "plain"))
    if style == "chrome":
        ground: Rgb = (0, 0, 0)
        ink = _jitter(rng, (200, 200, 205), 30)
    else:
        ground = _jitter(rng, rng.choice(((20, 70, 160), (200, 25, 30), (250, 250, 250), (30, 30, 35), (250, 205, 20))))
        ink = (250, 250, 250) if sum(ground) < 400 else _jitter(rng, (25, 40, 120), 20)
    if style != "plain" or rng.random() < 0.5:
        shape = rng.choice(("rounded", "oval", "rounded"))
        if shape == "oval":
            draw.ellipse(box, fill=ground if style != "chrome" else None, outline=ink if style == "chrome" else None,
                         width=5)  # fmt: skip
        else:
            draw.rounded_rectangle(box, radius=rng.randint(8, bh // 2), fill=ground if style != "chrome" else None,
                                   outline=ink if style == "chrome" else None, width=5)  # fmt: skip
    if style == "plain":
        ink = _jitter(rng, (25, 40, 120), 20) if sum(livery) > 450 else (245, 245, 245)
    layer = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    _paste_text(layer, word, font, ink, (box[0] + 14, box[1] + 10, box[2] - 14, box[3] - 10))
    if rng.random() < 0.5:
        layer = _italic(layer, rng, (0, 0, 0, 0))
    img.paste(layer, (0, 0), layer)
    out = _bgr(img)
    if style == "chrome":  # a metallic sheen over the letters
        sheen = np.linspace(rng.uniform(0.7, 1.0), rng.uniform(1.0, 1.3), h, dtype=np.float32)[:, None, None]
        alpha = np.asarray(layer.split()[3], np.float32)[:, :, None] / 255.0
        out = _u8(np.clip(out * (1 - alpha) + out * sheen * alpha, 0, 255))
    return out, None


def _lightbox(rng: random.Random, fonts: Sequence[Path]) -> Sprite:
    portrait = rng.random() < 0.6
    w, h = (
        (rng.randint(120, 180), rng.randint(180, 260)) if portrait else (rng.randint(220, 360), rng.randint(110, 170))
    )
    frame = rng.randint(4, 14)
    canvas = np.zeros((h, w, 3), np.float32)
    base = np.array(_jitter(rng, (235, 235, 225), 20), np.float32)
    canvas[:] = base
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    for _ in range(rng.randint(2, 6)):  # the poster's picture: soft coloured blobs
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(15, max(w, h) * 0.5)
        weight = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (r * r))[:, :, None]
        colour = np.array([rng.randint(0, 255) for _ in range(3)], np.float32)
        canvas = canvas * (1 - weight) + colour * weight
    img = Image.fromarray(_u8(np.clip(canvas, 0, 255)), "RGB")
    draw = ImageDraw.Draw(img)
    font = _font(rng.choice(list(fonts)), 48)
    ink = (20, 20, 20) if rng.random() < 0.5 else (250, 250, 250)
    y = rng.randint(frame + 4, h // 2)
    for _ in range(rng.randint(1, 3)):
        words = " ".join(rng.choice(("SALE", "NOU", "OFERTA", "-50%", "BANCA", "MODA", "FILM", "2026", "ORANGE"))
                         for _ in range(rng.randint(1, 2)))  # fmt: skip
        lh = rng.randint(16, 32)
        if y + lh > h - frame:
            break
        _paste_text(img, words, font, ink, (frame + 6, y, w - frame - 6, y + lh))
        y += lh + rng.randint(4, 14)
    draw.rectangle((0, 0, w - 1, h - 1), outline=_jitter(rng, (60, 60, 65), 40), width=frame)
    out = np.asarray(img, np.float32)
    glow = rng.uniform(1.05, 1.4)  # lit from behind: brighter than the street around it
    out[frame:-frame, frame:-frame] = np.clip(out[frame:-frame, frame:-frame] * glow + 20, 0, 255)
    return _u8(cv2.cvtColor(_u8(out), cv2.COLOR_RGB2BGR)), None


def _window(rng: random.Random) -> Sprite:
    w, h = rng.randint(200, 360), rng.randint(90, 160)
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    top = np.array(_jitter(rng, (150, 170, 190), 50), np.float32)  # sky reflected at the top
    bottom = np.array(_jitter(rng, (30, 32, 38), 20), np.float32)
    t = (yy / h)[:, :, None]
    pane = top * (1 - t) + bottom * t
    for _ in range(rng.randint(2, 6)):  # bright diagonal streaks
        slope, x0 = rng.uniform(-1.5, -0.3), rng.uniform(0, w * 1.5)
        width = rng.uniform(4, 30)
        d = np.abs(xx - (x0 + slope * yy)) / width
        pane += (np.exp(-d * d) * rng.uniform(40, 140))[:, :, None]
    img = np.clip(pane, 0, 255).astype(np.uint8)
    for _ in range(rng.randint(3, 10)):  # reflected street: kerbs, lane lines, poles, building edges
        if rng.random() < 0.6:
            y0 = rng.randint(h // 3, h)
            p1, p2 = (0, y0), (w, y0 + rng.randint(-h // 3, h // 3))
        else:
            x0 = rng.randint(0, w)
            p1, p2 = (x0, 0), (x0 + rng.randint(-30, 30), h)
        shade = rng.randint(120, 255) if rng.random() < 0.6 else rng.randint(0, 60)
        cv2.line(img, p1, p2, (shade, shade, shade), rng.randint(1, 4), cv2.LINE_AA)
    img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.6, 2.0))
    mask = np.zeros((h, w), np.uint8)
    slant = rng.randint(0, w // 4)  # side windows are trapezoids; the rear one nearly a rectangle
    poly = np.array([[slant, 0], [w - 1 - rng.randint(0, w // 6), 0], [w - 1, h - 1], [0, h - 1]], np.int32)
    cv2.fillPoly(mask, [poly], 255)
    trim = rng.choice(((20, 20, 22), (190, 190, 195), _jitter(rng, rng.choice(LIVERIES), 20)))
    cv2.polylines(img, [poly], True, trim, rng.randint(3, 9), cv2.LINE_AA)
    cv2.polylines(mask, [poly], True, 255, 9, cv2.LINE_AA)
    return _u8(cv2.cvtColor(img, cv2.COLOR_RGB2BGR)), mask


def vehicle_sprite(rng: random.Random, kind: str, fonts: Sequence[Path]) -> Sprite:
    """A sprite of `kind` (one of KINDS)."""
    if kind == "badge":
        return _badge(rng, fonts)
    if kind == "lightbox":
        return _lightbox(rng, fonts)
    if kind == "window":
        return _window(rng)
    raise ValueError(f"unknown vehicle negative {kind!r}; known: {', '.join(KINDS)}")


def pick_kind(rng: random.Random) -> str:
    return rng.choices(KINDS, weights=KIND_WEIGHTS)[0]
