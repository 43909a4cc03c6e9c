"""``dlref demo``: the draw-a-digit page on this machine (the optional extra: ``pip install -e '.[demo]'``).

    dlref demo                                  # the best run of each network in runs/, on 127.0.0.1:7860
    dlref demo --ckpt runs/cnn/version_2/checkpoints/best.ckpt --port 8000
"""

import argparse
import os
import signal
import sys

import torch

from dlref.cli.errors import run, stop_on_signals
from dlref.cli.recipe import RUNS_DIR
from dlref.demo.models import find_networks


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dlref demo", description="Draw a digit in the browser and watch every trained "
                                "network classify it, layer by layer (Figures 1.5 and 1.6).")
    p.add_argument("--runs", default=RUNS_DIR, help="folder of the runs: of each network in "
                   "RUNS/{fcn,cnn,lstm}/version_N/checkpoints/, the best.ckpt with the highest validation accuracy is "
                   "shown (default: %(default)s)")
    p.add_argument("--ckpt", action="append", default=[], metavar="PATH",
                   help="a checkpoint to show instead (repeat for several)")
    p.add_argument("--network", help="the network whose layers are shown first (default: cnn when there is one)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s, this machine only)")
    p.add_argument("--port", type=int, default=7860, help="port to listen on (default: %(default)s)")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


def demo(args: argparse.Namespace) -> int:
    left_out = []
    networks = find_networks(args.runs, args.ckpt, left_out)  # first: no checkpoint is said before the slow import
    if args.network is not None and args.network not in networks:
        raise ValueError(f"expected --network to name a trained network ({', '.join(networks)}), found "
                         f"{args.network!r}; train it first (e.g. `make train MODEL={args.network}`) or leave "
                         "--network out.")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # also read by parts of Gradio that take no argument
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    try:
        import gradio  # noqa: F401  (first: dlref.demo.page may be imported already)

        from dlref.demo import page
    except ImportError as error:
        raise ValueError(f"expected the demo extra (gradio), found it missing ({error}); run `make demo`, "
                         "or `pip install -e '.[demo]'`.") from None
    torch.set_num_threads(1)  # one 28×28 digit through small networks: one thread answers soonest
    for network in networks.values():
        print(f"dlref demo: {network.name} from {network.about}", flush=True)
    for skipped in left_out:
        print(f"dlref demo: left out {skipped}", flush=True)
    try:
        page.serve(page.build(networks, args.network), args.host, args.port)
    except OSError as error:
        raise ValueError(f"expected to listen on {args.host}:{args.port}, found it could not "
                         f"({str(error).splitlines()[0][:120]}); pass another --port or --host.") from None
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    before = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    stop_on_signals()  # Ctrl-C and SIGTERM end the page with 130 and 143
    try:  # a ValueError (no network, no extra, a bad --ckpt, a taken port) is one sentence and exit code 2
        return run("dlref demo", lambda: demo(args), debug=args.debug)
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)


if __name__ == "__main__":
    sys.exit(main())
