"""Does a multi-node run always end? docs/scale-out.md's torchrun command on 127.0.0.1, N times, counting clean ends.

    DLREF_DATA_DIR=../shared/data .venv/bin/python scripts/torchrun_repeat.py --tries 10

Each try starts that page's command twice on this machine, as
two "machines" of one CPU process each (``--node_rank=0`` and ``1``, gloo, ``--master_addr=127.0.0.1``),
with ``--trainer.accelerator=cpu`` and, by default, small data and one epoch, so that a try takes seconds.
A try is clean when both torchrun commands exit 0 within ``--timeout`` seconds; otherwise both are killed
and the last lines of each are shown. Each try writes into its own temporary folder, removed after it. Not
part of ``make test``: it takes minutes, and ``tests/test_ddp.py`` runs the command once.
"""

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TORCHRUN = Path(sys.executable).parent / "torchrun"  # the venv's, beside this interpreter
# Variables a DDP launch sets for its children: a stale one would make the fit think it is a child.
DDP_ENV = ("RANK", "LOCAL_RANK", "NODE_RANK", "WORLD_SIZE", "GLOBAL_RANK", "MASTER_ADDR", "MASTER_PORT",
           "PL_GLOBAL_SEED", "DLREF_RUN_VERSION")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def command(node: int, port: int, config: str, extra: list[str]) -> list[str]:
    """The scale-out page's command for one "machine", on the CPU."""
    return [str(TORCHRUN), "--nnodes=2", "--nproc_per_node=1", f"--node_rank={node}", "--master_addr=127.0.0.1",
            f"--master_port={port}", "-m", "dlref.cli", "fit", "--config", config, "--trainer.strategy=ddp",
            "--trainer.num_nodes=2", "--trainer.devices=1", "--trainer.accelerator=cpu", *extra]


def one_try(config: str, extra: list[str], timeout: float) -> tuple[bool, str]:
    """Both nodes of one run: ``(clean, what happened)``."""
    out = Path(tempfile.mkdtemp(prefix="torchrun-repeat-"))
    env = {k: v for k, v in os.environ.items() if k not in DDP_ENV}
    env.update(OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])))
    port = free_port()
    logs = [open(out / f"node{node}.log", "w+") for node in range(2)]
    nodes = [subprocess.Popen(command(node, port, config, [*extra, f"--trainer.default_root_dir={out / 'runs'}"]),
                              cwd=REPO, env=env, stdout=logs[node], stderr=subprocess.STDOUT, start_new_session=True)
             for node in range(2)]
    start, codes = time.monotonic(), [None, None]
    while None in codes and time.monotonic() - start < timeout:
        codes = [node.poll() for node in nodes]
        time.sleep(0.2)
    for node in nodes:
        if node.poll() is None:  # the launcher and its worker: the whole session
            os.killpg(node.pid, signal.SIGKILL)
            node.wait()
    seconds = time.monotonic() - start
    clean = codes == [0, 0]
    tails = []
    for node, log in enumerate(logs):
        log.seek(0)
        text = log.read()
        log.close()
        if not clean:
            tails.append(f"--- node {node} (exit {codes[node]}):\n" + "\n".join(text.splitlines()[-15:]))
    shutil.rmtree(out, ignore_errors=True)
    what = f"exit codes {codes}" + ("" if None not in codes else f" (killed after {timeout:.0f} s)")
    return clean, f"{what}, {seconds:.1f} s" + ("".join("\n" + t for t in tails))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=10, help="how many runs (10)")
    parser.add_argument("--timeout", type=float, default=180, help="seconds a try may take before it is killed (180)")
    parser.add_argument("--config", default="configs/cnn.yaml", help="the scale-out page's recipe (configs/cnn.yaml)")
    parser.epilog = ("Other options go to `dlref fit` (default: --data.limit=2000 --data.val_size=500 "
                     "--trainer.max_epochs=1 --trainer.enable_progress_bar=false).")
    args, extra = parser.parse_known_args(argv)
    extra = extra or ["--data.limit=2000", "--data.val_size=500", "--trainer.max_epochs=1",
                      "--trainer.enable_progress_bar=false"]
    clean = 0
    for k in range(args.tries):
        ok, what = one_try(args.config, extra, args.timeout)
        clean += ok
        print(f"try {k + 1}/{args.tries}: {'clean' if ok else 'NOT CLEAN'}, {what}", flush=True)
    print(f"torchrun_repeat: {clean} of {args.tries} tries ended cleanly (both nodes exit 0 within "
          f"{args.timeout:.0f} s)", flush=True)
    return 0 if clean == args.tries else 1


if __name__ == "__main__":
    sys.exit(main())
