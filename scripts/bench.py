"""The benchmark suite (``make bench``): the sections of ``scripts/benchmarks/``, one report.

    python scripts/bench.py                  # every section (docs/performance.md says how long it takes)
    python scripts/bench.py --quick          # a smoke run of every section
    python scripts/bench.py --only core,data --repeats 7
    python scripts/bench.py --write          # also put the tables into docs/performance.md
    python scripts/bench.py --only accuracy --keep bench-out/benchmarks.json --write   # the others kept
    python scripts/bench.py --render bench-out/benchmarks.json --write                 # measure nothing

Sections: core (dlref's FCN vs the same network in torch), lightning (a fit epoch vs the plain loop),
data (the DataModule's loader vs torchvision's per-sample pipeline), layers (LSTMLayer vs nn.LSTM,
ConvLayer vs nn.Conv2d), accuracy (time to 98% / 99% test accuracy vs pytorch/examples' recipe),
memory (peak memory of `make train`), compile (torch.compile in the plain loop), gpu (on CUDA).
The figures go to ``bench-out/benchmarks.md`` and ``bench-out/benchmarks.json``.
"""

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

import torch
from benchmarks import accuracy, compiled, core, data, fit, gpu, harness, layers, memory

from dlref.cli.console import quiet

SECTIONS = {"core": core, "lightning": fit, "data": data, "layers": layers, "accuracy": accuracy,
            "memory": memory, "compile": compiled, "gpu": gpu}
DEVICE = {"gpu": "cuda"}  # every other section measures the CPU


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smoke run of every section")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections of {', '.join(SECTIONS)}")
    parser.add_argument("--repeats", type=int, help="timed runs of each side, interleaved (default 5; quick 2)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs of each side first (default 1)")
    parser.add_argument("--threads", type=int, default=0, help="torch.set_num_threads; 0 keeps torch's default")
    parser.add_argument("--breakdown", action="store_true", help="core: also time each substitution on its own")
    parser.add_argument("--out", default=str(harness.ROOT / "bench-out"), help="folder for benchmarks.md / .json")
    parser.add_argument("--write", nargs="?", const=str(harness.PAGE), metavar="PATH",
                        help="also put the tables into PATH (default docs/performance.md, the site's Performance "
                        "page), between its bench markers")
    parser.add_argument("--anchor-from", metavar="DIR", help="accuracy: the pytorch/examples recipe's epochs from an "
                        "earlier --out folder (its anchor-accuracy.jsonl) instead of running it again")
    parser.add_argument("--render", metavar="JSON", help="measure nothing: make the tables from a benchmarks.json")
    parser.add_argument("--keep", metavar="JSON", help="take the sections this run does not measure from an "
                        "earlier benchmarks.json")
    args = parser.parse_args(argv)
    unknown = set(args.only.split(",")) - set(SECTIONS)
    if unknown:
        parser.error(f"--only expected sections from {', '.join(SECTIONS)}, found {', '.join(sorted(unknown))}; "
                     "pass e.g. --only core,layers")
    args.only = [name for name in SECTIONS if name in args.only.split(",")]
    anchor = args.anchor_from and Path(args.anchor_from) / "anchor-accuracy.jsonl"
    for option, path in (("--render", args.render), ("--keep", args.keep), ("--anchor-from", anchor)):
        if path and not Path(path).is_file():  # found now, not after the sections before it have run
            parser.error(f"{option} expected {path}, written by an earlier run, found no such file; pass the "
                         "benchmarks.json (or, for --anchor-from, the --out folder) of a run that finished")
    return args


def measure(args, argv) -> tuple[list[dict], dict, str]:
    settings = harness.Settings(args.quick, args.repeats, args.warmup, args.breakdown, Path(args.out),
                                args.anchor_from and Path(args.anchor_from))
    settings.out.mkdir(parents=True, exist_ok=True)
    machine = harness.machine_info(" ".join(["python scripts/bench.py", *map(harness.portable, argv)]))
    rows = []
    for name in args.only:
        start = time.perf_counter()
        print(f"bench: {name} …", file=sys.stderr, flush=True)
        rows += [{"section": name, **row} for row in SECTIONS[name].run(settings, DEVICE.get(name, "cpu"))]
        print(f"bench: {name} done in {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    machine["load_after"] = harness.load_average()
    kept, earlier, _ = harness.load(Path(args.keep)) if args.keep else ([], None, None)
    kept = [r for r in kept if r["section"] not in args.only]
    if kept:  # the other sections' rows from an earlier run, said so in the report
        machine["kept"] = (f"Sections {', '.join(dict.fromkeys(r['section'] for r in kept))} are from an earlier run, "
                           f"{earlier['date']} (`{earlier['command']}`, load average before / after "
                           f"{earlier['load_before']} / {earlier['load_after']}).")
        rows = sorted(rows + kept, key=lambda r: list(SECTIONS).index(r["section"]))
    mode = "quick" if args.quick else "full"
    report = {"machine": machine, "mode": mode, "settings": asdict(settings), "rows": rows}
    saved = json.dumps(report, indent=1, default=lambda path: harness.portable(str(path)))  # no folder of this machine
    (settings.out / "benchmarks.json").write_text(saved)
    return rows, machine, mode


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    threads = torch.get_num_threads()
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        report = harness.markdown(*(harness.load(Path(args.render)) if args.render else measure(args, argv)))
    finally:
        torch.set_num_threads(threads)  # as it was, for a caller in the same process
    if not args.render:
        (Path(args.out) / "benchmarks.md").write_text(report)
    print(report)
    if args.write:
        path = Path(args.write)
        path.write_text(harness.splice(path.read_text() if path.exists() else "# Performance\n", report))
        print(f"bench: tables written into {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    quiet()  # no Lightning banners or tips per fit
    sys.exit(main())
