"""The reader's data: split by plate, easyocr's input pipeline, the synthetic renderer and the training glue."""

from __future__ import annotations

import random
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from edge.types import Box
from models.training.reader_data import (
    IMG_HEIGHT,
    LabelledCrop,
    SyntheticCrops,
    collate,
    encode_targets,
    load_labels,
    network_input,
    split_by_plate,
    two_row_to_one,
)
from models.training.reader_train import ENGLISH_G2_CHARACTERS, ReaderTrainConfig, learning_rate
from models.training.synthetic_plates import LAYOUTS, SEALS, label_of, render_clean, render_plate
from platepatrol.plates import PLATE_ALPHABET


def _crops(plates: dict[str, int]) -> list[LabelledCrop]:
    return [LabelledCrop(Path(f"{text}_{i}.jpg"), text) for text, n in plates.items() for i in range(n)]


def test_split_keeps_every_plate_on_one_side() -> None:
    crops = _crops({f"ABC{n:04d}": 1 + n % 4 for n in range(200)})
    train, test = split_by_plate(crops, test_fraction=0.2, seed=0)
    assert {c.text for c in train}.isdisjoint({c.text for c in test})
    assert len(train) + len(test) == len(crops)
    assert len({c.text for c in test}) == 40


def test_split_is_reproducible_and_seeded() -> None:
    crops = _crops({f"XYZ{n:04d}": 2 for n in range(50)})
    assert split_by_plate(crops, 0.2, 1) == split_by_plate(crops, 0.2, 1)
    assert split_by_plate(crops, 0.2, 1)[1] != split_by_plate(crops, 0.2, 2)[1]


def test_split_of_nothing_is_empty() -> None:
    assert split_by_plate([], 0.2, 0) == ([], [])


def test_load_labels_normalises_text(tmp_path: Path) -> None:
    (tmp_path / "labels.csv").write_text("image,text\na.jpg,abc-1234\n", encoding="utf-8")
    assert load_labels(tmp_path) == [LabelledCrop(tmp_path / "images" / "a.jpg", "ABC1234")]


@pytest.mark.parametrize(("h", "w", "width"), [(80, 200, 192), (32, 100, 256), (50, 50, 64), (100, 40, 64)])
def test_network_input_is_height_64_padded_to_a_multiple(h: int, w: int, width: int) -> None:
    gray = np.random.default_rng(0).integers(0, 256, (h, w), dtype=np.uint8)
    tensor = network_input(gray)
    assert tensor.shape == (1, IMG_HEIGHT, width)
    assert tensor.dtype == np.float32
    assert tensor.min() >= -1.0 and tensor.max() <= 1.0


def test_padding_repeats_the_last_column() -> None:
    gray = np.tile(np.arange(100, dtype=np.uint8), (40, 1))  # 2.5:1 -> 160 px, padded to 192
    tensor = network_input(gray)[0]
    last = tensor[:, 159]
    assert np.array_equal(tensor[:, 160:], np.repeat(last[:, None], 32, axis=1))


def test_two_rows_become_one_twice_as_wide() -> None:
    gray = np.zeros((60, 80), np.uint8)
    gray[30:] = 255
    joined = two_row_to_one(gray)
    assert joined.shape == (30, 160)
    assert joined[:, :80].max() == 0 and joined[:, 80:].min() == 255


@pytest.mark.parametrize("layout", LAYOUTS)
def test_renderer_is_deterministic_per_seed(layout: str) -> None:
    a, b = render_plate(7, layout), render_plate(7, layout)
    assert a.text == b.text and np.array_equal(a.image, b.image)
    assert a.layout == layout and a.image.ndim == 3 and a.image.shape[2] == 3
    assert set(a.text) <= set(PLATE_ALPHABET) and 5 <= len(a.text) <= 8


def test_renderer_differs_between_seeds() -> None:
    assert render_plate(1, "us").text != render_plate(2, "us").text


@pytest.mark.parametrize(
    ("layout", "rows", "text"),
    [
        ("br_old", ("ABC-1234",), "ABC1234"),
        ("br_mercosul", ("ABC1D23",), "ABC1D23"),
        ("ar_mercosur", ("AB 123 CD",), "AB123CD"),
        ("two_row", ("AB", "1234"), "AB1234"),
    ],
)
def test_requested_text_is_the_label(layout: str, rows: tuple[str, ...], text: str) -> None:
    assert render_plate(3, layout, rows).text == text
    assert label_of(rows) == text
    assert render_clean(3, layout, rows).shape[0] > 100


def test_unknown_layout_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown layout"):
        render_plate(0, "moon")


