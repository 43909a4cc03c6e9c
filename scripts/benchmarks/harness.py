"""The harness every section shares: interleaved timing, the three ratios, rows, the Markdown report.

A section times two (or more) runs of the same work, ``interleave`` calls them in alternating order
(A B, B A, A B, …) after a warm-up, so that a neighbour's load falls on both, and ``compare`` turns
their seconds into one row: the minimum and median of each side and three ratios of candidate to
baseline, of the minima, of the medians, and "paired" (the median of the ratios of runs timed back to
back). A target is judged on the paired ratio, the one a neighbour's load disturbs least.
"""

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
ANCHOR = ROOT / "scripts" / "pytorch_examples_mnist.py"  # pytorch/examples' MNIST recipe, run as it is
PAGE = ROOT / "docs" / "performance.md"  # the site's Performance page: --write puts the tables into it
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"  # the generated part of that page
NOT_MEASURED = "not measured"


@dataclass
class Settings:
    """How much each section measures: a full run by default, ``quick=True`` a smoke run of every section."""

    quick: bool = False
    repeats: int | None = None  # timed runs of each side of a short comparison (default 5; quick 2)
    warmup: int = 1  # untimed runs of each side first
    breakdown: bool = False  # core: also time each substitution alone
    out: Path = ROOT / "bench-out"  # logs of the subprocesses, the anchor's epochs
    anchor_from: Path | None = None  # accuracy: the anchor's epochs from this earlier out folder

    repeats_slow: int = field(init=False)  # of a long one: CNN and LSTM epochs, the per-sample loader
    steps: dict = field(init=False)  # training steps per timed run of each network; None: the whole epoch

    def __post_init__(self):
        self.repeats = self.repeats or (2 if self.quick else 5)
        self.repeats_slow = 2 if self.quick else 3
        self.steps = {"fcn": 60, "cnn": 10, "lstm": 20} if self.quick else {"fcn": None, "cnn": 100, "lstm": 200}


def sync(device) -> None:
    """Wait for the device's queued work, so the clock reads finished work (a no-op on the CPU)."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def interleave(runs: dict[str, Callable], repeats: int, warmup: int = 1) -> dict[str, list[float]]:
    """Seconds of each run, ``repeats`` times, in alternating order (A B, B A, …) after ``warmup`` untimed calls.

    A run that returns a number reports its own seconds (leaving its set-up out); otherwise the call is timed.
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


def _stats(seconds: list[float]) -> dict:
    return {"min": min(seconds), "median": statistics.median(seconds), "runs": list(seconds)}


def compare(name: str, baseline: tuple[str, list[float]], candidate: tuple[str, list[float]],
            target: float | None = None, note: str = "") -> dict:
    """A row of ratios, candidate / baseline; ``met`` (``paired ≤ target``) is None without a target."""
    (base_name, base), (cand_name, cand) = baseline, candidate
    a, b = _stats(base), _stats(cand)
    paired = statistics.median(y / x for x, y in zip(base, cand))
    ratio = {"min": b["min"] / a["min"], "median": b["median"] / a["median"], "paired": paired}
    return dict(name=name, baseline=base_name, candidate=cand_name, baseline_s=a, candidate_s=b, ratio=ratio,
                target=f"≤ {target:.2f}" if target else "", met=None if target is None else paired <= target,
                note=note)


def figure(name: str, value: str, target: str = "", met: bool | None = None, note: str = "") -> dict:
    """A row that is a single figure: seconds to an accuracy, megabytes, a speed-up, or why it is missing."""
    return dict(name=name, value=value, target=target, met=met, note=note)


def _seconds(s: float) -> str:
    return f"{s * 1e3:.2f} ms" if s < 1 else f"{s:.2f} s"


def _met(met: bool | None) -> str:
    return "" if met is None else "yes" if met else "**no**"


