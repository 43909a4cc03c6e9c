"""Figures: every plot is a valid PNG of some size; Figure 1.6's layer outputs are the model's; the callback's files."""

import io

import lightning.pytorch as pl
import pytest
import torch
from matplotlib.figure import Figure
from PIL import Image

from dlref import figures, networks
from dlref.lightning import Classifier, TensorDataModule
from dlref.lightning.figures import Figures

PNG = b"\x89PNG\r\n\x1a\n"


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def _assert_png(path, min_bytes=15_000, min_size=(300, 200)):
    data = path.read_bytes()
    assert data.startswith(PNG), f"{path} is not a PNG"
    image = Image.open(io.BytesIO(data))
    image.verify()  # a complete, uncorrupted file
    assert len(data) > min_bytes, f"{path}: {len(data)} bytes"
    assert image.size[0] >= min_size[0] and image.size[1] >= min_size[1], f"{path}: {image.size} pixels"


def _history(epochs=12, turn=5):
    e = torch.arange(1, epochs + 1, dtype=torch.float64)
    return {"train/loss": (1 / e).tolist(), "val/loss": (0.3 + 0.02 * (e - turn) ** 2 / epochs).tolist(),
            "train/acc": (1 - 0.3 / e).tolist(), "val/acc": (0.9 - 0.01 * (e - turn).abs() / epochs).tolist()}


def test_curve_plots_are_pngs(tmp_path):
    h = _history()
    _assert_png(figures.learning_curves(h, tmp_path / "a" / "curves.png", "FCN"))
    _assert_png(figures.fitting_curves({"large": h, "small": _history(turn=12)}, tmp_path / "fit.png", "fit"))
    _assert_png(figures.compare_curves({"base": h, "stopped": {**_history(8), "stopped_epoch": 8}},
                                       tmp_path / "remedies.png", "remedies"))
    _assert_png(figures.fold_scores([h, _history(turn=4), _history(turn=6)], [0.91, 0.9, 0.92],
                                    tmp_path / "folds.png", "3-fold"))


def test_confusion_matrix_and_misclassified_are_pngs(tmp_path):
    matrix = torch.eye(10, dtype=torch.int64) * 95 + torch.randint(0, 3, (10, 10))
    _assert_png(figures.confusion_matrix(matrix, tmp_path / "cm.png"))
    images = torch.randn(11, 1, 28, 28)
    _assert_png(figures.misclassified(images, torch.arange(11) % 10, (torch.arange(11) + 1) % 10, tmp_path / "m.png"))
    _assert_png(figures.misclassified(torch.empty(0, 1, 28, 28), [], [], tmp_path / "none.png"), 5_000, (200, 50))


@pytest.mark.parametrize("network, names", [
    ("cnn", ["input", "layer 1: ConvLayer", "layer 2: MaxPool", "layer 3: Activation, relu", "layer 4: ConvLayer",
             "layer 5: MaxPool", "layer 6: Activation, relu", "layer 7: Layer, relu", "layer 8: Layer"]),
    ("fcn", ["input", "layer 1: Layer, relu", "layer 2: Layer"]),
    ("lstm", ["input", "layer 1: LSTMLayer", "layer 2: LastHidden", "layer 3: Layer"]),  # Rows only reshapes
])
def test_layer_outputs_follow_the_model_and_draw_figure_1_6(network, names, tmp_path):
    torch.manual_seed(0)
    model = getattr(networks, network)()
    model.train()
    X = torch.randn(1, 1, 28, 28)
    outputs = figures.layer_outputs(model, X)
    assert [name for name, _ in outputs] == names  # Dropout and Flatten pass values on unchanged: left out
    model.eval()
    torch.testing.assert_close(outputs[-1][1], model(X)[0])  # the last picture is the model's own output
    assert model.training is False
    if network == "cnn":
        assert [tuple(A.shape) for _, A in outputs[:7]] == [(1, 28, 28), (16, 28, 28), (16, 14, 14), (16, 14, 14),
                                                            (32, 14, 14), (32, 7, 7), (32, 7, 7)]
    _assert_png(figures.representations(outputs, tmp_path / f"{network}.png", network, true=3), 20_000, (600, 200))


def test_figures_callback_writes_the_run_pictures_into_the_log_dir(mnist_subset, tmp_path):
    torch.manual_seed(0)
    callback = Figures(max_misclassified=16, digit=3)
    trainer = pl.Trainer(max_epochs=2, accelerator="cpu", logger=pl.loggers.CSVLogger(tmp_path, name="fcn"),
                         callbacks=[callback], enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False)
    s = mnist_subset  # cut to 600 training (500 / 100) and 300 test images
    data = s.train_images[:600], s.train_labels[:600], s.test_images[:300], s.test_labels[:300]
    model, dm = Classifier("fcn", {"hidden": 32}), TensorDataModule(*data, batch_size=100, val_size=100)
    trainer.fit(model, datamodule=dm)
    assert len(callback.history["val/loss"]) == 2 == len(callback.history["train/acc"])
    assert callback.history["val/acc"][-1] == pytest.approx(trainer.callback_metrics["val/acc"].item())
    accuracy = trainer.test(model, datamodule=dm, verbose=False)[0]["test/acc"]
    run_dir = tmp_path / "fcn" / "version_0"
    assert sorted(p.name for p in callback.written) == sorted(
        ["learning_curves.png", "confusion_matrix.png", "misclassified.png", "representations.png"])
    for path in callback.written:
        assert path.parent == run_dir
        _assert_png(path)
    matrix = callback.confusion
    assert matrix.sum() == 300 and matrix.trace().item() / 300 == pytest.approx(accuracy)
    wrong = 300 - matrix.trace().item()
    assert callback.shown_misclassified == min(16, wrong) and wrong > 0


def test_the_learning_curves_mark_the_epoch_kept_as_best_ckpt_and_say_on_what(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from dlref.figures import curves

    h = _history()  # validation loss lowest at epoch 5; accuracy highest at epoch 5 too: make them differ
    h["val/acc"][9] = 0.95  # epoch 10: the highest validation accuracy, the epoch dlref fit keeps
    callback = Figures()
    callback.history = h
    trainer = SimpleNamespace(checkpoint_callback=SimpleNamespace(best_model_score=torch.tensor(0.95),
                                                                  monitor="val/acc", mode="max"))
    chosen = callback._chosen(trainer)
    assert chosen == (10, "chosen on the highest validation accuracy (95.00%)")
    drawn = {}
    monkeypatch.setattr(Figure, "savefig", lambda fig, *args, **kwargs: drawn.setdefault("fig", fig))
    curves.learning_curves(h, tmp_path / "c.png", "FCN", chosen)
    labels = [t.get_text() for ax in drawn["fig"].axes for t in ax.get_legend().get_texts()]
    assert labels.count("best.ckpt (epoch 10)") == 2  # on both panels
    assert drawn["fig"]._suptitle.get_text().endswith("best.ckpt: epoch 10, chosen on the highest validation "
                                                       "accuracy (95.00%)")
    assert "lowest validation loss (epoch 5)" in labels  # still shown, and not mistaken for the checkpoint
    lines = [line for ax in drawn["fig"].axes for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert len(lines) == 2 and all(list(line.get_xdata()) == [10, 10] for line in lines)
    trainer.checkpoint_callback.best_model_score = torch.tensor(0.5)  # chosen in epochs of another process
    assert callback._chosen(trainer) is None
