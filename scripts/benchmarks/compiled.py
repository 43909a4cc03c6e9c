"""compile: ``torch.compile`` of the network in the plain loop against eager, FCN and CNN, compilation left out.

Each side keeps training its own copy of the recipe's network from run to run (a fresh copy would be
compiled again), each run with a fresh optimizer over the recipe's first epoch (or first steps).
"""

import copy
import time

import torch

from .harness import Settings, compare, figure, interleave
from .loops import Recipe, plain_epoch


def run(settings: Settings, device="cpu") -> list[dict]:
    if settings.quick:
        return [figure("torch.compile(model) vs eager, plain loop", "not run in --quick")]
    rows = []
    for network in ("fcn", "cnn"):
        recipe, steps = Recipe(network, "--trainer.max_epochs=1", device=device), settings.steps[network]
        eager = copy.deepcopy(recipe.network)
        compiled = torch.compile(copy.deepcopy(eager))
        start = time.perf_counter()
        plain_epoch(recipe, 2, compiled, fresh=False)()  # compiles forward and backward
        first = time.perf_counter() - start
        s = interleave({"eager": plain_epoch(recipe, steps, eager, fresh=False),
                        "compiled": plain_epoch(recipe, steps, compiled, fresh=False)},
                       settings.repeats_slow, settings.warmup)
        rows.append(compare(f"{network.upper()} plain loop, {recipe.steps(steps)} steps", ("eager", s["eager"]),
                            ("torch.compile", s["compiled"]),
                            note=f"compiling took {first:.0f} s (first two steps); the runs keep training the same "
                                 "two models, so the weights move on between repeats"))
    return rows