def markdown(rows: list[dict], machine: dict, mode: str) -> str:
    """The report: the machine, then per section (in the rows' order) a table of ratios and one of figures."""
    lines = [f"Measured {machine['date']} on {machine['summary']} ({mode} run: `{machine['command']}`). "
             f"Load average (1, 5, 15 min) before / after: {machine['load_before']} / {machine['load_after']}."
             + (f" {machine['kept']}" if machine.get("kept") else ""), ""]
    for section in dict.fromkeys(r["section"] for r in rows):
        ratios = [r for r in rows if r["section"] == section and "ratio" in r]
        single = [r for r in rows if r["section"] == section and "ratio" not in r]
        lines += [f"### {section}", ""]
        if ratios:
            lines += ["| comparison | baseline → candidate | baseline min / median | candidate min / median "
                      "| ratio: min · median · paired | target | met |", "|---|---|---|---|---|---|---|"]
            for r in ratios:
                a, b, q = r["baseline_s"], r["candidate_s"], r["ratio"]
                lines.append(f"| {r['name']} | {r['baseline']} → {r['candidate']} | {_seconds(a['min'])} / "
                             f"{_seconds(a['median'])} | {_seconds(b['min'])} / {_seconds(b['median'])} | "
                             f"{q['min']:.3f} · {q['median']:.3f} · **{q['paired']:.3f}** | {r['target']} | "
                             f"{_met(r['met'])} |")
            lines.append("")
        if single:
            lines += ["| figure | value | target | met |", "|---|---|---|---|"]
            lines += [f"| {r['name']} | {r['value']} | {r['target']} | {_met(r['met'])} |" for r in single]
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


def load(path: Path) -> tuple[list[dict], dict, str]:
    """The rows, machine and mode of a saved ``benchmarks.json``, each ratio computed again from its runs."""
    saved = json.loads(Path(path).read_text())
    rows = [r if "ratio" not in r else {"section": r["section"], **compare(
        r["name"], (r["baseline"], r["baseline_s"]["runs"]), (r["candidate"], r["candidate_s"]["runs"]),
        float(r["target"].split()[-1]) if r["target"] else None, r["note"])} for r in saved["rows"]]
    return rows, saved["machine"], saved["mode"]


def portable(arg: str) -> str:
    """An argument as the tables show it: no folder of this machine, ``/some/dir/a.json`` → ``…/a.json``."""
    if not os.path.isabs(arg):
        return arg
    path = Path(arg)
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else f"…/{path.name}"


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def machine_info(command: str) -> dict:
    """What the figures were measured on, and with which command."""
    import lightning

    cpu = platform.processor() or platform.machine()
    if Path("/proc/cpuinfo").exists():
        names = [line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")]
        cpu = names[0] if names else cpu
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    info = dict(cpu=cpu, logical_cpus=os.cpu_count(), torch_threads=torch.get_num_threads(), gpu=gpu,
                python=platform.python_version(), torch=torch.__version__, lightning=lightning.__version__,
                os=platform.platform(), date=time.strftime("%Y-%m-%d"), load_before=load_average(), command=command)
    threads = info["torch_threads"]
    info["summary"] = (f"{cpu}, {info['logical_cpus']} logical CPUs, torch {info['torch']} with {threads} "
                       f"thread{'s' if threads != 1 else ''}, lightning {info['lightning']}, Python "
                       f"{info['python']}, {gpu}")
    return info


# Started by a small Python, not by this (large) process: a forked child's peak RSS counts the memory
# of the process it was forked from until it execs, so measuring from here would report our own size.
_PEAK = """
import json, os, subprocess, sys
proc = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(proc.pid, 0)  # the child's peak, and of every process it waited for
json.dump({"code": os.waitstatus_to_exitcode(status), "maxrss_kb": usage.ru_maxrss}, open(sys.argv[1], "w"))
"""


def run_measured(command: list[str], log: Path, cwd: Path = ROOT) -> tuple[int, float, float]:
    """Run ``command``, its output into ``log``; return its exit code, wall seconds and peak resident MB.

    It runs with this process's torch thread count (``OMP_NUM_THREADS``), so ``--threads`` holds for it too.
    """
    result = log.with_suffix(".peak.json")
    env = {**os.environ, "OMP_NUM_THREADS": str(torch.get_num_threads())}
    with open(log, "w") as out:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", _PEAK, str(result), *map(str, command)], stdout=out,
                       stderr=subprocess.STDOUT, cwd=cwd, env=env, check=False)
        wall = time.perf_counter() - start
    peak = json.loads(result.read_text())
    return peak["code"], wall, peak["maxrss_kb"] / 1024  # Linux reports ru_maxrss in KB