def test_synthetic_batches_have_ctc_targets() -> None:
    images, texts = collate([SyntheticCrops(length=4, seed=0)[i] for i in range(4)])
    assert images.shape[:3] == (4, 1, IMG_HEIGHT) and images.shape[3] % IMG_HEIGHT == 0
    targets, lengths = encode_targets(texts)
    assert int(lengths.sum()) == targets.numel() and int(targets.min()) >= 1
    assert torch.equal(encode_targets(["A0"])[0], torch.tensor([1, 27]))


def test_every_plate_character_is_in_english_g2() -> None:
    assert all(ch in ENGLISH_G2_CHARACTERS for ch in PLATE_ALPHABET)


def test_learning_rate_warms_up_then_decays() -> None:
    config = ReaderTrainConfig(br_crops=Path("x"), steps=100, warmup_steps=10, lr=1e-3, min_lr_ratio=0.1)
    assert learning_rate(config, 0) == pytest.approx(1e-4)
    assert learning_rate(config, 10) == pytest.approx(1e-3)
    assert learning_rate(config, 100) == pytest.approx(1e-4)


def test_config_refuses_unknown_keys() -> None:
    with pytest.raises(ValueError, match="extra"):
        ReaderTrainConfig.model_validate({"br_crops": "x", "stepz": 3})


def test_rows_are_set_with_the_plates_spacing() -> None:
    from models.training.synthetic_plates import _font, _row_mask, _Spacing, reader_fonts

    font = _font(reader_fonts()[0], 96)
    tight = _Spacing(gap=0.0, group_gap=0.1, monospace=False, condense=1.0, weight=0)
    loose = _Spacing(gap=0.2, group_gap=1.0, monospace=True, condense=1.0, weight=0)
    a, b = _row_mask("AB 123", font, tight), _row_mask("AB 123", font, loose)
    assert a.height == b.height and b.width > a.width + 96  # the group gap alone adds most of a glyph height
    assert max(a.getdata()) == 255  # ink
    bold = _row_mask("AB-123", font, _Spacing(gap=0.1, group_gap=0.3, monospace=False, condense=0.7, weight=2))
    thin = _row_mask("AB-123", font, _Spacing(gap=0.1, group_gap=0.3, monospace=False, condense=0.7, weight=-1))
    assert sum(bold.getdata()) > sum(thin.getdata())


def test_reader_fonts_extend_the_shared_fonts() -> None:
    from models.training.synthetic_plates import font_paths, reader_fonts

    fonts = reader_fonts()
    assert fonts[: len(font_paths())] == font_paths()  # the detector's scenes keep their fonts
    assert all(path.is_file() for path in fonts)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_rendered_crops_are_usable_from_tight_to_loose(layout: str) -> None:
    for seed in range(25):
        plate = render_plate(seed, layout)
        assert plate.image.ndim == 3 and plate.image.shape[0] >= 8 and plate.image.shape[1] >= 8
        assert plate.text.isalnum() and plate.text == plate.text.upper()


def test_v2_config_keeps_v1s_held_out_plates() -> None:
    from models.training.reader_train import load_train_config

    v1 = load_train_config(Path("models/reader/train.yaml"))
    v2 = load_train_config(Path("models/reader/train_v2.yaml"))
    assert (v2.br_crops, v2.test_fraction, v2.split_seed) == (v1.br_crops, v1.test_fraction, v1.split_seed)
    assert v2.keep_evaluated and v2.init_weights is not None and v2.run_dir != v1.run_dir


def test_a_kept_step_exports_as_an_easyocr_network(tmp_path: Path) -> None:
    from models.training.reader_train import build_network, export_step

    config = ReaderTrainConfig(br_crops=Path("x"), runs_dir=tmp_path / "runs", output_dir=tmp_path / "out")
    config.run_dir.mkdir(parents=True)
    network = build_network()
    torch.save({"network": network.state_dict(), "step": 300}, config.step_checkpoint(300))
    weights = export_step(config, 300)
    state = torch.load(weights, map_location="cpu", weights_only=True)
    assert weights.parent == tmp_path / "out" and all(key.startswith("module.") for key in state)
    assert (tmp_path / "out" / "plate_reader.yaml").exists() and (tmp_path / "out" / "plate_reader.py").exists()


def test_wrong_reads_are_listed_in_order() -> None:
    from edge.types import Reading
    from models.training.reader_eval import wrong_reads

    readings = [Reading("ABC1234", 0.9), None, Reading("XYZ9877", 0.4)]
    wrong = wrong_reads(["a.jpg", "b.jpg", "c.jpg"], readings, ["ABC1234", "DEF5678", "XYZ9876"])
    assert [(w.name, w.read) for w in wrong] == [("b.jpg", ""), ("c.jpg", "XYZ9877")]
    assert wrong[0].line() == "b.jpg\tDEF5678\t-\t0.000"


