"""Time dlref.LSTMLayer against its twin nn.LSTM: forward + backward, same weights, same input.

``dlref.LSTMLayer`` is the path that runs by default (``fast=True``: dlref/lstm_fast.py); ``--literal``
adds the six equations of dlref/lstm.py under autograd (``fast=False``) as a third row. The runs are
timed in alternation (A, B, A, B, …) after a warm-up, so that a neighbour's load falls on all; the
report gives the minimum and the median of each and their ratios to nn.LSTM.

    python scripts/bench_lstm.py                      # batch 128, 28 steps, 28 → 128, float32
    python scripts/bench_lstm.py --repeats 200 --read last --literal
"""

import argparse
import statistics
import time

import torch
from torch import nn

from dlref.lstm import LSTMLayer


def step(module, X, read):
    H, (h_T, _) = module(X)
    (H.sum() if read == "all" else h_T.sum()).backward()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=128, help="sequences per batch")
    parser.add_argument("--time", type=int, default=28, help="steps per sequence (MNIST: 28 rows)")
    parser.add_argument("--input-size", type=int, default=28, help="features per step (MNIST: 28 pixels)")
    parser.add_argument("--hidden", type=int, default=128, help="hidden units")
    parser.add_argument("--repeats", type=int, default=100, help="timed runs of each, interleaved")
    parser.add_argument("--warmup", type=int, default=10, help="untimed runs of each first")
    parser.add_argument("--read", choices=["all", "last"], default="all",
                        help="the loss reads every h_t (all) or only h_T (last, as a classifier does)")
    parser.add_argument("--threads", type=int, default=0, help="torch.set_num_threads; 0 keeps torch's default")
    parser.add_argument("--literal", action="store_true", help="also time LSTMLayer(fast=False), the literal equations")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    torch.manual_seed(0)
    twin = nn.LSTM(args.input_size, args.hidden, batch_first=True)
    ours = LSTMLayer.from_torch(twin)
    X = torch.randn(args.batch, args.time, args.input_size)
    runs = {"nn.LSTM": lambda: step(twin, X, args.read), "dlref.LSTMLayer": lambda: step(ours, X, args.read)}
    if args.literal:
        literal = LSTMLayer.from_torch(twin, fast=False)
        runs["LSTMLayer(fast=False)"] = lambda: step(literal, X, args.read)
    for run in runs.values():
        for _ in range(args.warmup):
            run()
    seconds = {name: [] for name in runs}
    for _ in range(args.repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            seconds[name].append(time.perf_counter() - start)

    base = seconds["nn.LSTM"]
    print(f"batch {args.batch}, time {args.time}, {args.input_size} → {args.hidden}, float32, "
          f"{torch.get_num_threads()} threads, {args.repeats} interleaved repeats, loss reads {args.read}")
    for name, s in seconds.items():
        print(f"{name:22s} min {min(s) * 1e3:7.2f} ms  median {statistics.median(s) * 1e3:7.2f} ms  "
              f"ratio min {min(s) / min(base):.2f}  median {statistics.median(s) / statistics.median(base):.2f}")


if __name__ == "__main__":
    main()
