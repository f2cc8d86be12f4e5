"""Lettering that is not a plate, drawn as sprites for the synthetic detector scenes (unlabelled negatives).

The real false alarms of the detector on the held-out dashcam videos are bus and taxi lettering, route numbers,
a bus company's badge and other words on vehicles; these are drawn here in quantity: bus and tram sides with a
company name and fleet number, LED / dot-matrix and painted route numbers, company names and phone numbers on
vans and trucks, shop signs, badges and emblems, street and house-number signs, and plate-shaped boards that carry
words (taxi roof signs, dealers' plate inserts). Every sprite is a pure function of the `random.Random` it is given
and of the fonts passed in; none carries a registration-like string on a plate-coloured ground.

A sprite is (BGR image, mask or None for the whole rectangle); `detector_synth` warps and pastes it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw

from models.training.synthetic_plates import _font, _paste_text

Bgr = npt.NDArray[np.uint8]
Rgb = tuple[int, int, int]
Sprite = tuple[Bgr, Bgr | None]

COMPANIES = (
    "STB", "RATB", "CITY BUS", "METROBUS", "TRANSURBAN", "EXPRESS LINES", "AUTOGARA", "EUROLINES", "FLIXBUS",
    "INTERCITY", "REGIO TRANS", "TURSIB", "CTP IASI", "RATUC", "STPT", "TRANSBUS", "MEGA TRAVEL", "ATLASSIB",
    "DHL", "FAN COURIER", "CARGUS", "SAMEDAY", "UPS", "FEDEX", "KAUFLAND", "LIDL", "MEGA IMAGE", "PROFI",
    "DACIA SERVICE", "AUTO SERVICE", "INSTALATII", "CONSTRUCT", "ELECTRO", "FRIGO TRANS", "CATERING", "PIZZA HUT",
    "STAR TAXI", "SPEED TAXI", "MERIDIAN", "CRIS TAXI", "YELLOW CAB", "CITY TAXI", "UBER", "BOLT", "ROMPETROL",
    "YOUR ELECTRIC DRIVE", "POLITIA LOCALA", "AMBULANTA", "SALUBRIS", "APA NOVA", "ENEL", "DIGI", "ORANGE",
)  # fmt: skip
SHOP_WORDS = (
    "FARMACIE", "PHARMACY", "MINI MARKET", "SUPERMARKET", "BRUTARIE", "BAKERY", "PIZZERIA", "NON STOP", "FLORARIE",
    "CASA DE SCHIMB", "EXCHANGE", "BANCA", "HOTEL", "RESTAURANT", "BISTRO", "CAFENEA", "COFFEE", "OPTICA",
    "VULCANIZARE", "SPALATORIE AUTO", "CAR WASH", "ANVELOPE", "MAGAZIN", "LIBRARIE", "SECOND HAND", "OUTLET",
    "KEBAB", "SHAORMA", "FAST FOOD", "PET SHOP", "DENTAL", "CLINICA", "MOBILA", "BIJUTERIE", "LOMBARD", "BAR",
)  # fmt: skip
STREET_WORDS = (
    "Str. Lipscani", "Bd. Unirii", "Calea Victoriei", "Sos. Kiseleff", "Str. Mihai Eminescu", "Bd. Magheru",
    "Piata Romana", "Str. Academiei", "MAIN ST", "OAK AVE", "ELM ST", "3RD AVE", "BROADWAY", "Hauptstrasse",
    "Bahnhofstr.", "Rue de la Paix", "Via Roma", "Calle Mayor", "Str. Doamnei", "Aleea Teilor",
)  # fmt: skip
PLATE_LIKE_WORDS = (
    "TAXI", "TAXI", "TAXI", "FOR SALE", "DE VANZARE", "JUST MARRIED", "AUTO LEADER", "YOUR DEALER", "AUTO ITALIA",
    "PORSCHE INTER", "TOYOTA CENTER", "PROBA", "SCOALA", "SCHOOL BUS", "DRIVING SCHOOL", "LEARNER", "SERVICE",
    "PRIVATE", "STAFF ONLY", "BABY ON BOARD", "DIPLOMAT", "ESCORT", "EXPORT", "CAR SHOP", "AUTOMOBILE",
)  # fmt: skip
DESTINATIONS = (
    "GARA DE NORD", "PIATA UNIRII", "OBOR", "DEPOU", "AEROPORT", "CENTRU", "PIPERA", "BERCENI", "MILITARI",
    "UNIVERSITATE", "NOT IN SERVICE", "DOWNTOWN", "STATION", "ZENTRUM", "HBF", "GARE",
)  # fmt: skip

KINDS = (
    "bus_side", "route_led", "route_painted", "van", "shop_sign", "emblem", "street_sign", "plate_like",
)  # fmt: skip
KIND_WEIGHTS = (0.16, 0.14, 0.1, 0.16, 0.12, 0.12, 0.1, 0.1)
# Widths of each kind as a fraction of the scene's width (log-uniform between them): bus sides are big, badges small.
KIND_WIDTHS = {
    "bus_side": (0.2, 0.95),
    "route_led": (0.04, 0.4),
    "route_painted": (0.02, 0.12),
    "van": (0.08, 0.6),
    "shop_sign": (0.08, 0.6),
    "emblem": (0.02, 0.12),
    "street_sign": (0.03, 0.25),
    "plate_like": (0.025, 0.3),
}

_LIVERY: tuple[Rgb, ...] = (
    (250, 250, 250), (245, 200, 20), (20, 90, 180), (200, 30, 30), (30, 130, 60), (240, 130, 20), (60, 60, 60),
    (200, 200, 205), (120, 20, 90), (20, 20, 20), (250, 230, 120),
)  # fmt: skip
_LED_INK: tuple[Rgb, ...] = ((255, 170, 20), (255, 140, 0), (120, 255, 60), (250, 250, 235), (255, 210, 90))


def _u8(array: object) -> Bgr:
    return np.asarray(array, dtype=np.uint8)


def _bgr(img: Image.Image) -> Bgr:
    return _u8(cv2.cvtColor(np.asarray(img.convert("RGB")), cv2.COLOR_RGB2BGR))


def _contrast(rng: random.Random, bg: Rgb) -> Rgb:
    """An ink that reads on `bg`: dark on light grounds, light on dark ones, sometimes a strong colour."""
    light = sum(bg) / 3 > 140
    if rng.random() < 0.25:
        return rng.choice(((200, 20, 20), (20, 60, 170), (20, 120, 50))) if light else (250, 210, 30)
    shade = rng.randint(0, 50) if light else rng.randint(215, 255)
    return (shade, shade, shade)


def phone_number(rng: random.Random) -> str:
    """A phone number as vans and taxis show it (RO, US, EU, short taxi numbers)."""
    form = rng.randrange(5)
    if form == 0:
        return f"07{rng.randint(10, 99)} {rng.randint(100, 999)} {rng.randint(100, 999)}"
    if form == 1:
        return f"({rng.randint(200, 989)}) {rng.randint(200, 999)}-{rng.randint(1000, 9999)}"
    if form == 2:
        return f"+40 21 {rng.randint(100, 999)} {rng.randint(1000, 9999)}"
    if form == 3:
        return f"021 {rng.randint(100, 999)} {rng.randint(10, 99)} {rng.randint(10, 99)}"
    return f"*{rng.randint(1000, 9999)}" if rng.random() < 0.5 else f"{rng.randint(9000, 9999)}"


def website(rng: random.Random, company: str) -> str:
    stem = "".join(c for c in company.lower() if c.isalnum())[:14] or "company"
    return f"www.{stem}.{rng.choice(('ro', 'com', 'eu', 'de'))}"


def route_number(rng: random.Random) -> str:
    """A bus, tram or night-line number: 1-3 digits, sometimes with a letter."""
    number = str(rng.choice((rng.randint(1, 99), rng.randint(100, 999))))
    shape = rng.random()
    if shape < 0.15:
        return f"N{number[:3]}"
    if shape < 0.25:
        return f"{number}{rng.choice('ABEM')}"
    return number


def _text_lines(
    img: Image.Image,
    lines: Sequence[str],
    fonts: Sequence[Path],
    ink: Rgb,
    box: tuple[int, int, int, int],
    rng: random.Random,
) -> None:
    """`lines` stacked in `box`, each stretched to a width proportional to its length (letters keep their shape)."""
    x0, y0, x1, y1 = box
    if not lines:
        return
    row = (y1 - y0) / len(lines)
    longest = max(len(line) for line in lines)
    for i, line in enumerate(lines):
        font = _font(rng.choice(list(fonts)), 64)
        width = max(8, round((x1 - x0) * rng.uniform(0.75, 1.0) * len(line) / longest))
        left = x0 + rng.randint(0, max(0, (x1 - x0) - width)) if rng.random() < 0.5 else x0 + ((x1 - x0) - width) // 2
        top = round(y0 + i * row + row * 0.1)
        _paste_text(img, line, font, ink, (left, top, left + width, round(top + row * 0.8)))


def _bus_side(rng: random.Random, fonts: Sequence[Path]) -> Sprite:
    """A bus or tram side: livery, a stripe, windows, the company name, a fleet number, maybe a phone or web site."""
    h = 160
    w = round(h * rng.uniform(2.5, 6.0))
    livery = rng.choice(_LIVERY)
    img = Image.new("RGB", (w, h), livery)
    draw = ImageDraw.Draw(img)
    if rng.random() < 0.6:  # windows along the top
        glass = (rng.randint(10, 60),) * 3
        step = rng.randint(90, 160)
        for x in range(rng.randint(0, 30), w - 40, step):
            draw.rectangle((x, 4, x + step - rng.randint(8, 18), round(h * 0.38)), fill=(glass[0], glass[1], glass[2]))
    if rng.random() < 0.6:  # a livery stripe
        stripe = rng.choice(_LIVERY)
        y = rng.randint(round(h * 0.4), round(h * 0.8))
        draw.rectangle((0, y, w, y + rng.randint(8, 30)), fill=stripe)
    ink = _contrast(rng, livery)
    company = rng.choice(COMPANIES)
    lines = [company]
    if rng.random() < 0.5:
        lines.append(website(rng, company) if rng.random() < 0.5 else phone_number(rng))
    top = round(h * 0.45)
    name_w = round(w * rng.uniform(0.3, 0.7))
    x = rng.randint(10, max(11, w - name_w - 10))
    _text_lines(img, lines, fonts, ink, (x, top, x + name_w, h - 10), rng)
    if rng.random() < 0.6:  # fleet number near a door
        fleet = str(rng.randint(100, 9999))
        fx = rng.randint(5, max(6, w - 80))
        _paste_text(img, fleet, _font(rng.choice(list(fonts)), 64), ink, (fx, h - 40, fx + 18 * len(fleet), h - 8))
    return _bgr(img), None


def _dot_matrix(text: str, rng: random.Random, fonts: Sequence[Path], rows: int) -> npt.NDArray[np.bool_]:
    """`text` rasterised onto a grid `rows` dots high: what an LED destination display lights."""
    font = _font(rng.choice(list(fonts)), 48)
    left, top, right, bottom = font.getbbox(text)
    img = Image.new("L", (int(right - left) + 4, int(bottom - top) + 4), 0)
    ImageDraw.Draw(img).text((2 - left, 2 - top), text, font=font, fill=255)
    cols = max(3, round(img.width * rows / img.height))
    small = np.asarray(img.resize((cols, rows), Image.Resampling.BOX))
    return np.asarray(small > 90)


def _route_led(rng: random.Random, fonts: Sequence[Path]) -> Sprite:
    """An LED / dot-matrix display: the route number, often with a destination, amber, green or white dots."""
    text = route_number(rng)
    if rng.random() < 0.6:
        text = f"{text}  {rng.choice(DESTINATIONS)}"
    rows = rng.randint(7, 16)
    grid = _dot_matrix(text, rng, fonts, rows)
    pad = 2
    lit = np.pad(grid, pad)
    cell = rng.randint(5, 8)
    yy, xx = np.mgrid[:cell, :cell]
    dot = ((yy - (cell - 1) / 2) ** 2 + (xx - (cell - 1) / 2) ** 2) <= (cell * 0.42) ** 2
    on = np.kron(lit, dot).astype(bool)
    off = np.kron(~lit, dot).astype(bool)
    ink = np.array(rng.choice(_LED_INK)[::-1], np.float32)  # BGR
    bg = rng.randint(5, 35)
    out = np.full((*on.shape, 3), bg, np.float32)
    out[off] = bg + rng.randint(5, 30)
    out[on] = ink
    glow = cv2.GaussianBlur(out, (0, 0), cell * 0.6)
    out = np.clip(out + glow * rng.uniform(0.2, 0.6), 0, 255)
    return _u8(out), None


def _route_painted(rng: random.Random, fonts: Sequence[Path]) -> Sprite:
    """A painted or printed route number: a square, disc or rounded board in a bus window or on a stop."""
    number = route_number(rng)
    bg = rng.choice(((250, 250, 250), (245, 200, 20), (20, 90, 180), (200, 30, 30), (30, 130, 60), (20, 20, 20)))
    ink = _contrast(rng, bg)
    h = 120
    w = round(h * rng.uniform(0.9, 1.6)) if len(number) <= 2 else round(h * rng.uniform(1.3, 2.2))
    img = Image.new("RGB", (w, h), (0, 0, 0))
    mask = Image.new("L", (w, h), 0)
    shape = rng.random()
    for target, fill in ((ImageDraw.Draw(img), bg), (ImageDraw.Draw(mask), 255)):
        if shape < 0.35:
            target.ellipse((0, 0, w - 1, h - 1), fill=fill)
        elif shape < 0.7:
            target.rounded_rectangle((0, 0, w - 1, h - 1), radius=h // 5, fill=fill)
        else:
            target.rectangle((0, 0, w - 1, h - 1), fill=fill)
    _paste_text(img, number, _font(rng.choice(list(fonts)), 96), ink, (w // 6, h // 6, w - w // 6, h - h // 6))
    return _bgr(img), _u8(np.asarray(mask))


def _van(rng: random.Random, fonts: Sequence[Path]) -> Sprite:
    """A van's or truck's side or back: a company name, a phone number, maybe a web site and a service line."""
    h = 160
    w = round(h * rng.uniform(1.6, 4.0))
    body = rng.choice(_LIVERY)
    img = Image.new("RGB", (w, h), body)
    company = rng.choice(COMPANIES)
    lines = [company, phone_number(rng)]
    if rng.random() < 0.4:
        lines.append(website(rng, company))
    if rng.random() < 0.3:
        lines.insert(1, rng.choice(SHOP_WORDS))
    if rng.random() < 0.3:
        rng.shuffle(lines)
    _text_lines(img, lines, fonts, _contrast(rng, body), (10, 10, w - 10, h - 10), rng)
    return _bgr(img), None


def _shop_sign(rng: random.Random, fonts: Sequence[Path]) -> Sprite:
    """A shop's fascia board or light box with its name, sometimes with opening hours or a phone number."""
    h = 100
    word = rng.choice(SHOP_WORDS)
    w = round(h * max(2.5, len(word) * rng.uniform(0.5, 0.9)))
    bg = rng.choice((*_LIVERY, (30, 160, 70), (0, 120, 200)))
    img = Image.new("RGB", (w, h), bg)
    lines = [word]
    if rng.random() < 0.3:
        lines.append(rng.choice(("NON STOP", "24/24", "08-22", phone_number(rng), "OPEN")))
    _text_lines(img, lines, fonts, _contrast(rng, bg), (8, 8, w - 8, h - 8), rng)
    if rng.random() < 0.5:
        ImageDraw.Draw(img).rectangle((1, 1, w - 2, h - 2), outline=_contrast(rng, bg), width=rng.randint(2, 6))
    return _bgr(img), None


