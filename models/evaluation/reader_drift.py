"""How far a reader checkpoint drifted from its start, and what the rendered validation sets see of it.

For each kept step (a run's step_N.pt): the distillation KL from the start reader (models/training/reader_train.py
`distill_loss`: per-frame KL summed over frames, mean over the real crops and non-Argentine renders) and the CTC
loss on fixed training batches of a config (steps 1000.., never a run's own), and the exact share (fp32 greedy) on
the rendered Argentine validation sets of the named renderers. Reads no held-out crop and no ar_crop.

    python -m models.evaluation.reader_drift --config models/reader/train_v5.yaml \
        --checkpoint ~/.cache/platepatrol/runs/reader/plate_reader_v7/step_100.pt --renderer 2 --renderer 3
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from models.training.reader_data import RealCrops
from models.training.reader_train import (
    BatchSource,
    build_network,
    ctc_loss,
    distill_loss,
    exact_accuracy,
    from_plate_reader,
    load_train_config,
    split_crops,
    synthetic_validation,
)


def load_checkpoint(path: Path) -> torch.nn.Module:
    """A run's kept step (step_N.pt / last.pt) or an exported reader (NAME.pth), as an fp32 network in eval mode."""
    saved = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(saved, dict) and "network" in saved:
        network = build_network()
        network.load_state_dict(saved["network"])
    else:
        network = from_plate_reader(path)
    network.eval()
    return network


def drift(
    config_path: Path,
    checkpoints: list[Path],
    renderers: list[int],
    batches: int = 3,
    start: Path | None = None,
    rendered: int = 200,
) -> list[dict[str, object]]:
    config = load_train_config(config_path)
    if config.synthetic_layouts is None:
        raise ValueError(f"{config_path}: needs synthetic_layouts to tell the Argentine renders apart")
    teacher = load_checkpoint(start or config.init_weights or Path("models/reader/plate_reader.pth"))
    source = BatchSource(config, RealCrops(split_crops(config)[0], augment=True))
    fixed = [(*source.batch(1000 + i), source.not_argentine(1000 + i)) for i in range(batches)]
    sets = {
        r: synthetic_validation(config.model_copy(update={"synthetic_renderer": r, "val_synthetic": rendered}))
        for r in renderers
    }
    rows: list[dict[str, object]] = []
    for path in checkpoints:
        network = load_checkpoint(path)
        with torch.no_grad():
            kl = [round(float(distill_loss(network, teacher, im, keep)), 3) for im, _, keep in fixed]
            ctc = [round(float(ctc_loss(network, im, texts)), 3) for im, texts, _ in fixed]
        row: dict[str, object] = {"checkpoint": str(path), "kl": kl, "ctc": ctc}
        for renderer, crops in sets.items():
            row[f"renderer_{renderer}_exact"] = None if crops is None else round(exact_accuracy(network, crops), 4)
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True, help="a reader training config with synthetic_layouts")
    parser.add_argument("--checkpoint", type=Path, action="append", required=True)
    parser.add_argument("--renderer", type=int, action="append", default=[], help="rendered validation set(s)")
    parser.add_argument("--start", type=Path, help="the reader to measure drift from (default: init_weights)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for row in drift(args.config, [p.expanduser() for p in args.checkpoint], args.renderer, start=args.start):
        print(row, flush=True)


if __name__ == "__main__":
    main()
