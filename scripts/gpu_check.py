"""The device check (``make gpu-check OUT=folder``): what one CUDA GPU adds to what the CPU tests and benchmarks prove.

    make gpu-check OUT=gpu-report PYTHON=python3     # on a machine with one GPU and torch, torchvision,
                                                     # lightning and torchmetrics installed

It runs with the interpreter it is given, never builds the project's ``.venv`` and never reaches the
network, and is sized for at most 8 minutes. It writes ``OUT/gpu-check.md`` and ``OUT/gpu-check.json``:

1. the ``gpu``-marked tests (CPU/GPU agreement of every layer and of SGD, a fit that keeps the data on
   the device, bf16 mixed precision, and no host read in a CUDA training step: ``set_sync_debug_mode``);
2. the benchmark's sections on CUDA: a Lightning fit epoch against the plain loop (FCN, CNN, LSTM),
   bf16-mixed against 32-true and ``torch.compile``, and ``LSTMLayer`` against cuDNN's ``nn.LSTM``;
3. the seconds of training to 99% test accuracy with ``configs/cnn_gpu.yaml`` (the data on the device,
   batches sliced there, the clock stopped while testing).

Without CUDA every GPU row says "not measured" and the report is still written: CI runs it that way.
Nothing on its path imports what the GPU image lacks (jsonargparse, hydra, gradio, …): ``tests/test_gpu_check.py``
runs it with those packages made unimportable. ``ARGS=--quick`` is its smoke run.
"""

import argparse
import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

# What the check imports besides the standard library, all on the GPU image: one sentence names any missing.
NEEDS = {"torch": "torch", "torchvision": "torchvision", "lightning": "lightning", "torchmetrics": "torchmetrics",
         "sklearn": "scikit-learn", "matplotlib": "matplotlib", "yaml": "pyyaml", "pytest": "pytest"}
missing = [package for module, package in NEEDS.items() if importlib.util.find_spec(module) is None]
if missing or sys.version_info < (3, 10):
    sys.exit(f"gpu-check: expected Python >= 3.10 with {', '.join(NEEDS.values())}, found {sys.executable} (Python "
             f"{sys.version.split()[0]}) {'without ' + ', '.join(missing) if missing else 'too old'}; pass an "
             "interpreter that has them: make gpu-check PYTHON=python3 on the GPU image, or PYTHON=.venv/bin/python.")

import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))  # scripts/benchmarks, also without the project installed
from benchmarks import accuracy, gpu, harness, layers  # noqa: E402

from dlref.cli.console import quiet  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TARGET = 0.99


def gpu_test_files() -> list[str]:
    """The test files that hold ``gpu``-marked tests. Only they are collected: a test module that needs a package
    the GPU image lacks (the demo's, the lessons') cannot stop the check, and collecting them costs nothing."""
    return sorted(str(path.relative_to(ROOT)) for path in (ROOT / "tests").glob("test_*.py")
                  if "mark.gpu" in path.read_text())


def gpu_tests(seconds: int) -> dict:
    """The ``gpu``-marked tests, run by pytest in a subprocess with this interpreter (a failed CUDA test cannot
    leave this process's device or sync-debug state behind), without third-party pytest plugins."""
    done = subprocess.run([sys.executable, "-m", "pytest", "-m", "gpu", "-q", "-p", "no:cacheprovider",
                           *gpu_test_files()], cwd=ROOT, capture_output=True, text=True, timeout=seconds,
                          env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
    summary = (done.stdout.strip().splitlines() or [""])[-1]
    counts = {word: int(n) for n, word in re.findall(r"(\d+) (passed|failed|skipped|error|deselected)", summary)}
    return harness.figure("gpu-marked tests (pytest -m gpu)", summary or f"exit {done.returncode}", "all pass",
                          done.returncode == 0 and counts.get("passed", 0) > 0 if torch.cuda.is_available() else None,
                          "" if done.returncode == 0 else done.stdout[-2000:])


def time_to_accuracy(device: str) -> dict:
    name = f"CNN (cnn_gpu.yaml): seconds of training to {TARGET:.0%} test accuracy on one GPU"
    if device != "cuda":
        return harness.figure(name, f"{harness.NOT_MEASURED} (no CUDA device on this machine)", "≤ 0.5 s")
    history = accuracy.ours("cnn_gpu", TARGET, device)
    first = next((e for e in history if e["test_acc"] >= TARGET), None)
    value = f"{first['train_seconds']:.2f} s (epoch {first['epoch']:g})" if first else "not reached"
    return harness.figure(name, value, "≤ 0.5 s", bool(first) and first["train_seconds"] <= 0.5,
                          ", ".join(f"{e['epoch']}: {e['test_acc']:.2%}" for e in history))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="folder for gpu-check.md and gpu-check.json")
    parser.add_argument("--quick", action="store_true", help="smaller benchmark runs (a smoke test of the check)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    settings = harness.Settings(quick=args.quick, repeats=3, out=out)
    machine = harness.machine_info("make gpu-check")
    start, rows = time.perf_counter(), []
    steps = [("tests", lambda: [gpu_tests(240)]),
             ("gpu", lambda: gpu.run(settings, device)),  # lightning on CUDA, bf16, compile; "not measured" on CPU
             ("layers", lambda: [r for r in layers.run(settings, device) if "LSTM" in r["name"]]
              if device == "cuda" else [harness.figure("LSTMLayer vs cuDNN nn.LSTM", harness.NOT_MEASURED)]),
             ("accuracy", lambda: [time_to_accuracy(device)])]

    def write() -> str:
        machine["load_after"] = harness.load_average()
        machine["seconds"] = round(time.perf_counter() - start, 1)
        (out / "gpu-check.json").write_text(json.dumps({"machine": machine, "rows": rows}, indent=1, default=str))
        report = harness.markdown(rows, machine, "device check")
        (out / "gpu-check.md").write_text(report)
        return report

    for section, step in steps:
        print(f"gpu-check: {section} … ({time.perf_counter() - start:.0f} s)", file=sys.stderr, flush=True)
        try:
            rows += [{"section": section, **row} for row in step()]
        except Exception as error:  # one failed part must not lose the others' figures
            rows.append({"section": section, **harness.figure(f"{section}: failed", f"{type(error).__name__}: "
                                                               f"{str(error).splitlines()[0][:300]}")})
        report = write()  # after each section: a run stopped at its time limit keeps what it measured
    print(report)
    print(f"gpu-check: {machine['seconds']:.0f} s; wrote {out / 'gpu-check.md'} and {out / 'gpu-check.json'}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    quiet()
    sys.exit(main())
