"""Reader-confidence calibration: ECE on small tables, monotone fits, the saved map's round trip."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from calibration.confidence import (
    ConfidenceMap,
    Reads,
    concat,
    cross_fitted,
    expected_calibration_error,
    fit,
    fit_isotonic,
    fit_platt,
    load_map,
    map_file,
    plot_reliability,
    pool_adjacent_violators,
    reliability,
    share_weights,
)
from edge.read.ctc import ConfidenceCalibration
from tests.conftest import REPO


@pytest.mark.parametrize(
    ("confidences", "correct", "bins", "ece"),
    [
        ([], [], 10, 0.0),  # no reads
        ([0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9], [1] * 9 + [0], 10, 0.0),  # 90 % right at 0.9
        ([1.0, 1.0], [1, 0], 10, 0.5),  # 1.0 lands in the last bin
        ([0.0, 0.0], [0, 0], 10, 0.0),  # 0.0 in the first
        ([0.2, 0.8], [1, 0], 10, 0.8),  # two bins, each off by 0.8
        ([0.25, 0.35], [1, 1], 1, 0.7),  # one bin: |1 - 0.3|
        ([0.1, 0.1, 0.95], [0, 0, 1], 10, (0.1 + 0.1 + 0.05) / 3),
    ],
)
def test_ece_tables(confidences: list[float], correct: list[int], bins: int, ece: float) -> None:
    assert expected_calibration_error(confidences, correct, bins) == pytest.approx(ece)


def test_ece_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        expected_calibration_error([0.5], [1, 0])
    with pytest.raises(ValueError):
        expected_calibration_error([0.5], [1], bins=0)


def test_reliability_bins() -> None:
    table = reliability([0.05, 0.95, 0.95], [0, 1, 0], bins=2)
    assert [b.count for b in table] == [1, 2]
    assert table[1].share_right == pytest.approx(0.5) and table[1].mean_confidence == pytest.approx(0.95)


def test_pool_adjacent_violators() -> None:
    assert pool_adjacent_violators(np.array([1.0, 0.0, 1.0, 1.0])).tolist() == [0.5, 0.5, 1.0, 1.0]
    assert pool_adjacent_violators(np.array([3.0, 2.0, 1.0])).tolist() == [2.0, 2.0, 2.0]
    assert pool_adjacent_violators(np.array([0.0, 1.0])).tolist() == [0.0, 1.0]


def _overconfident(n: int, seed: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Reads right with probability raw**3: a reader far surer of itself than it should be."""
    rng = np.random.default_rng(seed)
    raw = rng.beta(5, 1, n)
    return raw, rng.random(n) < raw**3


@pytest.mark.parametrize("method", ["isotonic", "platt"])
def test_fit_is_monotone_and_lowers_ece_on_new_reads(method: str) -> None:
    raw, right = _overconfident(4000, 0)
    test_raw, test_right = _overconfident(4000, 1)
    mapping = fit(raw, right, method)  # type: ignore[arg-type]
    grid = np.linspace(0, 1, 501)
    assert np.all(np.diff(mapping(grid)) >= -1e-12)
    assert np.all((mapping(grid) >= 0) & (mapping(grid) <= 1))
    before = expected_calibration_error(test_raw, test_right)
    after = expected_calibration_error(mapping(test_raw), test_right)
    assert before > 0.1 and after < 0.04


def test_isotonic_on_tiny_and_constant_sets() -> None:
    one = fit_isotonic([0.7], [True])
    assert one(np.array([0.0, 0.7, 1.0])).tolist() == [1.0, 1.0, 1.0]
    flat = fit_isotonic([0.2, 0.4, 0.6, 0.8], [1, 0, 1, 0])
    assert np.all(np.diff(flat(np.linspace(0, 1, 11))) >= 0)
    with pytest.raises(ValueError):
        fit_isotonic([], [])


