"""core: dlref's FCN against the same network in plain torch, both trained by the plain loop (``dlref.train``).

dlref: ``configs/fcn.yaml``'s ``Model`` of ``Flatten``, ``Layer``, ``Dropout``, with ``dlref.SGD`` and
``dlref.cross_entropy``. torch: ``nn.Sequential`` of the torch twins with a copy of the same weights,
``torch.optim.SGD`` with the same settings, ``F.cross_entropy``. Same batches, order and steps.
``--breakdown`` also times each substitution alone.
"""

import torch
import torch.nn.functional as F
from torch import nn

import dlref
from dlref.optimization import make_optimizer

from .harness import Settings, compare, interleave
from .loops import Recipe, plain_epoch

ACTIVATIONS = {dlref.relu: [nn.ReLU], dlref.identity: []}  # a Layer's activation → what follows nn.Linear


def torch_twin(model: dlref.Model) -> nn.Sequential:
    """``model``'s layers as ``nn.Flatten``, ``nn.Linear`` (+ ``nn.ReLU``) and ``nn.Dropout``, with its weights."""
    twin = []
    for layer in model:
        if isinstance(layer, dlref.Layer) and layer.activate in ACTIVATIONS:
            linear = nn.Linear(layer.in_features, layer.out_features).to(layer.W.device)
            with torch.no_grad():
                linear.weight.copy_(layer.W)
                linear.bias.copy_(layer.B)
            twin += [linear] + [activation() for activation in ACTIVATIONS[layer.activate]]
        elif isinstance(layer, dlref.Dropout):
            twin.append(nn.Dropout(layer.p))
        elif isinstance(layer, dlref.Flatten):
            twin.append(nn.Flatten())
        else:
            raise ValueError(f"core expected an FCN of Flatten, Layer (relu or identity) and Dropout, found {layer}; "
                             "point the section at a config whose network is fcn.")
    return nn.Sequential(*twin)


def torch_sgd(parameters, h) -> torch.optim.SGD:
    """``torch.optim.SGD`` with the settings the recipe ``h`` gives ``dlref.SGD``."""
    parameters = list(parameters)
    return torch.optim.SGD(parameters, **make_optimizer(parameters, h).defaults)


def run(settings: Settings, device="cpu") -> list[dict]:
    fcn = Recipe("fcn", "--trainer.max_epochs=1", device=device)
    ours, steps, batch = fcn.network, settings.steps["fcn"], fcn.datamodule.batch_size
    twin = torch_twin(ours)
    sides = {"torch": plain_epoch(fcn, steps, twin, F.cross_entropy, torch_sgd),
             "dlref": plain_epoch(fcn, steps)}
    seconds = interleave(sides, settings.repeats, settings.warmup)
    layers = [layer for layer in ours if isinstance(layer, dlref.Layer)]
    sizes = "-".join(str(n) for n in [layers[0].in_features] + [layer.out_features for layer in layers])
    rows = [compare(f"FCN {sizes} {'part epoch' if steps else 'epoch'}, plain loop ({fcn.steps(steps)} steps of "
                    f"{batch})", ("torch", seconds["torch"]), ("dlref", seconds["dlref"]), 1.05,
                    "torch: nn.Sequential(Flatten, Linear, ReLU, Dropout, Linear), torch.optim.SGD, F.cross_entropy; "
                    "dlref: Model of Layer / relu / Dropout, dlref.SGD, dlref.cross_entropy; both in dlref.train, "
                    "same weights, same batches, the optimizer settings of configs/fcn.yaml")]
    if settings.breakdown:  # which substitution costs what
        mixed = {"dlref model, torch SGD + loss": plain_epoch(fcn, steps, ours, F.cross_entropy, torch_sgd),
                 "torch model, dlref SGD + loss": plain_epoch(fcn, steps, twin)}
        more = interleave({"torch": sides["torch"], **mixed}, settings.repeats, settings.warmup)
        rows += [compare(f"breakdown: {name}", ("torch", more["torch"]), (name, more[name])) for name in mixed]
    return rows
