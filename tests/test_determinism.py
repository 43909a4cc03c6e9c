"""Runs repeat exactly: the same config and seed on CPU give the same metrics and weights; checkpoints don't pile up."""

from pathlib import Path

import torch

from dlref.cli import main

FCN = Path(__file__).resolve().parent.parent / "configs" / "fcn.yaml"


def _run(root, out):
    assert main(["fit", "--config", str(FCN), f"--data.data_dir={root}", "--data.limit=700", "--data.val_size=100",
                 f"--trainer.default_root_dir={out}", "--trainer.enable_progress_bar=false", "--trainer.max_epochs=3",
                 "--trainer.enable_model_summary=false", "--model.network_kwargs={'hidden': 32}"]) == 0
    run = out / "fcn" / "version_0"
    return torch.load(run / "checkpoints" / "last.ckpt", weights_only=True), (run / "metrics.csv").read_text(), run


def test_same_seed_same_weights_and_metrics(digits_root, tmp_path):
    (a, metrics_a, run), (b, metrics_b, _) = _run(digits_root, tmp_path / "a"), _run(digits_root, tmp_path / "b")
    assert metrics_a == metrics_b and metrics_a.count("\n") == 8  # header, train and val rows for 3 epochs, test
    for name, value in a["state_dict"].items():
        assert torch.equal(value, b["state_dict"][name]), name
    # three epochs, yet only the best and the last checkpoint are kept
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["best.ckpt", "last.ckpt"]