@pytest.mark.parametrize("method", ["isotonic", "platt"])
def test_a_read_of_weight_two_counts_as_two_reads(method: str) -> None:
    raw, right = _overconfident(300, 2)
    twice = np.arange(300) < 100
    weighted = fit(raw, right, method, np.where(twice, 2.0, 1.0))  # type: ignore[arg-type]
    repeated = fit(np.concatenate([raw, raw[twice]]), np.concatenate([right, right[twice]]), method)  # type: ignore[arg-type]
    grid = np.linspace(0, 1, 101)
    assert np.allclose(weighted(grid), repeated(grid), atol=1e-6)
    assert not np.allclose(weighted(grid), fit(raw, right, method)(grid), atol=1e-3)  # type: ignore[arg-type]


def test_weights_that_say_nothing_are_refused() -> None:
    for bad in ([1.0, -1.0], [0.0, 0.0], [1.0], [1.0, float("nan")]):
        with pytest.raises(ValueError, match="weights"):
            fit_isotonic([0.2, 0.8], [0, 1], weights=bad)


def test_real_reads_get_their_share_of_the_weight() -> None:
    real = np.array([True] * 10 + [False] * 90)
    weights = share_weights(real, 0.5)
    assert weights is not None
    assert weights[real].sum() == pytest.approx(weights[~real].sum()) and weights.sum() == pytest.approx(100)
    assert share_weights(real, None) is None and share_weights(np.ones(5, dtype=bool), 0.5) is None
    with pytest.raises(ValueError, match="real_share"):
        share_weights(real, 1.0)


def test_platt_slope_is_never_negative() -> None:
    mapping = fit_platt([0.1, 0.2, 0.8, 0.9], [1, 1, 0, 0])  # anti-correlated: the best monotone map is flat
    assert mapping.a >= 0.0


@pytest.mark.parametrize("method", ["isotonic", "platt"])
def test_round_trip_and_the_reader_applies_the_same_map(tmp_path: Path, method: str) -> None:
    raw, right = _overconfident(500, 2)
    mapping = fit(raw, right, method)  # type: ignore[arg-type]
    mapping = ConfidenceMap(
        mapping.method, mapping.knots_x, mapping.knots_y, mapping.a, mapping.b, info={"ece_after": 0.01}
    )
    path = mapping.save(tmp_path / "confidence.json")
    loaded = load_map(tmp_path)
    assert loaded == mapping and loaded is not None and loaded.info == {"ece_after": 0.01}
    grid = np.linspace(0, 1, 101)
    assert loaded(grid) == pytest.approx(mapping(grid))
    on_the_car = ConfidenceCalibration.load(path)
    assert [on_the_car(float(x)) for x in grid] == pytest.approx(mapping(grid).tolist())
    assert load_map(tmp_path / "elsewhere") is None


def test_bad_maps_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        ConfidenceMap.from_json({"method": "isotonic", "knots_x": [0.0, 1.0], "knots_y": [0.9, 0.1]})
    with pytest.raises(ValueError):
        ConfidenceMap.from_json({"method": "magic"})
    (tmp_path / "confidence.json").write_text(json.dumps({"method": "magic"}))
    with pytest.raises(ValueError):
        ConfidenceCalibration.beside(tmp_path)


def test_reliability_diagram(tmp_path: Path) -> None:
    raw, right = _overconfident(300, 3)
    png = plot_reliability([("raw", raw, right), ("calibrated", fit(raw, right)(raw), right)], tmp_path / "r.png")
    assert png.stat().st_size > 1000


def test_cross_fitting_scores_every_read_with_a_map_that_never_saw_its_plate() -> None:
    raw, right = _overconfident(3000, 4)
    texts = tuple(f"P{i % 700}" for i in range(raw.size))  # several reads per plate
    reads = Reads("set", texts, raw, right)
    calibrated = cross_fitted(reads, "isotonic", folds=5)
    assert calibrated.shape == raw.shape
    assert expected_calibration_error(calibrated, right) < 0.5 * expected_calibration_error(raw, right)
    first, second = reads.halves()
    assert not set(first.texts) & set(second.texts)
    assert first.confidences.size + second.confidences.size == raw.size
    both = concat([first, second], "both")
    assert sorted(both.texts) == sorted(texts)


