"""compile: ``torch.compile`` of the network in the plain loop against eager, FCN and CNN, compilation left out.

Every run trains a fresh copy of the recipe's weights, eager or compiled; the compiled copies reuse the
code compiled once before the timed runs (torch compiles per model structure, not per copy).
"""

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
        compiled = torch.compile(recipe.network)
        start = time.perf_counter()
        plain_epoch(recipe, 2, compiled)()  # compiles forward and backward
        first = time.perf_counter() - start
        s = interleave({"eager": plain_epoch(recipe, steps), "compiled": plain_epoch(recipe, steps, compiled)},
                       settings.repeats_slow, settings.warmup)
        rows.append(compare(f"{network.upper()} plain loop, {recipe.steps(steps)} steps", ("eager", s["eager"]),
                            ("torch.compile", s["compiled"]),
                            note=f"compiling took {first:.0f} s (a first run of two steps; less when torch's cache "
                                 "on disk holds the code already), left out of the timed runs"))
    return rows