def _labelled_folder(tmp_path: Path, plates: dict[str, int]) -> Path:
    rows = [f"{text}_{i}.jpg,{text}" for text, n in plates.items() for i in range(n)]
    (tmp_path / "labels.csv").write_text("image,text\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return tmp_path


def test_validation_plates_come_from_the_training_plates_only(tmp_path: Path) -> None:
    from models.training.reader_train import split_crops

    folder = _labelled_folder(tmp_path, {f"ABC{n:04d}": 1 + n % 3 for n in range(200)})
    without = split_crops(ReaderTrainConfig(br_crops=folder))
    train, val, test = split_crops(ReaderTrainConfig(br_crops=folder, val_fraction=0.15, val_seed=3))
    assert without[1] == [] and test == without[2]  # the held-out plates do not depend on the validation split
    plates = [{c.text for c in part} for part in (train, val, test)]
    assert plates[0].isdisjoint(plates[1]) and plates[1].isdisjoint(plates[2]) and plates[0].isdisjoint(plates[2])
    assert sorted(train + val, key=str) == sorted(without[0], key=str)
    assert len(plates[1]) == round(160 * 0.15)
    assert split_crops(ReaderTrainConfig(br_crops=folder, val_fraction=0.15, val_seed=4))[1] != val


def test_plates_in_full_images_join_the_training_crops_only(tmp_path: Path) -> None:
    import cv2

    from models.training.reader_data import RealCrops, load_plate_boxes
    from models.training.reader_train import PlateBoxes, split_crops

    (tmp_path / "br").mkdir()
    folder = _labelled_folder(tmp_path / "br", {f"ABC{n:04d}": 2 for n in range(40)})
    (tmp_path / "frames").mkdir()
    frame = np.full((120, 200, 3), 40, np.uint8)
    frame[50:70, 60:140] = 250  # the plate: white, in a dark scene
    cv2.imwrite(str(tmp_path / "frames" / "f1.png"), frame)
    labels = tmp_path / "video.txt"
    labels.write_text("# one video\nf1.png 60 50 80 20 B 121 PHD\nf1.png 0 0 30 10 ?\n")
    extra = PlateBoxes(labels=labels, images=tmp_path / "frames")
    without = split_crops(ReaderTrainConfig(br_crops=folder, val_fraction=0.2))
    train, val, test = split_crops(ReaderTrainConfig(br_crops=folder, val_fraction=0.2, extra_real=(extra,)))
    assert (val, test) == without[1:] and train[:-1] == without[0]  # never in the validation or held-out plates
    assert train[-1] == LabelledCrop(tmp_path / "frames" / "f1.png", "B121PHD", Box(60, 50, 140, 70))
    (gray, text) = RealCrops([train[-1]])[0]
    assert text == "B121PHD" and gray.ndim == 2
    assert gray.shape[1] > 80 and gray.mean() > 150  # the plate with the car's small margins, not the whole frame
    labels.write_text("f1.png 0 0 30 10 ?\n")
    with pytest.raises(ValueError, match="no 'file x y w h TEXT' lines"):
        load_plate_boxes(labels, tmp_path / "frames")
    with pytest.raises(ValueError, match="extra_real"):
        ReaderTrainConfig(br_crops=folder, extra_real=({"labels": labels, "images": tmp_path, "split": 1},))


@pytest.mark.parametrize("fraction", [-0.1, 1.0, 1.5])
def test_validation_fraction_is_checked(fraction: float) -> None:
    with pytest.raises(ValueError, match="val_fraction"):
        ReaderTrainConfig(br_crops=Path("x"), val_fraction=fraction)


def test_v3_config_validates_on_training_plates_and_keeps_the_held_out_plates() -> None:
    from models.training.reader_train import load_train_config

    v2 = load_train_config(Path("models/reader/train_v2.yaml"))
    v3 = load_train_config(Path("models/reader/train_v3.yaml"))
    assert (v3.br_crops, v3.test_fraction, v3.split_seed) == (v2.br_crops, v2.test_fraction, v2.split_seed)
    assert 0 < v3.val_fraction < 0.5 and v3.keep_evaluated and v3.run_dir not in (v2.run_dir,)
    assert v3.output_dir != Path("models/reader")  # exported beside the run; copied only if it wins


def test_synthetic_layout_weights_draw_layouts_from_the_seed() -> None:
    from models.training.reader_data import check_layout_weights

    weighted = SyntheticCrops(length=200, seed=7, layout_weights={"ar_old": 1.0, "br_old": 0.0, "eu": 1.0})
    layouts = [weighted.layout_of(i) for i in range(200)]
    assert set(layouts) == {"ar_old", "eu"}  # a weight of 0 is never drawn
    assert layouts == [weighted.layout_of(i) for i in range(200)]  # reproducible
    assert SyntheticCrops(length=4, seed=7).layout_of(0) is None  # the renderer's own choice
    for bad, complaint in (({"moon": 1.0}, "unknown layout"), ({"eu": 0.0}, "at least one"), ({"eu": -1.0}, ">= 0")):
        with pytest.raises(ValueError, match=complaint):
            check_layout_weights(bad)


def test_train_config_refuses_unknown_layouts(tmp_path: Path) -> None:
    from pydantic import ValidationError

    from models.training.reader_train import load_train_config

    config = tmp_path / "t.yaml"
    config.write_text("br_crops: x\nsynthetic_layouts: {moon: 1}\n")
    with pytest.raises(ValidationError, match="unknown layout"):
        load_train_config(config)
    v4 = load_train_config(Path(__file__).resolve().parents[2] / "models" / "reader" / "train_v4.yaml")
    assert v4.synthetic_layouts is not None and sum(v4.synthetic_layouts.values()) == pytest.approx(1.0)


def test_synthetic_crops_take_a_renderer() -> None:
    weights = {"ar_old": 1.0}
    one, two = SyntheticCrops(2, 5, weights), SyntheticCrops(2, 5, weights, renderer=2)
    assert one[0][1] == two[0][1] and not np.array_equal(one[0][0], two[0][0])
    with pytest.raises(ValueError, match="renderer"):
        SyntheticCrops(2, 5, weights, renderer=9)


def test_train_config_checks_the_renderer_and_watches_rendered_argentine_crops() -> None:
    from models.training.reader_train import synthetic_validation

    with pytest.raises(ValueError, match="renderer"):
        ReaderTrainConfig(br_crops=Path("x"), synthetic_renderer=7)
    assert synthetic_validation(ReaderTrainConfig(br_crops=Path("x"))) is None
    watched = synthetic_validation(ReaderTrainConfig(br_crops=Path("x"), synthetic_renderer=2, val_synthetic=30))
    assert watched is not None and len(watched) == 30
    assert {watched.layout_of(i) for i in range(30)} == {"ar_old", "ar_mercosur"}


def test_v5_config_changes_only_the_renderer_and_the_watched_sets_against_v4() -> None:
    from models.training.reader_train import load_train_config

    v4 = load_train_config(Path("models/reader/train_v4.yaml"))
    v5 = load_train_config(Path("models/reader/train_v5.yaml"))
    assert (v5.synthetic_renderer, v4.synthetic_renderer) == (2, 1) and v5.val_synthetic > 0
    same = ("init_weights", "test_fraction", "split_seed", "val_fraction", "val_seed", "real_fraction", "lr")
    assert all(getattr(v4, key) == getattr(v5, key) for key in same)
    assert v5.synthetic_layouts == v4.synthetic_layouts and v5.run_dir != v4.run_dir


def test_synthetic_eval_set_takes_a_layout_and_a_renderer() -> None:
    from models.training.reader_eval import synthetic_set

    images, texts, seeds = synthetic_set(3, 40, layout="ar_old", renderer=2)
    assert seeds == [40, 41, 42]
    assert texts == [render_plate(40 + i, "ar_old", renderer=2).text for i in range(3)]
    assert all(len(t) == 6 for t in texts)
    assert all(np.array_equal(img[..., 0], img[..., 2]) for img in images)  # renderer 2's Argentine crops are grey


def test_synthetic_eval_set_can_leave_out_renders_too_small_to_read() -> None:
    from models.training.reader_eval import synthetic_set

    heights = {seed: render_plate(seed, "us", renderer=4).image.shape[0] for seed in range(40, 60)}
    images, texts, seeds = synthetic_set(20, 40, layout="us", renderer=4, min_height=48)
    assert seeds == [seed for seed, height in heights.items() if height >= 48]
    assert 0 < len(seeds) < 20  # the renders come in both sizes, so the filter is tested both ways
    assert texts == [render_plate(seed, "us", renderer=4).text for seed in seeds]
    assert all(image.shape[0] >= 48 for image in images)


def test_two_readers_average_in_weight_space(tmp_path: Path) -> None:
    from models.training.reader_train import average_readers, build_network, export_reader, from_plate_reader

    torch.manual_seed(0)
    first = export_reader(build_network(), tmp_path / "a")
    second = export_reader(build_network(), tmp_path / "b")
    mean = from_plate_reader(average_readers(first, second, tmp_path / "mean")).state_dict()
    a, b = from_plate_reader(first).state_dict(), from_plate_reader(second).state_dict()
    key = "Prediction.weight"
    assert torch.allclose(mean[key], (a[key] + b[key]) / 2, atol=1e-3)  # stored as float16
    same = from_plate_reader(average_readers(first, second, tmp_path / "first", weight=0.0)).state_dict()
    assert torch.allclose(same[key], a[key])
    with pytest.raises(ValueError, match="weight"):
        average_readers(first, second, tmp_path / "bad", weight=1.5)


def test_synthetic_crops_read_motorcycle_plates_as_one_row() -> None:
    crops = SyntheticCrops(60, 0, {"ar_old": 1.0, "ar_mercosur": 1.0}, renderer=3)
    plates = [render_plate(i, crops.layout_of(i), renderer=3) for i in range(60)]
    motos = [i for i, plate in enumerate(plates) if plate.layout == "ar_moto"]
    assert motos
    for i in motos:
        gray, text = crops[i]
        assert text == plates[i].text
        assert gray.shape[1] > 1.5 * gray.shape[0]  # top half + bottom half side by side


def test_renderer_4_adds_european_variety_and_leaves_the_other_layouts_as_renderer_2() -> None:
    for layout in ("ar_old", "ar_mercosur", "br_old", "us"):  # not renderer 3's motorcycles: renderer 2 exactly
        assert np.array_equal(render_plate(7, layout, renderer=4).image, render_plate(7, layout, renderer=2).image)
    plates = [render_plate(i, "eu", renderer=4) for i in range(60)]
    german = [p.text for p in plates if re.fullmatch(r"[A-Z]{2,5}[0-9]{2,4}", p.text)]
    assert len(german) >= 10 and all(SEALS not in p.text and p.text.isalnum() for p in plates)
    changed = sum(not np.array_equal(p.image, render_plate(i, "eu", renderer=2).image) for i, p in enumerate(plates))
    assert changed >= 20  # seals or a right-hand band on about half of them
    assert render_plate(3, "eu", ("AB◉C 123",), renderer=4).text == "ABC123"


def test_renderer_5_turns_w_upright_on_plate_typefaces_and_is_otherwise_renderer_4() -> None:
    rows = {"eu": ("AWB 123",), "br_mercosul": ("ABW1C23",), "ar_old": ("AWB 123",), "ar_mercosur": ("AW 123 BC",)}
    for layout, printed in rows.items():
        turned = [
            not np.array_equal(render_plate(i, layout, printed, 4).image, render_plate(i, layout, printed, 5).image)
            for i in range(12)
        ]
        assert 2 <= sum(turned) <= 10  # about half of them
        assert render_plate(0, layout, printed, 5).text == render_plate(0, layout, printed, 4).text
    for layout in LAYOUTS:  # no W, or a layout whose typeface draws it slanted: renderer 4's plate exactly
        without_w = tuple(row.replace("W", "M") for row in render_plate(5, layout, renderer=4).text.split())
        for seed in range(6):
            same = render_plate(seed, layout, without_w, 5).image, render_plate(seed, layout, without_w, 4).image
            assert np.array_equal(*same)
    for seed in range(6):
        assert np.array_equal(
            render_plate(seed, "us", ("WWW1234",), 5).image, render_plate(seed, "us", ("WWW1234",), 4).image
        )


def test_the_upright_w_is_the_fonts_m_turned_over() -> None:
    from models.training.synthetic_plates import _font, _glyph, _upright_w, reader_fonts

    font = _font(reader_fonts()[0], 96)
    upright, slanted = np.asarray(_upright_w(font)), np.asarray(_glyph("W", font))
    assert np.array_equal(upright, np.asarray(_glyph("M", font))[::-1, ::-1])
    assert upright.shape != slanted.shape or not np.array_equal(upright, slanted)


def test_renderer_6_sets_registrations_in_plate_typefaces_too_and_7_only_in_the_held_out_one() -> None:
    from models.training.synthetic_plates import HELD_OUT_TYPEFACE, PLATE_TYPEFACES, registration_typefaces

    assert registration_typefaces(5) is None  # reader_fonts, as before
    names = [path.name for path in registration_typefaces(6) or ()]
    assert {name for _, name in PLATE_TYPEFACES} <= set(names) and HELD_OUT_TYPEFACE[1] not in names
    assert [path.name for path in registration_typefaces(7) or ()] == [HELD_OUT_TYPEFACE[1]]
    for layout in LAYOUTS:
        texts = {renderer: render_plate(11, layout, renderer=renderer).text for renderer in (5, 6, 7)}
        assert texts[5] == texts[6] == texts[7]  # the same plate, set in other typefaces
    differ = sum(
        not np.array_equal(render_plate(i, "us", renderer=6).image, render_plate(i, "us", renderer=7).image)
        for i in range(6)
    )
    assert differ == 6


def test_plate_typefaces_m_and_w_stand_on_upright_stems_with_a_short_middle() -> None:
    from models.training.synthetic_plates import (
        PLAIN_GLYPHS,
        GlyphStyle,
        _font,
        _glyph_style,
        _plate_m_w,
        draw_plate,
        reader_fonts,
    )

    font = _font(reader_fonts()[0], 96)
    w, m = np.asarray(_plate_m_w("W", font)) > 127, np.asarray(_plate_m_w("M", font)) > 127
    assert np.array_equal(m, w[::-1])
    height, width = w.shape
    apex = np.flatnonzero(w[:, width // 2 - 1 : width // 2 + 2].any(axis=1))[0]  # the middle's highest ink
    assert 0.35 * height < apex < 0.6 * height  # W's middle rises half-way only
    assert w[:, :3].all() and w[:, -3:].all()  # both stems upright, top to foot
    for layout in ("eu", "br_mercosul", "ar_old", "ar_mercosur"):  # the same plates as renderer 5 turns the W of
        styles = {renderer: [_glyph_style(renderer, seed, layout) for seed in range(20)] for renderer in (5, 6)}
        assert [s.upright_w for s in styles[5]] == [s.plate_m_w for s in styles[6]]
        assert 4 <= sum(s.plate_m_w for s in styles[6]) <= 16
    assert _glyph_style(6, 0, "us") == _glyph_style(6, 0, "br_old") == PLAIN_GLYPHS  # their typefaces slant W
    plates = [
        draw_plate(random.Random(3), "eu", ("MWM 123",), style=style)
        for style in (PLAIN_GLYPHS, GlyphStyle(plate_m_w=True))
    ]
    assert not np.array_equal(np.asarray(plates[0]), np.asarray(plates[1]))


def test_renderer_8_varies_the_plate_middle_plate_by_plate_and_is_otherwise_renderer_6() -> None:
    from models.training.synthetic_plates import (
        VARIED_MIDDLE_REACH,
        VARIED_MIDDLE_WEIGHT,
        _font,
        _glyph_style,
        _plate_m_w,
        reader_fonts,
    )

    styles = [_glyph_style(8, seed, "ar_old") for seed in range(60)]
    assert [s.plate_m_w for s in styles] == [_glyph_style(6, seed, "ar_old").plate_m_w for seed in range(60)]
    varied = [s for s in styles if s.plate_m_w]
    assert len({s.middle_reach for s in varied}) >= 4 and len({s.middle_weight for s in varied}) >= 4
    assert all(VARIED_MIDDLE_REACH[0] <= s.middle_reach <= VARIED_MIDDLE_REACH[1] for s in varied)
    assert all(VARIED_MIDDLE_WEIGHT[0] <= s.middle_weight <= VARIED_MIDDLE_WEIGHT[1] for s in varied)
    font = _font(reader_fonts()[0], 96)
    low, high = (np.asarray(_plate_m_w("W", font, reach)) > 127 for reach in (0.3, 0.6))
    middle = slice(low.shape[1] // 2 - 1, low.shape[1] // 2 + 2)
    assert np.flatnonzero(low[:, middle].any(axis=1))[0] > np.flatnonzero(high[:, middle].any(axis=1))[0] + 20
    for layout in ("us", "br_old", "two_row"):  # no plate M or W there: renderer 6's plate exactly
        assert np.array_equal(render_plate(4, layout, renderer=8).image, render_plate(4, layout, renderer=6).image)


def test_training_refuses_the_renderer_that_measures_the_held_out_typeface() -> None:
    values = {"br_crops": Path("x"), "init_weights": Path("w.pth")}
    assert ReaderTrainConfig.model_validate(values | {"synthetic_renderer": 6}).synthetic_renderer == 6
    with pytest.raises(ValueError, match="held-out typeface"):
        ReaderTrainConfig.model_validate(values | {"synthetic_renderer": 7})


def _distill_config(**changes: object) -> ReaderTrainConfig:
    values: dict[str, object] = {
        "br_crops": Path("x"),
        "init_weights": Path("w.pth"),
        "synthetic_layouts": {"ar_old": 0.5, "br_old": 0.5},
        "distill_weight": 0.05,
        "batch_size": 16,
        "real_fraction": 0.25,
    }
    return ReaderTrainConfig.model_validate(values | changes)


def test_distillation_needs_a_teacher_and_layout_weights() -> None:
    with pytest.raises(ValueError, match="distill_weight"):
        _distill_config(init_weights=None)
    with pytest.raises(ValueError, match="distill_weight"):
        _distill_config(synthetic_layouts=None)
    assert ReaderTrainConfig(br_crops=Path("x")).distill_weight == 0  # v1-v6: none


def test_distillation_covers_real_crops_and_non_argentine_renders_only() -> None:
    from models.training.reader_train import BatchSource
    from models.training.synthetic_plates import AR_LAYOUTS

    class FourReal:
        def __len__(self) -> int:
            return 4

    config = _distill_config()
    source = BatchSource(config, FourReal())  # type: ignore[arg-type]
    keep = source.not_argentine(3).tolist()
    assert len(keep) == 16 and keep[:4] == [True] * 4
    layouts = [source._synthetic.layout_of(3 * 16 + j) for j in range(12)]
    assert keep[4:] == [layout not in AR_LAYOUTS for layout in layouts]
    assert True in keep[4:] and False in keep[4:]


def test_distillation_loss_is_zero_for_the_teacher_itself_and_positive_elsewhere() -> None:
    from models.training.reader_train import build_network, distill_loss

    torch.manual_seed(0)
    teacher, other = build_network().eval(), build_network().eval()
    images = torch.randn(3, 1, 64, 128)
    keep = torch.tensor([True, False, True])
    assert float(distill_loss(teacher, teacher, images, keep)) == pytest.approx(0.0, abs=1e-5)
    assert float(distill_loss(other, teacher, images, keep)) > 0
    assert float(distill_loss(other, teacher, images, torch.zeros(3, dtype=torch.bool))) == 0.0


def test_frozen_batchnorm_stays_in_eval_mode_through_validation() -> None:
    from models.training.reader_train import build_network, exact_accuracy, set_train_mode

    network = build_network()
    set_train_mode(network, freeze_batchnorm=True)
    norms = [m for m in network.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert network.training and norms and not any(m.training for m in norms)
    exact_accuracy(network, SyntheticCrops(2, 0))
    assert network.training and not any(m.training for m in norms)  # the modes are restored as they were
    set_train_mode(network, freeze_batchnorm=False)
    assert all(m.training for m in norms)


def test_v7_config_is_v5_plus_renderer_3_distillation_and_frozen_batchnorm() -> None:
    from models.training.reader_train import load_train_config

    v5 = load_train_config(Path("models/reader/train_v5.yaml"))
    v7 = load_train_config(Path("models/reader/train_v7.yaml"))
    assert (v7.synthetic_renderer, v7.distill_weight, v7.freeze_batchnorm) == (3, 0.05, True)
    same = ("init_weights", "test_fraction", "split_seed", "val_fraction", "val_seed", "real_fraction", "lr")
    assert all(getattr(v5, key) == getattr(v7, key) for key in same)
    assert v7.synthetic_layouts == v5.synthetic_layouts and v7.run_dir != v5.run_dir


def test_v8_config_is_v7_with_a_weaker_distillation() -> None:
    from models.training.reader_train import load_train_config

    v7 = load_train_config(Path("models/reader/train_v7.yaml"))
    v8 = load_train_config(Path("models/reader/train_v8.yaml"))
    assert (v7.distill_weight, v8.distill_weight) == (0.05, 0.01)
    changed = {"name", "output_dir", "seed", "steps", "distill_weight"}
    assert {k for k in ReaderTrainConfig.model_fields if getattr(v7, k) != getattr(v8, k)} == changed


def test_v9_config_starts_from_english_g2_with_the_validation_plates_out() -> None:
    from models.training.reader_train import load_train_config

    v1 = load_train_config(Path("models/reader/train.yaml"))
    v5 = load_train_config(Path("models/reader/train_v5.yaml"))
    v9 = load_train_config(Path("models/reader/train_v9.yaml"))
    assert v9.init_weights is None and v9.base_weights is None and v9.distill_weight == 0  # english_g2, as v1
    assert (v9.br_crops, v9.test_fraction, v9.split_seed) == (v1.br_crops, v1.test_fraction, v1.split_seed)
    same = ("val_fraction", "val_seed", "val_synthetic", "val_synthetic_seed", "synthetic_renderer")
    assert all(getattr(v5, key) == getattr(v9, key) for key in same) and v9.val_fraction > 0
    assert (v9.lr, v9.synthetic_layouts) == (v1.lr, None) and v9.keep_evaluated
    assert v9.run_dir not in {v1.run_dir, v5.run_dir} and v9.output_dir != Path("models/reader")


def test_v10_config_is_v9_refitted_on_its_validation_plates_at_its_chosen_step() -> None:
    from models.training.reader_train import load_train_config

    v9 = load_train_config(Path("models/reader/train_v9.yaml"))
    v10 = load_train_config(Path("models/reader/train_v10.yaml"))
    changed = {"name", "output_dir", "val_fraction", "val_seed", "watch_held_out", "stop_after", "keep_evaluated"}
    assert {k for k in ReaderTrainConfig.model_fields if getattr(v9, k) != getattr(v10, k)} == changed
    assert (v10.val_fraction, v10.watch_held_out, v10.stop_after, v10.last_step) == (0, False, 2300, 2300)
    assert v9.last_step == v9.steps == v10.steps  # the same schedule, ended early
    assert v10.run_dir != v9.run_dir


def test_a_refit_must_stop_inside_its_schedule() -> None:
    with pytest.raises(ValueError, match="past the schedule"):
        ReaderTrainConfig(br_crops=Path("x"), steps=100, stop_after=101)


def _crop_folder(folder: Path, plates: int) -> Path:
    """A labelled folder with a rendered image for each of `plates` plates."""
    import cv2

    (folder / "images").mkdir(parents=True)
    texts = [f"ABC{n:04d}" for n in range(plates)]
    for text in texts:
        cv2.imwrite(str(folder / "images" / f"{text}_0.jpg"), render_clean(0, "br_old", (text,)))
    return _labelled_folder(folder, dict.fromkeys(texts, 1))


def test_a_refit_told_not_to_watch_held_out_plates_reads_none(tmp_path: Path) -> None:
    from models.training.reader_train import split_crops, watched_crops

    folder = _crop_folder(tmp_path, 20)
    v1_style = ReaderTrainConfig(br_crops=folder)
    refit = ReaderTrainConfig(br_crops=folder, watch_held_out=False)
    _, val, test = split_crops(refit)
    watched, label = watched_crops(v1_style, val, test)
    assert watched is not None and len(watched) == len(test) and label == "br"
    assert watched_crops(refit, val, test)[0] is None
    validated = ReaderTrainConfig(br_crops=folder, val_fraction=0.2, watch_held_out=False)
    _, val, test = split_crops(validated)
    watched, label = watched_crops(validated, val, test)
    assert watched is not None and len(watched) == len(val) and label == "val"


def _tiny_run(folder: Path, work: Path, **changes: object) -> ReaderTrainConfig:
    """A run of a few steps of 2 crops over `folder`, writing under `work`, that never reads held-out plates."""
    settings: dict[str, object] = {"watch_held_out": False, "batch_size": 2, "warmup_steps": 1}
    return ReaderTrainConfig.model_validate(
        {"br_crops": folder, "runs_dir": work / "runs", "output_dir": work / "out", **settings, **changes}
    )


def test_a_run_with_stop_after_ends_and_exports_at_that_step(tmp_path: Path) -> None:
    from models.training.reader_train import train_reader

    folder = _crop_folder(tmp_path / "crops", 10)
    config = _tiny_run(folder, tmp_path, steps=6, stop_after=2, checkpoint_every=1, eval_every=1)
    log = tmp_path / "run.log"
    weights = train_reader(config, log=log)
    saved = torch.load(config.last_checkpoint, map_location="cpu", weights_only=True)
    assert saved["step"] == 2 and weights == tmp_path / "out" / "plate_reader.pth" and weights.exists()
    last = log.read_text(encoding="utf-8").splitlines()[-1]
    assert last.startswith("step 2 ") and " br - " in last  # the schedule's lr at step 2 of 6, no held-out figure


def test_batches_drawn_by_loader_workers_are_the_loops_own(tmp_path: Path) -> None:
    from models.training.reader_data import RealCrops
    from models.training.reader_train import BatchSource, split_crops, step_batches

    config = ReaderTrainConfig(br_crops=_crop_folder(tmp_path, 10), steps=4, batch_size=4, loader_workers=2)
    train, _, _ = split_crops(config)
    source = BatchSource(config, RealCrops(train, augment=True))
    drawn = list(step_batches(config, source, first=1))
    assert [step for step, _, _ in drawn] == [1, 2, 3]
    for step, images, texts in drawn:
        own_images, own_texts = source.batch(step)
        assert texts == own_texts and torch.equal(images, own_images)


def test_a_run_is_the_same_whatever_the_number_of_loader_workers(tmp_path: Path) -> None:
    from models.training.reader_train import from_plate_reader, train_reader

    folder = _crop_folder(tmp_path / "crops", 10)
    weights = []
    for workers in (0, 2):
        config = _tiny_run(folder, tmp_path / f"workers{workers}", steps=3, loader_workers=workers)
        weights.append(from_plate_reader(train_reader(config)).state_dict())
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][key], weights[1][key]) for key in weights[0])


@pytest.mark.parametrize("device", ["gpu", "cuda:x", "CUDA"])
def test_train_config_refuses_unknown_devices(device: str) -> None:
    with pytest.raises(ValueError, match="device"):
        ReaderTrainConfig(br_crops=Path("x"), device=device)