def test_a_plate_format_setting_has_its_own_map_file(tmp_path: Path) -> None:
    plain = ConfidenceMap("platt", a=2.0, b=-0.5)
    mercosur = ConfidenceMap("platt", a=1.0, b=1.0)
    plain.save(tmp_path / map_file())
    assert load_map(tmp_path, ("br", "ar")) is None  # no map of that setting yet
    mercosur.save(tmp_path / map_file(("br", "ar")))
    assert map_file(("ar", "br")) == map_file(("br", "ar")) != map_file(("br",)) != map_file()
    assert load_map(tmp_path, ("ar", "br")) == mercosur
    assert load_map(tmp_path) == plain
    # the car: the setting's map when there is one, else the map fitted without formats
    assert ConfidenceCalibration.beside(tmp_path, regions=("br", "ar"))(0.5) == pytest.approx(mercosur.apply(0.5))
    assert ConfidenceCalibration.beside(tmp_path, regions=("br",))(0.5) == pytest.approx(plain.apply(0.5))
    assert ConfidenceCalibration.beside(tmp_path)(0.5) == pytest.approx(plain.apply(0.5)) != 0.5
    assert ConfidenceCalibration.beside(tmp_path, enabled=False, regions=("br", "ar"))(0.5) == 0.5


def test_calibration_reads_audited_labels_and_leaves_out_unreadable_and_trained_plates() -> None:
    from calibration.confidence import _audited
    from models.evaluation.label_corrections import parse_corrections
    from models.evaluation.reader import LabelledPlate

    plates = [LabelledPlate(Path(f"x/{n}.png"), t) for n, t in (("a", "AAA111"), ("b", "QBC123"), ("c", "CCC333"))]
    corrections = parse_corrections(["b.png QBC123 OBC123 no tail", "c.png CCC333 ? blank"], "f")
    assert [(p.image.name, p.text) for p in _audited(plates, corrections)] == [("a.png", "AAA111"), ("b.png", "OBC123")]
    assert [p.text for p in _audited(plates, corrections, frozenset({"OBC123"}))] == ["AAA111"]
    assert _audited(plates, None) == plates


def test_calibrate_reader_fits_on_held_out_and_rendered_reads_and_saves_beside_the_weights(tmp_path: Path) -> None:
    """The whole fit with the shipped network: held-out crops of a labelled folder plus rendered plates, cross-fitted,
    the map and its diagram written beside a copy of the weights, an extra folder measured but never fitted."""
    import shutil

    import cv2

    from calibration.confidence import calibrate_reader
    from models.training.synthetic_plates import render_clean

    weights = tmp_path / "reader"
    weights.mkdir()
    for name in ("plate_reader.pth", "plate_reader.yaml", "plate_reader.py"):
        shutil.copy(REPO / "models" / "reader" / name, weights / name)
    crops = tmp_path / "crops"
    (crops / "images").mkdir(parents=True)
    plates = ["ABC1234", "QRS5678", "JKL9012", "XYZ3456", "MNP7890", "DEF2468", "GHJ1357", "TUV8642"]
    rows = ["image,text"]
    for i, text in enumerate(plates):
        for j in range(2):  # two crops a plate: the split and the folds go by plate
            cv2.imwrite(str(crops / "images" / f"{text}_{j}.png"), render_clean(i * 2 + j, "br_old", (text,)))
            rows.append(f"{text}_{j}.png,{text}")
    (crops / "labels.csv").write_text("\n".join(rows) + "\n")
    config = tmp_path / "train.yaml"
    config.write_text(f"br_crops: {crops}\ntest_fraction: 0.5\n")

    report = calibrate_reader(weights, config, synthetic=12, extra_tests=(crops,), folds=2)

    held_out, rendered = report.rows[1], report.rows[2]
    assert (held_out.reads, rendered.reads) == (8, 12)  # half the plates, two crops each; every render read
    assert report.rows[0].reads == 20 and report.rows[3].reads == 16 and report.rows[3].how == "never fitted"
    assert all(0.0 <= r.ece_raw <= 1.0 and 0.0 <= r.ece_calibrated <= 1.0 for r in report.rows)
    assert report.saved == weights / "confidence.json" and report.diagram.stat().st_size > 0
    calibration = ConfidenceCalibration.load(report.saved)
    assert [calibration(p) for p in (0.0, 0.5, 1.0)] == sorted(calibration(p) for p in (0.0, 0.5, 1.0))
    assert json.loads(report.saved.read_text())["info"]["fitted_on"].startswith("8 held-out BR crops (4 plates")
