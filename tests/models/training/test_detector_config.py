"""The detector's training configs: the shipped ones load, map onto ultralytics, and name their synthetic sets."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from models.training.config import DetectorTrainConfig, SyntheticData, load_config, ultralytics_train_args
from models.training.dataset import build_yolo_dataset

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("name", ["train.yaml", "train_stage2.yaml", "train_stage3.yaml"])
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
