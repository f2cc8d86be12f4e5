"""models/evaluation/reader_drift.py: a checkpoint's drift from its start and its rendered validation exacts."""

from __future__ import annotations

from pathlib import Path

import cv2
import torch
import yaml

from models.evaluation.reader_drift import drift, load_checkpoint
from models.training.reader_train import build_network, export_reader
from models.training.synthetic_plates import render_plate


def test_checkpoints_load_from_a_run_or_an_export(tmp_path: Path) -> None:
    torch.manual_seed(0)
    network = build_network()
    torch.save({"network": network.state_dict(), "step": 5}, tmp_path / "step_5.pt")
    exported = export_reader(network, tmp_path / "export")
    a, b = load_checkpoint(tmp_path / "step_5.pt"), load_checkpoint(exported)
    assert not a.training and not b.training
    key = "Prediction.weight"
    assert torch.allclose(a.state_dict()[key], b.state_dict()[key], atol=1e-3)  # the export is float16


def test_drift_is_zero_from_itself_and_reports_each_renderer(tmp_path: Path) -> None:
    crops = tmp_path / "crops"
    (crops / "images").mkdir(parents=True)
    lines = ["image,text"]
    for i in range(12):
        plate = render_plate(i, "br_old")
        cv2.imwrite(str(crops / "images" / f"{i}.png"), plate.image)
        lines.append(f"{i}.png,{plate.text}")
    (crops / "labels.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    torch.manual_seed(0)
    start = export_reader(build_network(), tmp_path / "start")
    config = {
        "br_crops": str(crops),
        "init_weights": str(start),
        "synthetic_layouts": {"ar_old": 1.0, "br_old": 1.0},
        "batch_size": 4,
        "val_synthetic": 4,
        "runs_dir": str(tmp_path / "runs"),
    }
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    (row,) = drift(tmp_path / "c.yaml", [start], renderers=[2, 3], batches=1, rendered=4)
    assert row["kl"] == [0.0] and isinstance(row["ctc"], list)
    assert {"renderer_2_exact", "renderer_3_exact"} <= set(row)
