"""The benchmark suite (``make bench``): each comparison run side by side in one process, repeated.

    python scripts/bench.py                  # every section; about half an hour on 2 CPU cores
    python scripts/bench.py --quick          # a smoke run of every section in about a minute
    python scripts/bench.py --only core,data --repeats 7
    python scripts/bench.py --write          # also put the tables into BENCHMARKS.md

Sections (``--only``): ``core`` (the slide classes vs ``nn.Sequential`` + ``torch.optim.SGD``),
``lightning`` (a ``Trainer.fit`` epoch vs the plain ``dlref.train`` loop, FCN / CNN / LSTM), ``data``
(the DataModule's whole-batch loader vs a per-sample torchvision-style pipeline), ``layers``
(``LSTMLayer`` vs ``nn.LSTM``, ``ConvLayer`` vs ``nn.Conv2d``), ``accuracy`` (seconds of training to 98% /
99% MNIST test accuracy, against pytorch/examples' recipe, ``scripts/pytorch_examples_mnist.py``),
``memory`` (peak resident memory of ``make train`` and of that recipe), ``gpu`` (the same on CUDA).

How it measures: both sides of a comparison get the same data, the same batches in the same order
and the same number of steps; each is warmed up first, then the two are timed in alternation
(A B, B A, A B, …) so that a neighbour's load falls on both; the report gives the minimum and the
median of each, the ratio of the minima, of the medians, and the median of the ratios of runs timed
back to back ("paired"); targets are judged on the paired ratio, the one a neighbour's load disturbs
least. Nothing is synchronised per step: losses are summed on the device and read once per epoch.
The figures go to ``bench-out/benchmarks.md`` and ``bench-out/benchmarks.json``.
"""

import argparse
import copy
import itertools
import json
import logging
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

import dlref
from dlref import networks
from dlref.conv import ConvLayer
from dlref.data.batches import Batches
from dlref.data.mnist import data_dir, load_mnist, normalize
from dlref.data.split import holdout
from dlref.lstm import LSTMLayer
from dlref.recipes import RECIPES, SEED, VAL_SIZE

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ("core", "lightning", "data", "layers", "accuracy", "memory", "compile", "gpu")
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"  # the generated part of BENCHMARKS.md
NOT_MEASURED = "not measured"
ANCHOR_EPOCHS = 5  # the recipe runs 14; it reaches 99% well before 5, and the bench stops it there
_ANCHOR_PEAK = {}  # the recipe's exit code, wall seconds, peak memory, epochs: measured once, reported in memory


# ---------------------------------------------------------------- timing and reporting helpers