def _acronym(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return rng.choice(("STB", "RATB", "BMW", "VW", "KIA", "MAN", "DAF", "IVECO", "OPEL", "SEAT", "MINI", "AUDI"))
    return "".join(rng.choice("ABCDEFGHIJKLMNOPRSTUVZ") for _ in range(rng.randint(2, 4)))


def _emblem(rng: random.Random, fonts: Sequence[Path]) -> Sprite:
    """A company's badge or a maker's emblem: a disc, oval, shield or lozenge carrying a few letters."""
    word = _acronym(rng)
    h = 120
    w = round(h * rng.uniform(1.0, 2.2))
    bg = rng.choice(((200, 200, 205), (20, 90, 180), (200, 30, 30), (250, 250, 250), (30, 30, 30), (245, 200, 20)))
    rim = rng.choice(((230, 230, 235), (160, 160, 170), (250, 210, 40)))
    img = Image.new("RGB", (w, h), (0, 0, 0))
    mask = Image.new("L", (w, h), 0)
    shape = rng.randrange(4)
    for target, fill, outline in ((ImageDraw.Draw(img), bg, rim), (ImageDraw.Draw(mask), 255, 255)):
        if shape == 0:
            target.ellipse((0, 0, w - 1, h - 1), fill=fill, outline=outline, width=8)
        elif shape == 1:
            target.polygon([(0, 0), (w - 1, 0), (w - 1, h * 0.6), (w // 2, h - 1), (0, h * 0.6)], fill=fill)
        elif shape == 2:
            target.polygon([(w // 2, 0), (w - 1, h // 2), (w // 2, h - 1), (0, h // 2)], fill=fill)
        else:
            target.rounded_rectangle((0, 0, w - 1, h - 1), radius=h // 3, fill=fill, outline=outline, width=6)
    ink = _contrast(rng, bg)
    _paste_text(img, word, _font(rng.choice(list(fonts)), 96), ink, (w // 5, h // 4, w - w // 5, h - h // 3))
    return _bgr(img), _u8(np.asarray(mask))


def _street_sign(rng: random.Random, fonts: Sequence[Path]) -> Sprite:
    """A street-name plate (blue, green or white, with the house numbers) or a house-number plate."""
    bg, ink = rng.choice((((20, 60, 160), (250, 250, 250)), ((20, 110, 50), (250, 250, 250)),
                          ((250, 250, 250), (20, 20, 20)), ((250, 250, 250), (20, 60, 160))))  # fmt: skip
    if rng.random() < 0.35:  # a house number: a small plate-shaped board with a number, the classic look-alike
        text = f"{rng.randint(1, 250)}{rng.choice(('', '', 'A', 'B', 'bis'))}"
        h = 100
        w = round(h * rng.uniform(1.2, 2.2))
        lines = [text]
    else:
        lines = [rng.choice(STREET_WORDS)]
        if rng.random() < 0.5:
            lines.append(f"{rng.randint(1, 120)} - {rng.randint(121, 300)}" if rng.random() < 0.5 else "Sector 1")
        h = 60 * len(lines) + 20
        w = round(60 * max(3.0, len(lines[0]) * 0.55))
    img = Image.new("RGB", (w, h), bg)
    ImageDraw.Draw(img).rectangle((3, 3, w - 4, h - 4), outline=ink, width=rng.randint(2, 5))
    _text_lines(img, lines, fonts, ink, (12, 10, w - 12, h - 10), rng)
    return _bgr(img), None


def _plate_like(rng: random.Random, fonts: Sequence[Path]) -> Sprite:
    """A plate-shaped board with words: a taxi roof sign, a dealer's insert, a 'for sale' card, a school sign."""
    word = rng.choice(PLATE_LIKE_WORDS)
    h = 100
    w = round(h * rng.uniform(2.2, 4.7))
    if word == "TAXI":
        bg = rng.choice(((250, 210, 20), (250, 250, 250), (20, 20, 20), (250, 120, 20)))
    else:
        bg = rng.choice(((250, 250, 250), (20, 20, 20), (245, 200, 20), (200, 30, 30), (20, 90, 180), (90, 90, 95)))
    ink = _contrast(rng, bg)
    img = Image.new("RGB", (w, h), bg)
    draw = ImageDraw.Draw(img)
    if rng.random() < 0.6:
        draw.rectangle((2, 2, w - 3, h - 3), outline=ink, width=rng.randint(2, 6))
    lines = [word]
    if rng.random() < 0.45:
        lines.append(phone_number(rng) if word in ("TAXI", "FOR SALE", "DE VANZARE") else rng.choice(COMPANIES))
    if word == "TAXI" and rng.random() < 0.5:  # checker band of taxi signs
        size = h // 8
        for k, x in enumerate(range(0, w, size)):
            draw.rectangle((x, h - size - 2, x + size, h - 2), fill=(20, 20, 20) if k % 2 else (250, 250, 250))
    _text_lines(img, lines, fonts, ink, (10, 8, w - 10, h - 12), rng)
    mask = None
    if rng.random() < 0.3:  # a roof sign's rounded top
        m = Image.new("L", (w, h), 0)
        ImageDraw.Draw(m).rounded_rectangle((0, 0, w - 1, h - 1), radius=h // 3, fill=255)
        mask = _u8(np.asarray(m))
    return _bgr(img), mask


_DRAW: dict[str, Callable[[random.Random, Sequence[Path]], Sprite]] = {
    "bus_side": _bus_side,
    "route_led": _route_led,
    "route_painted": _route_painted,
    "van": _van,
    "shop_sign": _shop_sign,
    "emblem": _emblem,
    "street_sign": _street_sign,
    "plate_like": _plate_like,
}


def lettering_sprite(rng: random.Random, kind: str, fonts: Sequence[Path]) -> Sprite:
    """A front-on sprite of lettering of `kind` (one of KINDS) and its mask (None: the whole rectangle)."""
    if kind not in _DRAW:
        raise ValueError(f"unknown lettering kind {kind!r}; expected one of {KINDS}")
    if not fonts:
        raise ValueError("no fonts given")
    return _DRAW[kind](rng, fonts)


def pick_kind(rng: random.Random) -> str:
    return rng.choices(KINDS, weights=KIND_WEIGHTS)[0]


def degrade(rng: random.Random, sprite: Bgr, kind: str) -> Bgr:
    """`sprite` as the real false alarms look from a dashcam rather than crisp: soft (blur of 0.3-2 % of its
    width), low contrast (pulled 25-70 % towards its mean), hazy (blended towards a pale sky), unevenly lit or dirty
    (a smooth multiplicative shade), and for LED displays a wider glow. Size and mask are unchanged."""
    img = sprite.astype(np.float32)
    h, w = img.shape[:2]
    mean = img.reshape(-1, 3).mean(axis=0)
    img = mean + (img - mean) * (1.0 - rng.uniform(0.25, 0.7))
    if kind == "route_led":  # LED dots bloom at dusk and through a dirty windscreen
        bright = np.clip(img - img.mean(), 0, None)
        img = img + cv2.GaussianBlur(bright, (0, 0), max(1.0, w * rng.uniform(0.01, 0.04))) * rng.uniform(0.5, 1.5)
    sigma = w * rng.uniform(0.003, 0.02)
    if sigma >= 0.5:
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    shade = cv2.resize(
        np.asarray([[rng.uniform(0.7, 1.05) for _ in range(3)] for _ in range(2)], np.float32),
        (w, h),
        interpolation=cv2.INTER_LINEAR,
    )
    img = img * shade[:, :, None]
    haze = np.array([rng.randint(190, 235), rng.randint(185, 225), rng.randint(175, 215)], np.float32)  # BGR
    fog = rng.uniform(0.0, 0.45)
    return _u8(np.clip(img * (1 - fog) + haze * fog, 0, 255))
