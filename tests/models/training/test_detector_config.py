"""The detector's training configs: the shipped ones load, map onto ultralytics, and name their synthetic sets."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from models.training.config import (
    DetectorTrainConfig,
    LetteringData,
    SmallPlateData,
    SyntheticData,
    VehicleNegativeData,
    load_config,
    ultralytics_train_args,
)
from models.training.dataset import build_yolo_dataset

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    "name",
    [
        "train.yaml",
        "train_stage2.yaml",
        "train_stage3.yaml",
        "train_stage4.yaml",
        "train_stage5.yaml",
        "train_stage6.yaml",
        "train_stage7.yaml",
        "train_stage8.yaml",
        "train_stage9.yaml",
        "train_stage10.yaml",
        "train_stage11.yaml",
    ],
)
def test_shipped_configs_load(name: str) -> None:
    config = load_config(REPO / "models" / "detector" / name)
    assert not set(config.train_videos) & set(config.val_videos)
    assert config.synthetic is not None and config.synthetic.train_images > 0
    args = ultralytics_train_args(config, Path("data.yaml"))
    assert args["time"] == config.time_hours and args["imgsz"] == config.imgsz


def test_stage_2_starts_where_stage_1_ends() -> None:
    stage1 = load_config(REPO / "models" / "detector" / "train.yaml")
    stage2 = load_config(REPO / "models" / "detector" / "train_stage2.yaml")
    assert stage2.init_weights == stage1.output
    assert stage2.synthetic == stage1.synthetic  # the same images


def test_stage_3_starts_where_stage_2_ends() -> None:
    stage2 = load_config(REPO / "models" / "detector" / "train_stage2.yaml")
    stage3 = load_config(REPO / "models" / "detector" / "train_stage3.yaml")
    assert stage3.init_weights == stage2.output
    assert stage3.synthetic == stage2.synthetic  # the same images
    assert stage3.val_videos == stage2.val_videos and stage3.train_videos == stage2.train_videos
    assert stage3.threads == 1 and stage3.imgsz == 640


def test_stage_4_starts_where_stage_3_ends_with_audited_training_labels() -> None:
    from models.training.dataset import parse_box_file, read_frames

    stage3 = load_config(REPO / "models" / "detector" / "train_stage3.yaml")
    stage4 = load_config(REPO / "models" / "detector" / "train_stage4.yaml")
    assert stage4.init_weights == stage3.output
    assert stage4.synthetic == stage3.synthetic
    assert stage4.val_videos == stage3.val_videos and stage4.train_videos == stage3.train_videos
    assert stage4.output != REPO / "models" / "detector" / "plate_yolo.pt"  # beside the shipped weights, not over
    assert stage4.extra_labels is not None and stage4.hard_negatives is not None
    missed = parse_box_file((REPO / stage4.extra_labels).read_text())
    negatives = parse_box_file((REPO / stage4.hard_negatives).read_text())
    held_out = REPO / "models" / "detector" / "labels" / "ro_dashcam_heldout_missing_plates.txt"
    audited = parse_box_file(held_out.read_text())
    assert sum(map(len, missed.values())) == 84 and sum(map(len, negatives.values())) == 43
    assert sum(map(len, audited.values())) == 33
    # the training lists name training-video frames only, the held-out audit held-out frames only
    assert all(name.startswith(("dayride_type1_001_", "nightride_type3_001_")) for name in [*missed, *negatives])
    assert all(name.startswith(("dayride_type1_002_", "dayride_type1_003_")) for name in audited)
    frames_csv = stage4.data_root / "frames.csv"
    if frames_csv.is_file():  # the data set is beside the repo on the training machine
        videos = {f.image: f.video for f in read_frames(frames_csv)}
        assert {videos[n] for n in [*missed, *negatives]} <= set(stage4.train_videos)
        assert {videos[n] for n in audited} <= set(stage4.val_videos)


def test_time_is_left_out_unless_set() -> None:
    config = DetectorTrainConfig(data_root=Path("x"), train_videos=["a"], val_videos=["b"])
    assert "time" not in ultralytics_train_args(config, Path("d.yaml"))
    assert config.init_weights is None and config.synthetic is None


def test_synthetic_folders_are_named_by_content(tmp_path: Path) -> None:
    syn = SyntheticData(train_images=10, holdout_images=5, seed=3, out_dir=tmp_path)
    assert syn.train_dir() == tmp_path / "train_s3_n10"
    assert syn.holdout_dir() == tmp_path / "holdout_s1003_n5"
    assert syn.train_dir() != syn.holdout_dir()
    with pytest.raises(ValidationError):
        SyntheticData(holdout_every=1)


def test_extra_training_folders_enter_data_yaml(tmp_path: Path) -> None:
    source = tmp_path / "source"
    (source / "images").mkdir(parents=True)
    rows = ["image,video,second,original_split"]
    for video in ("v1", "v2"):
        (source / "images" / f"{video}_t001.jpg").write_bytes(b"jpeg")
        rows.append(f"{video}_t001.jpg,{video},1,train")
    (source / "frames.csv").write_text("\n".join(rows) + "\n")
    extra = tmp_path / "syn" / "images"
    extra.mkdir(parents=True)
    data = yaml.safe_load(build_yolo_dataset(source, tmp_path / "ds", ["v1"], ["v2"], extra_train=[extra]).read_text())
    assert data["train"] == [str((tmp_path / "ds" / "images" / "train").resolve()), str(extra.resolve())]
    assert data["val"] == "images/val"


def test_stage_5_starts_where_stage_4_ends_with_lettering_scenes() -> None:
    stage4 = load_config(REPO / "models" / "detector" / "train_stage4.yaml")
    stage5 = load_config(REPO / "models" / "detector" / "train_stage5.yaml")
    assert stage5.init_weights == stage4.output
    assert stage5.val_videos == stage4.val_videos and stage5.train_videos == stage4.train_videos
    assert stage5.extra_labels == stage4.extra_labels and stage5.hard_negatives == stage4.hard_negatives
    assert stage5.dataset_dir != stage4.dataset_dir and stage5.output != stage4.output
    assert stage5.threads == 1 and stage5.imgsz == 640
    assert stage4.synthetic is not None and stage5.synthetic is not None
    let = stage5.synthetic.lettering
    assert let is not None and let.train_images > 0 and let.val_images > 0
    assert stage5.synthetic.model_copy(update={"lettering": None}) == stage4.synthetic  # stage 4's scenes, and more
    out = stage5.synthetic.out_dir
    named = {stage5.synthetic.train_dir(), stage5.synthetic.holdout_dir(), let.train_dir(out), let.val_dir(out)}
    assert len(named) == 4  # four different folders: the validation set is never one that is trained on


def test_lettering_seeds_must_be_new(tmp_path: Path) -> None:
    let = LetteringData(train_images=10, seed=5, per_scene=2, val_images=4, val_seed=6)
    assert let.train_dir(tmp_path) == tmp_path / "lettering_train_s5_n10_k2"
    assert let.val_dir(tmp_path) == tmp_path / "lettering_val_s6_n4_k2"
    with pytest.raises(ValidationError, match="its own seed"):
        LetteringData(seed=5, val_seed=5)
    with pytest.raises(ValidationError, match="lettering seeds"):
        SyntheticData(seed=1, lettering=LetteringData(seed=5, val_seed=1001))  # the held-out set's seed
    with pytest.raises(ValidationError, match="lettering seeds"):
        SyntheticData(seed=1, lettering=LetteringData(seed=1, val_seed=7))


def _with_blocks(blocks: list[dict[str, object]], **more: object) -> dict[str, object]:
    return {
        "data_root": "x",
        "train_videos": ["a", "b"],
        "val_videos": ["c"],
        "real_validation": {"blocks": blocks, **more},
    }


def test_stage_7_holds_back_real_blocks_of_the_training_videos() -> None:
    stage5 = load_config(REPO / "models" / "detector" / "train_stage5.yaml")
    stage7 = load_config(REPO / "models" / "detector" / "train_stage7.yaml")
    assert stage7.init_weights == stage5.output
    assert stage7.dataset_dir != stage5.dataset_dir  # its own real frames: the blocks are left out
    rv = stage7.real_validation
    assert rv is not None and rv.gap_frames == 2 and len(rv.blocks) == 3
    assert {b.video for b in rv.blocks} == set(stage7.train_videos)
    assert stage7.threads == 1 and stage7.time_hours is not None and stage7.time_hours <= 0.9
    let = stage7.synthetic.lettering if stage7.synthetic is not None else None
    assert let is not None and let.degraded == 0.7 and let.val_images == 0
    assert stage5.real_validation is None


def test_real_validation_is_strict() -> None:
    ok = DetectorTrainConfig.model_validate(_with_blocks([{"video": "a", "first": 3, "last": 5}]))
    assert ok.real_validation is not None and ok.real_validation.split == "realval"
    assert ok.real_validation.gap_frames == 2
    bad = [
        _with_blocks([{"video": "c", "first": 0, "last": 1}]),  # a held-out video
        _with_blocks([{"video": "z", "first": 0, "last": 1}]),  # no such training video
        _with_blocks([{"video": "a", "first": 5, "last": 4}]),  # empty
        _with_blocks([{"video": "a", "first": -1, "last": 4}]),
        _with_blocks([{"video": "a", "first": 0, "last": 4}, {"video": "a", "first": 4, "last": 9}]),  # overlap
        _with_blocks([]),
        _with_blocks([{"video": "a", "first": 0, "last": 1, "stride": 2}]),  # unknown key
        _with_blocks([{"video": "a", "first": 0, "last": 1}], gap_frames=-1),
        _with_blocks([{"video": "a", "first": 0, "last": 1}], split="train"),  # would overwrite the training frames
        _with_blocks([{"video": "a", "first": 0, "last": 1}], split="../x"),
    ]
    for raw in bad:
        with pytest.raises(ValidationError):
            DetectorTrainConfig.model_validate(raw)
    # blocks of different videos may share positions
    DetectorTrainConfig.model_validate(
        _with_blocks([{"video": "a", "first": 0, "last": 4}, {"video": "b", "first": 0, "last": 4}])
    )


def test_degraded_lettering_sets_get_their_own_names_and_crisp_ones_keep_theirs() -> None:
    crisp = LetteringData()
    assert crisp.degraded == 0.0
    assert crisp.train_dir(Path("o")) == Path("o/lettering_train_s5_n1000_k4")
    assert crisp.val_dir(Path("o")) == Path("o/lettering_val_s5001_n300_k4")
    degraded = LetteringData(seed=7, val_seed=7001, train_images=800, degraded=0.7)
    assert degraded.train_dir(Path("o")) == Path("o/lettering_train_s7_n800_k4_d0.7")
    for share in (-0.1, 1.5):
        with pytest.raises(ValidationError):
            LetteringData(degraded=share)


def test_stage_8_is_stage_7_with_a_second_round_of_real_hard_negatives() -> None:
    stage7 = load_config(REPO / "models" / "detector" / "train_stage7.yaml")
    stage8 = load_config(REPO / "models" / "detector" / "train_stage8.yaml")
    assert stage8.init_weights == stage7.output and stage8.output != stage7.output
    assert stage8.dataset_dir != stage7.dataset_dir
    assert stage8.real_validation == stage7.real_validation and stage8.synthetic == stage7.synthetic
    assert stage8.hard_negatives == stage7.hard_negatives and stage7.more_hard_negatives is None
    assert stage7.hard_negative_scales == (3.0, 6.0) and len(stage8.hard_negative_scales) == 5
    assert stage8.more_hard_negatives is not None and stage8.threads == 1
    from models.training.dataset import parse_box_file, read_frames
    from models.training.detector import not_to_train_on

    more = parse_box_file((REPO / stage8.more_hard_negatives).read_text())
    assert sum(map(len, more.values())) == 27
    assert all(name.startswith(("dayride_type1_001_", "nightride_type3_001_")) for name in more)
    frames_csv = stage8.data_root / "frames.csv"
    if frames_csv.is_file():  # mined on training frames outside the real validation blocks and their gaps only
        videos = {f.image: f.video for f in read_frames(frames_csv)}
        assert {videos[n] for n in more} <= set(stage8.train_videos)
        assert not set(more) & not_to_train_on(stage8)


@pytest.mark.parametrize(
    ("before", "after", "added"),
    [
        ("train_stage8.yaml", "train_stage9.yaml", "vehicle_negatives"),
        ("train_stage9.yaml", "train_stage10.yaml", "small_plates"),
    ],
)
def test_a_stage_is_the_one_before_and_its_new_data(before: str, after: str, added: str) -> None:
    earlier = load_config(REPO / "models" / "detector" / before)
    later = load_config(REPO / "models" / "detector" / after)
    assert earlier.synthetic is not None and later.synthetic is not None
    assert getattr(earlier.synthetic, added) is None  # the earlier configs keep their sets
    assert later.init_weights == earlier.output and later.dataset_dir != earlier.dataset_dir
    assert later.synthetic.model_copy(update={added: None}) == earlier.synthetic
    assert later.real_validation == earlier.real_validation
    assert (later.train_videos, later.val_videos) == (earlier.train_videos, earlier.val_videos)
    new_data = getattr(later.synthetic, added)
    assert new_data is not None and new_data.train_images > 0


def test_stage_11_is_stage_10_with_more_real_labels_and_negatives() -> None:
    from models.training.dataset import parse_box_file

    def lines(path: Path | None) -> list[list[str]]:
        assert path is not None
        return [ln.split("#")[0].split() for ln in (REPO / path).read_text().splitlines() if ln.split("#")[0].strip()]

    stage10 = load_config(REPO / "models" / "detector" / "train_stage10.yaml")
    stage11 = load_config(REPO / "models" / "detector" / "train_stage11.yaml")
    assert stage11.init_weights == stage10.output and stage11.dataset_dir != stage10.dataset_dir
    assert stage11.synthetic == stage10.synthetic  # the same scenes
    assert stage11.real_validation == stage10.real_validation
    assert (stage11.train_videos, stage11.val_videos) == (stage10.train_videos, stage10.val_videos)
    assert stage11.hard_negatives == stage10.hard_negatives
    assert stage11.hard_negative_scales[: len(stage10.hard_negative_scales)] == stage10.hard_negative_scales
    # the new files hold the old ones' lines unchanged, then the new round's
    old_plates, new_plates = lines(stage10.extra_labels), lines(stage11.extra_labels)
    old_negatives, new_negatives = lines(stage10.more_hard_negatives), lines(stage11.more_hard_negatives)
    assert new_plates[: len(old_plates)] == old_plates and len(new_plates) >= len(old_plates) + 30
    assert new_negatives[: len(old_negatives)] == old_negatives and len(new_negatives) == len(old_negatives) + 18
    assert stage11.extra_labels is not None and stage11.more_hard_negatives is not None
    plates = parse_box_file((REPO / stage11.extra_labels).read_text())
    negatives = parse_box_file((REPO / stage11.more_hard_negatives).read_text())
    assert all(name.startswith(("dayride_type1_001_", "nightride_type3_001_")) for name in [*plates, *negatives])


def test_vehicle_negative_seed_must_be_new(tmp_path: Path) -> None:
    assert VehicleNegativeData(seed=9, train_images=10, per_scene=2).train_dir(tmp_path) == tmp_path / (
        "vehicle_train_s9_n10_k2"
    )
    with pytest.raises(ValidationError, match="vehicle negatives' seed"):
        SyntheticData(seed=1, vehicle_negatives=VehicleNegativeData(seed=1001))
    with pytest.raises(ValidationError, match="vehicle negatives' seed"):
        SyntheticData(
            seed=1, lettering=LetteringData(seed=7, val_seed=7001), vehicle_negatives=VehicleNegativeData(seed=7)
        )


def test_small_plate_sets_are_named_by_content_and_checked(tmp_path: Path) -> None:
    assert (
        SmallPlateData(seed=10, train_images=5, per_scene=2, min_width=12, max_width=40).train_dir(tmp_path)
        == tmp_path / "small_train_s10_n5_k2_w12-40"
    )
    with pytest.raises(ValidationError, match="max_width"):
        SmallPlateData(min_width=30, max_width=20)
    with pytest.raises(ValidationError, match="small plates' seed"):
        SyntheticData(seed=1, vehicle_negatives=VehicleNegativeData(seed=9), small_plates=SmallPlateData(seed=9))
    with pytest.raises(ValidationError, match="small plates' seed"):
        SyntheticData(seed=1, small_plates=SmallPlateData(seed=1001))