def sync(device) -> None:
    """Wait for the device's queued work, so the clock reads finished work (a no-op on the CPU)."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def interleave(runs: dict[str, Callable], repeats: int, warmup: int = 1) -> dict[str, list[float]]:
    """Seconds of each run, ``repeats`` times, in alternating order (A B, B A, …) after ``warmup`` untimed calls.

    A run that returns a number reports its own seconds (leaving set-up out); otherwise the call is timed.
    """
    for run in runs.values():
        for _ in range(warmup):
            run()
    seconds = {name: [] for name in runs}
    for r in range(repeats):
        for name in list(runs) if r % 2 == 0 else list(reversed(runs)):
            start = time.perf_counter()
            own = runs[name]()
            seconds[name].append(float(own) if own is not None else time.perf_counter() - start)
    return seconds


def stats(seconds: list[float]) -> dict:
    return {"min": min(seconds), "median": statistics.median(seconds), "runs": list(seconds)}


def compare(section: str, name: str, baseline: tuple[str, list[float]], candidate: tuple[str, list[float]],
            target: float | None = None, note: str = "") -> dict:
    """One row: candidate / baseline time as three ratios; ``met`` (``≤ target``) is judged on the paired one.

    ``min``: of the two minima; ``median``: of the two medians; ``paired``: the median of the ratios of the
    runs timed back to back (run ``i`` of each side), which share whatever load the machine had then.
    """
    (base_name, base), (cand_name, cand) = baseline, candidate
    a, b = stats(base), stats(cand)
    paired = statistics.median(y / x for x, y in zip(base, cand))
    ratio = {"min": b["min"] / a["min"], "median": b["median"] / a["median"], "paired": paired}
    return dict(section=section, name=name, baseline=base_name, candidate=cand_name, baseline_s=a, candidate_s=b,
                ratio=ratio, target=f"≤ {target:.2f}" if target else "", met=None if target is None
                else paired <= target, note=note)


def figure(section: str, name: str, value, unit: str, target: str = "", met: bool | None = None,
           note: str = "") -> dict:
    """One row that is a single figure (seconds to an accuracy, megabytes, a speed-up)."""
    return dict(section=section, name=name, value=value, unit=unit, target=target, met=met, note=note)


def fmt_seconds(s: float) -> str:
    return f"{s * 1e3:.2f} ms" if s < 1 else f"{s:.2f} s"


def fmt_met(met: bool | None) -> str:
    return "" if met is None else "yes" if met else "**no**"


def markdown(rows: list[dict], machine: dict, mode: str) -> str:
    """The report: the machine, then one table of ratios and one of single figures per section."""
    lines = [f"Measured {machine['date']} on {machine['summary']} ({mode} run: `{machine['command']}`). "
             f"Load average (1, 5, 15 min) before / after: {machine['load_before']} / {machine['load_after']}."
             + (f" {machine['kept']}" if machine.get("kept") else ""), ""]
    for section in SECTIONS:
        ratios = [r for r in rows if r["section"] == section and "ratio" in r]
        single = [r for r in rows if r["section"] == section and "ratio" not in r]
        if not ratios and not single:
            continue
        lines += [f"### {section}", ""]
        if ratios:
            lines += ["| comparison | baseline → candidate | baseline min / median | candidate min / median "
                      "| ratio: min · median · paired | target | met |", "|---|---|---|---|---|---|---|"]
            for r in ratios:
                a, b, q = r["baseline_s"], r["candidate_s"], r["ratio"]
                lines.append(f"| {r['name']} | {r['baseline']} → {r['candidate']} | {fmt_seconds(a['min'])} / "
                             f"{fmt_seconds(a['median'])} | {fmt_seconds(b['min'])} / {fmt_seconds(b['median'])} | "
                             f"{q['min']:.3f} · {q['median']:.3f} · **{q['paired']:.3f}** | {r['target']} | "
                             f"{fmt_met(r['met'])} |")
            lines.append("")
        if single:
            lines += ["| figure | value | target | met |", "|---|---|---|---|"]
            for r in single:
                value = r["value"] if isinstance(r["value"], str) else f"{r['value']:,.3g} {r['unit']}".strip()
                lines.append(f"| {r['name']} | {value} | {r['target']} | {fmt_met(r['met'])} |")
            lines.append("")
        notes = [f"- {r['name']}: {r['note']}" for r in ratios + single if r["note"]]
        lines += notes + ([""] if notes else [])
    return "\n".join(lines).rstrip() + "\n"


def splice(document: str, block: str) -> str:
    """``document`` with the text between the ``bench:begin`` / ``bench:end`` markers replaced by ``block``."""
    if BEGIN not in document or END not in document:
        return document.rstrip() + f"\n\n{BEGIN}\n{block}{END}\n"
    head, rest = document.split(BEGIN, 1)
    return f"{head}{BEGIN}\n{block}{END}{rest.split(END, 1)[1]}"


def _portable(arg: str) -> str:
    """An argument as the tables show it: no folder of this machine, ``/some/dir/a.json`` → ``…/a.json``."""
    if os.path.isabs(arg):
        path = Path(arg)
        return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else f"…/{path.name}"
    return arg


def machine_info() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        names = [line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    import lightning

    info = dict(cpu=cpu, logical_cpus=os.cpu_count(), torch_threads=torch.get_num_threads(), gpu=gpu,
                python=platform.python_version(), torch=torch.__version__, lightning=lightning.__version__,
                os=platform.platform(), date=time.strftime("%Y-%m-%d"),
                load_before=" ".join(f"{x:.2f}" for x in os.getloadavg()))
    threads = info["torch_threads"]
    info["summary"] = (f"{cpu}, {info['logical_cpus']} logical CPUs, torch {info['torch']} with {threads} "
                       f"thread{'s' if threads != 1 else ''}, lightning {info['lightning']}, Python "
                       f"{info['python']}, {gpu}")
    return info


# ---------------------------------------------------------------- data


class Data:
    """MNIST as the DataModule splits it (55,000 / 5,000, seeded), plus the raw uint8 images."""

    def __init__(self, device="cpu"):
        self.mnist = load_mnist()
        X, t = normalize(self.mnist.train_images), self.mnist.train_labels
        train_idx, val_idx = holdout(t, VAL_SIZE, seed=SEED)
        self.train_idx = train_idx
        self.train_X, self.train_t = X[train_idx].to(device), t[train_idx].to(device)
        self.test_X = normalize(self.mnist.test_images).to(device)
        self.test_t = self.mnist.test_labels.to(device)

    def epoch(self, batch_size: int = 128, steps: int | None = None):
        """The DataModule's first training epoch (same seed, same order), or its first ``steps`` batches.

        A fresh iterator per call, gathering each batch as it is asked for, as the DataModule's does.
        """
        epoch = Batches(self.train_X, self.train_t, batch_size, shuffle=True, seed=SEED)
        return itertools.islice(epoch, steps) if steps else epoch

    def steps(self, batch_size: int = 128, steps: int | None = None) -> int:
        whole = len(Batches(self.train_X, self.train_t, batch_size, shuffle=True))
        return min(whole, steps) if steps else whole


def _datamodule(data: Data, **kwargs):
    from dlref.lightning.datamodule import InMemoryDataModule

    class Preloaded(InMemoryDataModule):
        """The MNIST DataModule with the images already read and normalised (read once for the whole suite)."""

        def load(self, stage):
            m = data.mnist
            images, labels = (m.train_images, m.train_labels) if stage == "train" else (m.test_images, m.test_labels)
            return normalize(images), labels

    return Preloaded(**kwargs)


# ---------------------------------------------------------------- sections


def torch_fcn(model: dlref.Model) -> nn.Sequential:
    """The FCN's torch twin, with a copy of ``model``'s weights: Flatten, Linear, ReLU, Dropout, Linear."""
    first, last = model[1], model[-1]
    twin = nn.Sequential(nn.Flatten(), nn.Linear(first.in_features, first.out_features), nn.ReLU(),
                         nn.Dropout(model[2].p), nn.Linear(last.in_features, last.out_features))
    with torch.no_grad():
        for linear, layer in ((twin[1], first), (twin[4], last)):
            linear.weight.copy_(layer.W)
            linear.bias.copy_(layer.B)
    return twin.to(first.W.device)


def plain_epoch(model: nn.Module, epoch: Callable, loss_fn, optimizer_class, device, recipe: dict) -> Callable:
    """A run: a fresh copy of ``model`` and its optimizer, one pass of ``dlref.train`` over ``epoch()``, timed."""
    def run() -> float:
        fresh = copy.deepcopy(model)
        optimizer = optimizer_class(fresh.parameters(), lr=recipe["lr"], momentum=recipe["momentum"])
        batches = epoch()
        sync(device)
        start = time.perf_counter()
        dlref.train(fresh, batches, loss_fn, optimizer)  # reads the summed loss once, at the end: a sync
        return time.perf_counter() - start
    return run


def bench_core(data: Data, args, device) -> tuple[list[dict], dict[str, list[float]]]:
    torch.manual_seed(SEED)
    recipe = RECIPES["fcn"]
    ours = networks.fcn().to(device)
    twin = torch_fcn(ours)

    def batches():
        return data.epoch(recipe["batch_size"], args.steps_fcn)

    seconds = interleave({
        "torch": plain_epoch(twin, batches, F.cross_entropy, torch.optim.SGD, device, recipe),
        "dlref": plain_epoch(ours, batches, dlref.cross_entropy, dlref.SGD, device, recipe),
    }, args.repeats, args.warmup)
    steps = data.steps(recipe["batch_size"], args.steps_fcn)
    part = "epoch" if not args.steps_fcn else "part epoch"
    rows = [compare("core", f"FCN 784-800-10 {part}, plain loop ({steps} steps of {recipe['batch_size']})",
                    ("torch", seconds["torch"]), ("dlref", seconds["dlref"]), 1.05,
                    "torch: nn.Sequential(Flatten, Linear, ReLU, Dropout, Linear), torch.optim.SGD, F.cross_entropy; "
                    "dlref: Model of Layer / relu / Dropout, dlref.SGD, dlref.cross_entropy; both in dlref.train, "
                    "same weights, same batches")]
    if args.breakdown:  # which substitution costs what
        mixed = {
            "dlref model, torch SGD + loss": plain_epoch(ours, batches, F.cross_entropy, torch.optim.SGD, device,
                                                         recipe),
            "torch model, dlref SGD + loss": plain_epoch(twin, batches, dlref.cross_entropy, dlref.SGD, device,
                                                         recipe),
        }
        more = interleave({"torch": plain_epoch(twin, batches, F.cross_entropy, torch.optim.SGD, device, recipe),
                           **mixed}, args.repeats, args.warmup)
        rows += [compare("core", f"breakdown: {name}", ("torch", more["torch"]), (name, more[name]))
                 for name in mixed]
    return rows, seconds


class _Clock:
    """A Lightning callback timing the training loop (``on_train_start`` → ``on_train_end``)."""

    def __init__(self, device):
        import lightning.pytorch as pl

        clock = self

        class Clock(pl.Callback):
            def on_train_start(self, trainer, pl_module):
                sync(device)
                clock.start = time.perf_counter()

            def on_train_end(self, trainer, pl_module):
                sync(device)
                clock.seconds = time.perf_counter() - clock.start

        self.callback, self.seconds = Clock(), None


def lightning_epoch(network: str, state: dict, data: Data, steps: int | None, device, precision="32-true",
                    compile_model: bool = False) -> Callable[[], float]:
    """A run: ``Trainer.fit`` for one epoch (or ``steps`` batches) from the weights ``state``; its loop timed."""
    import lightning.pytorch as pl

    from dlref.lightning import Classifier

    def run() -> float:
        model = Classifier(network)  # the recipe's SGD, no schedule: the plain loop's optimizer
        model.model.load_state_dict(state)
        if compile_model:
            model.model = torch.compile(model.model)
        clock = _Clock(device)
        trainer = pl.Trainer(accelerator=torch.device(device).type, devices=1, max_epochs=1, precision=precision,
                             limit_train_batches=steps or 1.0, limit_val_batches=0, num_sanity_val_steps=0,
                             logger=False, enable_checkpointing=False, enable_progress_bar=False,
                             enable_model_summary=False, callbacks=[clock.callback])
        trainer.fit(model, datamodule=_datamodule(data, batch_size=RECIPES[network]["batch_size"]))
        return clock.seconds
    return run


def bench_lightning(data: Data, args, device, networks_=("fcn", "cnn", "lstm")) -> list[dict]:
    rows = []
    targets = {"fcn": 1.15, "cnn": 1.05, "lstm": 1.05}
    for network in networks_:
        torch.manual_seed(SEED)
        recipe = RECIPES[network]
        model = getattr(networks, network)().to(device)
        steps = {"fcn": args.steps_fcn, "cnn": args.steps_cnn, "lstm": args.steps_lstm}[network]

        def batches(recipe=recipe, steps=steps):
            return data.epoch(recipe["batch_size"], steps)

        seconds = interleave({
            "plain loop": plain_epoch(model, batches, dlref.cross_entropy, dlref.SGD, device, recipe),
            "Lightning": lightning_epoch(network, model.state_dict(), data, steps, device),
        }, args.repeats_slow if network != "fcn" else args.repeats, args.warmup)
        n = data.steps(recipe["batch_size"], steps)
        rows.append(compare("lightning", f"{network.upper()} {'epoch' if not steps else 'part epoch'} "
                            f"({n} steps)", ("plain loop", seconds["plain loop"]),
                            ("Lightning", seconds["Lightning"]), targets[network],
                            "Trainer.fit training loop (on_train_start → on_train_end: the epoch, the epoch-end "
                            "metrics), Classifier with torchmetrics accuracy and mean loss logged per epoch; plain: "
                            "dlref.train; same weights, batches and dlref.SGD" if network == "fcn" else ""))
    return rows


def bench_data(data: Data, args, fcn_epoch: float | None) -> list[dict]:
    from torch.utils.data import DataLoader, Subset
    from torchvision import datasets, transforms

    dm = _datamodule(data, batch_size=128)
    dm.setup("fit")
    loader = dm.train_dataloader()  # Batches: a new shuffled epoch per iter()
    n = len(data.train_idx)
    samples = args.data_samples or n  # --quick: part of an epoch, scaled up to a whole one
    # pytorch/examples' data path, as scripts/pytorch_examples_mnist.py runs it: torchvision's dataset, per sample
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    mnist = datasets.MNIST(str(data_dir()), train=True, transform=transform)
    per_sample = DataLoader(Subset(mnist, data.train_idx[:samples].tolist()), batch_size=128, shuffle=True,
                            generator=torch.Generator().manual_seed(SEED))
    scale = n / samples

    def ours() -> float:
        start = time.perf_counter()
        for _ in loader:
            pass
        return time.perf_counter() - start

    def theirs() -> float:
        start = time.perf_counter()
        for _ in per_sample:
            pass
        return (time.perf_counter() - start) * scale

    seconds = interleave({"per-sample": theirs, "DataModule": ours}, args.repeats_slow, args.warmup)
    row = compare("data", f"one training epoch of the loader alone ({n:,} images, batch 128)",
                  ("per-sample", seconds["per-sample"]), ("DataModule", seconds["DataModule"]),
                  note="per-sample: torchvision.datasets.MNIST with Compose([ToTensor(), Normalize]) per image "
                       "(the pytorch/examples MNIST data path) in a DataLoader(batch_size=128, shuffle=True, "
                       "num_workers=0); DataModule: dlref's Batches, one gather per batch"
                       + (f"; per-sample timed on {samples:,} images and scaled" if scale != 1 else ""))
    speedup = row["baseline_s"]["min"] / row["candidate_s"]["min"]
    rows = [row, figure("data", "speed-up of the DataModule's loader over the per-sample pipeline (min / min)",
                        f"{speedup:,.0f}×", "", "≥ 50×", speedup >= 50)]
    if fcn_epoch:
        share = row["candidate_s"]["min"] / fcn_epoch
        rows.append(figure("data", "loader epoch as a share of a plain-loop FCN epoch (min / min)", f"{share:.2%}",
                           "", "≤ 5%", share <= 0.05, "the FCN epoch from the core section"))
    return rows


def bench_layers(args, device) -> list[dict]:
    torch.manual_seed(SEED)
    rows = []
    batch = 128

    def fwd_bwd(module, X, read):
        def run():
            out = module(X)
            loss = out[1][0].sum() if read == "last" else out[0].sum() if isinstance(out, tuple) else out.sum()
            loss.backward()
            sync(device)
        return run

    twin = nn.LSTM(28, 128, batch_first=True).to(device)
    ours = LSTMLayer.from_torch(twin)
    X = torch.randn(batch, 28, 28, device=device)
    for read, what in (("last", "loss on h_T (a classifier)"), ("all", "loss on every h_t")):
        s = interleave({"nn.LSTM": fwd_bwd(twin, X, read), "LSTMLayer": fwd_bwd(ours, X, read)},
                       args.repeats_layers, 3)
        rows.append(compare("layers", f"LSTM forward + backward, batch {batch}, 28 steps, 28 → 128, {what}",
                            ("nn.LSTM", s["nn.LSTM"]), ("LSTMLayer", s["LSTMLayer"]), 1.5))
    for c_in, c_out, side in ((1, 16, 28), (16, 32, 14)):  # the default cnn()'s two layers
        conv = nn.Conv2d(c_in, c_out, 3, padding=1).to(device)
        X = torch.randn(batch, c_in, side, side, device=device, requires_grad=c_in > 1)
        for act, twin_act, label in ((dlref.identity, nn.Identity(), ""), (dlref.relu, nn.ReLU(), " + ReLU")):
            ours = ConvLayer.from_torch(conv, activate=act)
            theirs = nn.Sequential(conv, twin_act)
            s = interleave({"nn.Conv2d": fwd_bwd(theirs, X, "all"), "ConvLayer": fwd_bwd(ours, X, "all")},
                           args.repeats_layers, 3)
            rows.append(compare("layers", f"conv {c_in} → {c_out}, 3×3, {side}×{side}{label}, batch {batch}, "
                                "forward + backward", (f"nn.Conv2d{label}", s["nn.Conv2d"]),
                                (f"ConvLayer{label}", s["ConvLayer"]),
                                note="the two rows differ by dlref.relu against torch.relu (nn.ReLU)"
                                if label and c_in == 1 else ""))
    return rows


class _AccuracyClock:
    """Lightning callback: seconds of training (evaluation left out) and test accuracy, ``per_epoch`` times an epoch.

    The clock stops while the test set is evaluated, so only training counts; the run stops once ``target`` is met.
    """

    def __init__(self, data: Data, target: float, device, per_epoch: int = 4):
        import lightning.pytorch as pl

        clock, self.epochs, self.seconds = self, [], 0.0

        class AccuracyClock(pl.Callback):
            def on_train_epoch_start(self, trainer, pl_module):
                steps = trainer.num_training_batches  # the batches after which the test set is evaluated
                clock.marks = {round(steps * k / per_epoch) for k in range(1, per_epoch + 1)}
                sync(device)
                clock.start = time.perf_counter()

            def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
                if batch_idx + 1 not in clock.marks or trainer.should_stop:
                    return
                steps = trainer.num_training_batches
                sync(device)
                clock.seconds += time.perf_counter() - clock.start
                result = dlref.evaluate(pl_module.model, Batches(data.test_X, data.test_t, 1000), dlref.cross_entropy)
                clock.epochs.append({"epoch": round(trainer.current_epoch + (batch_idx + 1) / steps, 2),
                                     "train_seconds": clock.seconds, "test_acc": result["accuracy"]})
                if result["accuracy"] >= target:
                    trainer.should_stop = True
                clock.start = time.perf_counter()

        self.callback = AccuracyClock()


def ours_to_accuracy(name: str, target: float, data: Data, device) -> list[dict]:
    """``configs/<name>.yaml`` (what ``make train MODEL=<name>`` runs) until the test accuracy reaches ``target``."""
    import lightning.pytorch as pl
    import yaml

    from dlref.lightning import Classifier

    config = yaml.safe_load(open(ROOT / "configs" / f"{name}.yaml"))
    pl.seed_everything(config.get("seed_everything", SEED), verbose=False)
    clock = _AccuracyClock(data, target, device)
    trainer = pl.Trainer(**config.get("trainer", {}), accelerator=torch.device(device).type, devices=1,
                         limit_val_batches=0, num_sanity_val_steps=0, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, callbacks=[clock.callback])
    recipe = RECIPES[config["model"]["network"]]
    datamodule = _datamodule(data, **{"batch_size": recipe["batch_size"], **config.get("data", {})})
    trainer.fit(Classifier(**config["model"]), datamodule=datamodule)
    return clock.epochs


def _first(epochs: list[dict], target: float) -> dict | None:
    return next((e for e in epochs if e["test_acc"] >= target), None)


# Started by a small Python, not by this (large) process: a forked child's peak RSS counts the memory
# of the process it was forked from until it execs, so measuring from here would report our own size.
_PEAK = """
import json, os, subprocess, sys
proc = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(proc.pid, 0)  # the child's peak, and of every process it waited for
json.dump({"code": os.waitstatus_to_exitcode(status), "maxrss_kb": usage.ru_maxrss}, open(sys.argv[1], "w"))
"""


def run_measured(command: list[str], log: Path, cwd: Path = ROOT) -> tuple[int, float, float]:
    """Run ``command``; return its exit code, wall seconds and peak resident memory in MB (it or a child).

    It runs with this process's torch thread count (``OMP_NUM_THREADS``), so ``--threads`` holds for it too.
    """
    result = log.with_suffix(".peak.json")
    env = {**os.environ, "OMP_NUM_THREADS": str(torch.get_num_threads())}
    with open(log, "w") as out:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", _PEAK, str(result), *command], stdout=out, stderr=subprocess.STDOUT,
                       cwd=cwd, env=env, check=False)
        wall = time.perf_counter() - start
    peak = json.loads(result.read_text())
    return peak["code"], wall, peak["maxrss_kb"] / 1024  # Linux reports ru_maxrss in KB


def bench_accuracy(data: Data, args, device, out: Path) -> list[dict]:
    if args.quick:
        return [figure("accuracy", "time to 98% (FCN) / 99% (CNN) test accuracy", "not run in --quick", "")]
    rows, anchor_log = [], out / "anchor-accuracy.jsonl"
    if args.anchor_from:  # the recipe's figures from an earlier run on this machine: it takes ~10 minutes
        earlier = Path(args.anchor_from)
        anchor = [json.loads(line) for line in (earlier / "anchor-accuracy.jsonl").read_text().splitlines()]
        code, wall, peak = 0, None, None
    else:
        anchor_log.unlink(missing_ok=True)
        code, wall, peak = run_measured([sys.executable, str(ROOT / "scripts" / "pytorch_examples_mnist.py"),
                                         "--target", "0.99", "--epochs", str(ANCHOR_EPOCHS), "--json-out",
                                         str(anchor_log)], out / "anchor-accuracy.log")
        anchor = [json.loads(line) for line in anchor_log.read_text().splitlines()] if anchor_log.exists() else []
        _ANCHOR_PEAK.update(code=code, wall=wall, peak=peak, epochs=len(anchor))
    for config, target in (("fcn", 0.98), ("cnn", 0.99), ("cnn_fast", 0.99)):
        network = config.split("_")[0]
        ours = ours_to_accuracy(config, target, data, device)
        mine, theirs = _first(ours, target), _first(anchor, target)
        history = ", ".join(f"{e['epoch']}: {e['test_acc']:.2%}" for e in ours)
        rows.append(figure("accuracy", f"{network.upper()} ({config}.yaml): seconds of training to {target:.0%} "
                           "test accuracy", f"{mine['train_seconds']:.1f} s (epoch {mine['epoch']})" if mine
                           else f"not reached in {ours[-1]['epoch'] if ours else 0} epochs", "", "", None,
                           f"test accuracy every quarter epoch (epoch: accuracy): {history}"))
        if config != "cnn_fast":  # one row per target
            rows.append(figure("accuracy", f"pytorch/examples recipe: seconds of training to {target:.0%}",
                               f"{theirs['train_seconds']:.1f} s (epoch {theirs['epoch']})" if theirs
                               else f"not reached in {len(anchor)} epochs (exit {code})", "", "", None,
                               "the anchor (scripts/pytorch_examples_mnist.py): its Net, Adadelta lr 1.0, StepLR 0.7, "
                               "batch 64, per-sample data path, no shuffle on CPU as in the original; tested after "
                               "each epoch" + ("; its figures reused from an earlier run on this machine "
                                               "(--anchor-from)" if args.anchor_from else "")
                               if network == "fcn" else ""))
        if mine and theirs:
            ratio = mine["train_seconds"] / theirs["train_seconds"]
            rows.append(figure("accuracy", f"{network.upper()} ({config}.yaml) time to {target:.0%} / the recipe's",
                               f"{ratio:.2f}×", "", "", None))
        if config == "cnn_fast":
            rows.append(figure("accuracy", "CNN (cnn_fast.yaml): 99% within 20 s of training",
                               f"{mine['train_seconds']:.1f} s" if mine else "not reached", "", "≤ 20 s",
                               bool(mine) and mine["train_seconds"] <= 20))
    return rows


def bench_memory(args, out: Path) -> list[dict]:
    run_dir = Path(tempfile.mkdtemp(prefix="bench-train-", dir=out))
    extra = f"--trainer.default_root_dir={run_dir}"
    if args.quick:  # the whole data set is still read and held: memory is about the data, not the epochs
        extra += " --trainer.max_epochs=1 --trainer.limit_train_batches=20 --trainer.limit_val_batches=2"
    code, wall, peak = run_measured(["make", "--no-print-directory", "train", "MODEL=fcn", f"ARGS={extra}"],
                                    out / "make-train.log")
    rows = [figure("memory", f"peak resident memory of `make train` (FCN{', 1 short epoch' if args.quick else ''})",
                   f"{peak:,.0f} MB" if code == 0 else f"failed (exit {code}, see make-train.log)", "",
                   "< 1,000 MB (the pytorch/examples recipe's)", peak < 1000 if code == 0 else False,
                   f"{wall:.0f} s wall, including the test of the best checkpoint")]
    shutil.rmtree(run_dir, ignore_errors=True)  # its checkpoints and logs
    if args.quick:
        rows.append(figure("memory", "peak resident memory of the pytorch/examples recipe", "not run in --quick", ""))
        return rows
    if not _ANCHOR_PEAK:  # the accuracy section did not run it already
        anchor = [sys.executable, str(ROOT / "scripts" / "pytorch_examples_mnist.py"), "--epochs", "1"]
        code, wall, peak = run_measured(anchor, out / "anchor-memory.log")
        _ANCHOR_PEAK.update(code=code, wall=wall, peak=peak, epochs=1)
    a = _ANCHOR_PEAK
    epochs = f"{a['epochs']} epoch{'s' if a['epochs'] != 1 else ''}"
    rows.append(figure("memory", f"peak resident memory of the pytorch/examples recipe ({epochs}, a test after each)",
                       f"{a['peak']:,.0f} MB" if a["code"] == 0 else f"failed (exit {a['code']})", "", "", None,
                       f"{a['wall']:.0f} s wall; both read MNIST through torchvision.datasets.MNIST"))
    return rows


def bench_compile(data: Data, args, device) -> list[dict]:
    """``torch.compile`` of the model in the plain loop: steady-state epochs, the compilation left out."""
    if args.quick:
        return [figure("compile", "torch.compile(model) vs eager, plain loop", "not run in --quick", "")]
    rows = []
    for network in ("fcn", "cnn"):
        torch.manual_seed(SEED)
        recipe = RECIPES[network]
        eager = getattr(networks, network)().to(device)
        compiled = torch.compile(copy.deepcopy(eager))
        steps = {"fcn": args.steps_fcn, "cnn": args.steps_cnn}[network]

        def run(model, recipe=recipe, steps=steps):
            optimizer = dlref.SGD(model.parameters(), lr=recipe["lr"], momentum=recipe["momentum"])
            batches = data.epoch(recipe["batch_size"], steps)
            sync(device)
            start = time.perf_counter()
            dlref.train(model, batches, dlref.cross_entropy, optimizer)
            return time.perf_counter() - start

        start = time.perf_counter()
        run(compiled, steps=2)  # compiles forward and backward
        first = time.perf_counter() - start
        s = interleave({"eager": lambda m=eager: run(m), "compiled": lambda m=compiled: run(m)},
                       args.repeats_slow, args.warmup)
        n = data.steps(recipe["batch_size"], steps)
        rows.append(compare("compile", f"{network.upper()} plain loop, {n} steps", ("eager", s["eager"]),
                            ("torch.compile", s["compiled"]),
                            note=f"compiling took {first:.0f} s (first two steps); the runs keep training the same "
                                 "two models, so the weights move on between repeats"))
    return rows


def bench_gpu(args) -> list[dict]:
    if not torch.cuda.is_available():
        return [figure("gpu", name, f"{NOT_MEASURED} (no CUDA device on this machine)", "") for name in (
            "Lightning fit epoch on CUDA, FCN / CNN / LSTM (data kept on the device)",
            "bf16 mixed precision (--trainer.precision=bf16-mixed) vs 32-true, CNN epoch",
            "torch.compile vs eager, CNN epoch")]
    device = "cuda"
    data = Data(device)
    rows = [dict(r, section="gpu", name=f"CUDA: {r['name']}") for r in bench_lightning(data, args, device)]
    torch.manual_seed(SEED)
    state = networks.cnn().state_dict()
    steps = args.steps_cnn
    s = interleave({"32-true": lightning_epoch("cnn", state, data, steps, device),
                    "bf16-mixed": lightning_epoch("cnn", state, data, steps, device, precision="bf16-mixed")},
                   args.repeats_slow, args.warmup)
    rows.append(compare("gpu", "CNN fit epoch, bf16-mixed vs 32-true", ("32-true", s["32-true"]),
                        ("bf16-mixed", s["bf16-mixed"])))
    s = interleave({"eager": lightning_epoch("cnn", state, data, steps, device),
                    "compiled": lightning_epoch("cnn", state, data, steps, device, compile_model=True)},
                   args.repeats_slow, max(args.warmup, 1))
    rows.append(compare("gpu", "CNN fit epoch, torch.compile(model) vs eager", ("eager", s["eager"]),
                        ("compiled", s["compiled"]), note="each compiled run compiles again: the first epoch's cost"))
    return rows


# ---------------------------------------------------------------- main


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smoke run of every section in about a minute")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections of {SECTIONS}")
    parser.add_argument("--repeats", type=int, help="timed runs of each side, interleaved (default 5; quick 2)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs of each side first (default 1)")
    parser.add_argument("--threads", type=int, default=0, help="torch.set_num_threads; 0 keeps torch's default")
    parser.add_argument("--breakdown", action="store_true", help="core: also time each substitution on its own")
    parser.add_argument("--out", default=str(ROOT / "bench-out"), help="folder for benchmarks.md / .json")
    parser.add_argument("--write", nargs="?", const=str(ROOT / "BENCHMARKS.md"), metavar="PATH",
                        help="also put the tables into PATH (default BENCHMARKS.md), between its bench markers")
    parser.add_argument("--anchor-from", metavar="DIR",
                        help="accuracy: take the pytorch/examples recipe's figures from an earlier --out folder "
                             "(its anchor-accuracy.jsonl) instead of running it again (~10 minutes)")
    parser.add_argument("--render", metavar="JSON", help="measure nothing: make the tables from a benchmarks.json")
    parser.add_argument("--keep", metavar="JSON",
                        help="take the sections this run does not measure (see --only) from an earlier benchmarks.json")
    args = parser.parse_args(argv)
    unknown = set(args.only.split(",")) - set(SECTIONS)
    if unknown:
        parser.error(f"--only expected sections from {', '.join(SECTIONS)}, found {', '.join(sorted(unknown))}")
    quick = args.quick
    args.repeats = args.repeats or (2 if quick else 5)
    args.repeats_slow = 2 if quick else 3  # CNN / LSTM epochs, the per-sample loader
    args.repeats_layers = args.repeats * 5  # a few milliseconds each
    args.steps_fcn = 60 if quick else None  # None: the whole epoch (430 steps)
    args.steps_cnn = 10 if quick else 100
    args.steps_lstm = 20 if quick else 200
    args.data_samples = 5000 if quick else None
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    threads = torch.get_num_threads()
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        return run(args, argv)
    finally:
        torch.set_num_threads(threads)  # as it was, for a caller in the same process


def render(path: Path) -> tuple[list[dict], dict, str]:
    """The rows, machine and mode of a saved ``benchmarks.json``, the ratios computed again from its runs."""
    saved = json.loads(Path(path).read_text())
    rows = []
    for r in saved["rows"]:
        if "ratio" in r:
            target = float(r["target"].split()[-1]) if r["target"] else None
            r = compare(r["section"], r["name"], (r["baseline"], r["baseline_s"]["runs"]),
                        (r["candidate"], r["candidate_s"]["runs"]), target, r["note"])
        rows.append(r)
    return rows, saved["machine"], saved["mode"]


def write(report: str, path: Path) -> None:
    path.write_text(splice(path.read_text() if path.exists() else "# Benchmarks\n", report))
    print(f"bench: tables written into {path}", file=sys.stderr)


def run(args, argv) -> int:
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)  # no banner per fit
    if args.render:
        report = markdown(*render(Path(args.render)))
        print(report)
        if args.write:
            write(report, Path(args.write))
        return 0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    only = args.only.split(",")
    machine = machine_info()
    machine["command"] = " ".join(["python scripts/bench.py", *map(_portable, sys.argv[1:] if argv is None else argv)])
    device = "cpu"  # the CPU figures; CUDA ones go to the gpu section
    data = Data(device) if set(only) & {"core", "lightning", "data", "accuracy", "compile"} else None
    rows, fcn_epoch = [], None

    def section(name, fn):
        if name in only:
            start = time.perf_counter()
            print(f"bench: {name} …", file=sys.stderr, flush=True)
            rows.extend(fn())
            print(f"bench: {name} done in {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)

    def core():
        nonlocal fcn_epoch
        core_rows, seconds = bench_core(data, args, device)
        fcn_epoch = min(seconds["dlref"]) if args.steps_fcn is None else None
        if args.steps_fcn:  # --quick: a part epoch, scaled to the 430 steps of a whole one for the share
            fcn_epoch = min(seconds["dlref"]) * data.steps(128) / args.steps_fcn
        return core_rows

    section("core", core)
    section("lightning", lambda: bench_lightning(data, args, device))
    section("data", lambda: bench_data(data, args, fcn_epoch))
    section("layers", lambda: bench_layers(args, device))
    section("accuracy", lambda: bench_accuracy(data, args, device, out))
    section("memory", lambda: bench_memory(args, out))
    section("compile", lambda: bench_compile(data, args, device))
    section("gpu", lambda: bench_gpu(args))

    machine["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    mode = "quick" if args.quick else "full"
    if args.keep:  # the other sections' rows from an earlier run, said so in the report
        kept, earlier, _ = render(Path(args.keep))
        kept = [r for r in kept if r["section"] not in only]
        sections = sorted({r["section"] for r in kept}, key=SECTIONS.index)
        machine["kept"] = (f"Sections {', '.join(sections)} are from an earlier run, {earlier['date']} "
                           f"(`{earlier['command']}`, load average before / after {earlier['load_before']} / "
                           f"{earlier['load_after']}).")
        rows = sorted(rows + kept, key=lambda r: SECTIONS.index(r["section"]))
    report = markdown(rows, machine, mode)
    (out / "benchmarks.md").write_text(report)
    (out / "benchmarks.json").write_text(json.dumps({"machine": machine, "mode": mode, "args": vars(args),
                                                     "rows": rows}, indent=1, default=str))
    print(report)
    if args.write:
        write(report, Path(args.write))
    return 0


if __name__ == "__main__":
    sys.exit(main())
