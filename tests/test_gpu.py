"""The GPU path: a fit on CUDA with the data kept on the device, CPU/GPU agreement, bf16 mixed precision.

Tests marked ``gpu`` are skipped without CUDA (``conftest.py``). Mixed precision runs on the CPU too
(autocast with bfloat16), so that test runs on both devices: a layer that breaks under autocast fails
on any machine, not only on one with a GPU.
"""

import copy

import lightning.pytorch as pl
import pytest
import torch
from torch.testing import assert_close

import dlref
from dlref import networks
from dlref.conv import ConvLayer
from dlref.lightning import Classifier, TensorDataModule
from dlref.lstm import LSTMLayer
from dlref.pooling import MaxPool

GPU = "cuda"
ACCELERATOR = {"cuda": "gpu", "cpu": "cpu"}
DEVICES = ["cpu", pytest.param(GPU, marks=pytest.mark.gpu)]
SMALL = {"fcn": {"hidden": 64}, "cnn": {"channels": (8, 16), "hidden": 32}, "lstm": {"hidden": 32}}


def _trainer(tmp_path, **kwargs):
    defaults = dict(devices=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                    enable_model_summary=False, default_root_dir=tmp_path)
    return pl.Trainer(**{**defaults, **kwargs})


def _cases():
    """Each core layer and each network (dropout off) with an input, in float64: no TF32, tight tolerances."""
    torch.manual_seed(0)
    return {
        "Layer": (dlref.Layer(20, 7), torch.randn(5, 20)),
        "ConvLayer": (ConvLayer(3, 4, 3, stride=2, padding=1), torch.randn(2, 3, 9, 9)),
        "MaxPool": (MaxPool(2), torch.randn(2, 3, 8, 8)),
        "LSTMLayer": (LSTMLayer(6, 8), torch.randn(3, 5, 6)),
        "fcn": (networks.fcn(dropout=0.0), torch.randn(4, 1, 28, 28)),
        "cnn": (networks.cnn(dropout=0.0), torch.randn(4, 1, 28, 28)),
        "lstm": (networks.lstm(), torch.randn(4, 1, 28, 28)),
    }


def _forward_backward(module, X):
    out = module(X)
    Y = out[0] if isinstance(out, tuple) else out  # LSTMLayer: (H, (h_T, c_T))
    Y.pow(2).sum().backward()
    return Y


@pytest.mark.gpu
@pytest.mark.parametrize("name", list(_cases()))
def test_core_layers_give_the_same_outputs_and_gradients_on_cpu_and_gpu(name):
    cpu_layer, X = _cases()[name]
    cpu_layer = cpu_layer.double()
    gpu_layer = copy.deepcopy(cpu_layer).to(GPU)
    X = X.double().requires_grad_()
    X_gpu = X.detach().to(GPU).requires_grad_()
    Y, Y_gpu = _forward_backward(cpu_layer, X), _forward_backward(gpu_layer, X_gpu)
    assert Y_gpu.device.type == GPU
    assert_close(Y_gpu.cpu(), Y)
    assert_close(X_gpu.grad.cpu(), X.grad)
    for (param, p), q in zip(cpu_layer.named_parameters(), gpu_layer.parameters()):
        assert_close(q.grad.cpu(), p.grad, msg=f"{name}: gradient of {param}")


@pytest.mark.gpu
def test_sgd_takes_the_same_steps_on_cpu_and_gpu():
    torch.manual_seed(0)
    W = torch.randn(10, 10, dtype=torch.float64, requires_grad=True)
    W_gpu = W.detach().to(GPU).requires_grad_()
    optimizers = [dlref.SGD([w], lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01) for w in (W, W_gpu)]
    for _ in range(3):
        grad = torch.randn(10, 10, dtype=torch.float64)
        for w, optimizer in zip((W, W_gpu), optimizers):
            w.grad = grad.to(w.device)
            optimizer.step()
    assert_close(W_gpu.cpu(), W)
    assert not torch.equal(W, W_gpu.detach().cpu() * 0)  # it moved


@pytest.mark.gpu
def test_fit_on_the_gpu_keeps_the_data_on_the_device_and_learns(mnist_subset, tmp_path):
    torch.manual_seed(0)
    lit = Classifier("fcn", SMALL["fcn"])
    dm = TensorDataModule(*mnist_subset, val_size=200, batch_size=64)
    trainer = _trainer(tmp_path, accelerator=ACCELERATOR[GPU], max_epochs=2)
    trainer.fit(lit, datamodule=dm)
    # Held on the device and sliced there: no host-to-device copy per batch.
    assert dm.train_X.device.type == dm.val_X.device.type == GPU
    X, t = next(iter(dm.train_dataloader()))
    assert X.device.type == t.device.type == GPU
    assert all(p.device.type == GPU for p in lit.parameters())
    assert trainer.callback_metrics["val/acc"].item() > 0.8


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("network", list(SMALL))
def test_bf16_mixed_precision_trains_every_network(network, device, mnist_subset, tmp_path):
    torch.manual_seed(0)
    lit = Classifier(network, SMALL[network])
    before = copy.deepcopy(lit.model.state_dict())
    autocast = []  # (enabled, dtype) seen by the model in each training step
    lit.model.register_forward_pre_hook(lambda module, args: autocast.append(
        (torch.is_autocast_enabled(device), torch.get_autocast_dtype(device))) if module.training else None)
    trainer = _trainer(tmp_path, accelerator=ACCELERATOR[device], precision="bf16-mixed", max_epochs=1,
                       limit_train_batches=4, limit_val_batches=1, num_sanity_val_steps=0)
    trainer.fit(lit, datamodule=TensorDataModule(*mnist_subset, val_size=200, batch_size=64))
    assert autocast and all(seen == (True, torch.bfloat16) for seen in autocast)
    assert all(p.dtype == torch.float32 for p in lit.parameters())  # mixed: the weights stay float32
    metrics = trainer.callback_metrics
    assert torch.isfinite(metrics["train/loss"]) and torch.isfinite(metrics["val/loss"])
    moved = [name for name, W in lit.model.state_dict().items() if not torch.equal(W.cpu(), before[name])]
    assert moved == list(before), f"parameters that did not move: {set(before) - set(moved)}"


class _NoSync(pl.Callback):
    """Makes any host read an error from the 3rd training step to the 40th (the guard reads every 50)."""

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.global_step == 2:
            torch.cuda.set_sync_debug_mode("error")

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.global_step == 40:
            torch.cuda.set_sync_debug_mode("default")


@pytest.mark.gpu
@pytest.mark.parametrize("network", list(SMALL))
def test_a_cuda_training_step_never_waits_for_the_host(network, mnist_subset, tmp_path):
    X, t, *_ = mnist_subset
    dm = TensorDataModule(X, t, val_size=100, batch_size=32)
    try:
        _trainer(tmp_path, accelerator="gpu", max_steps=45, callbacks=[_NoSync()], limit_val_batches=0).fit(
            Classifier(network, SMALL[network]), datamodule=dm)  # a sync between steps 3 and 40 raises
    finally:
        torch.cuda.set_sync_debug_mode("default")
