"""`train-detector` end to end at a tiny size: a run stopped after an epoch resumes where it stopped, and the
published checkpoint is one the car's plugins load."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest

from models.training.dataset import CLASS_NAMES
from models.training.detector import _load_checkpoint, train_detector

VOC = """<annotation><filename>{name}</filename><size><width>128</width><height>96</height><depth>3</depth></size>
<object><name>license-plate</name><bndbox><xmin>{x}</xmin><ymin>50</ymin><xmax>{x2}</xmax><ymax>64</ymax></bndbox>
</object></annotation>"""


class MachineGoneError(Exception):
    """Raised by the test's callback: the machine went away after the first epoch."""


def tiny_source(root: Path) -> Path:
    """Two videos of three 128x96 frames, each with one white plate-like box on a grey street."""
    (root / "images").mkdir(parents=True)
    (root / "annotations").mkdir()
    rows = ["image,video,second,original_split"]
    for video in ("v1", "v2"):
        for i in range(3):
            stem, x = f"{video}_t{i:03d}", 20 + 25 * i
            image = np.full((96, 128, 3), 80, np.uint8)
            image[50:64, x : x + 40] = 255
            cv2.putText(image, "AB12", (x + 3, 61), cv2.FONT_HERSHEY_SIMPLEX, 0.3, (0, 0, 0), 1)
            cv2.imwrite(str(root / "images" / f"{stem}.jpg"), image)
            (root / "annotations" / f"{stem}.xml").write_text(VOC.format(name=f"{stem}.jpg", x=x, x2=x + 40))
            rows.append(f"{stem}.jpg,{video},{i},train")
    (root / "frames.csv").write_text("\n".join(rows) + "\n")
    return root


def tiny_config(tmp_path: Path) -> Path:
    config = tmp_path / "train.yaml"
    config.write_text(
        f"""name: tiny
architecture: yolov8n.yaml
data_root: {tiny_source(tmp_path / "source")}
dataset_dir: {tmp_path / "dataset"}
runs_dir: {tmp_path / "runs"}
output: {tmp_path / "published.pt"}
train_videos: [v1]
val_videos: [v2]
imgsz: 64
epochs: 2
batch: 2
nbs: 2
workers: 0
threads: 1
warmup_epochs: 0
cache: none
"""
    )
    return config


def epochs_logged(run_dir: Path) -> list[dict[str, str]]:
    with (run_dir / "results.csv").open(newline="") as file:
        return [{k.strip(): v.strip() for k, v in row.items()} for row in csv.DictReader(file)]


def test_a_stopped_run_resumes_where_it_stopped_and_is_published(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ultralytics.utils.callbacks import base

    def stop_after_first_epoch(trainer: object) -> None:
        if getattr(trainer, "epoch", None) == 0:
            raise MachineGoneError

    config = tiny_config(tmp_path)
    run_dir = tmp_path / "runs" / "tiny"
    with pytest.raises(FileNotFoundError, match="nothing to resume"):
        train_detector(config, resume=True)

    monkeypatch.setitem(base.default_callbacks, "on_fit_epoch_end", [stop_after_first_epoch])
    with pytest.raises(MachineGoneError):
        train_detector(config)
    first = epochs_logged(run_dir)
    assert len(first) == 1
    assert _load_checkpoint(run_dir / "weights" / "last.pt").get("optimizer") is not None  # mid-run state kept

    monkeypatch.setitem(base.default_callbacks, "on_fit_epoch_end", [])
    published = train_detector(config, resume=True)
    logged = epochs_logged(run_dir)
    assert [row["epoch"] for row in logged] == ["1", "2"] and logged[0] == first[0]  # continued, not restarted
    checkpoint = _load_checkpoint(published)
    assert published == tmp_path / "published.pt" and checkpoint.get("optimizer") is None
    assert checkpoint["model"].names == dict(enumerate(CLASS_NAMES))
    assert train_detector(config, resume=True) == published  # resuming a finished run only publishes it again

    from edge.config import DetectorConfig
    from edge.detect import make_detector

    detector = make_detector(DetectorConfig(runtime="ultralytics", weights=published, min_score=0.01))
    assert isinstance(detector.detect(np.full((96, 128, 3), 80, np.uint8)), list)
