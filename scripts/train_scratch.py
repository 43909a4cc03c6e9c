"""The slides' training loop on MNIST: Model of Layers, dlref.SGD, train, evaluate.

    python scripts/train_scratch.py --model fcn          # 784-800-10, ~98% test accuracy
    python scripts/train_scratch.py --model cnn --epochs 3

Validation accuracy after every epoch; the test set is evaluated once, at the end.
"""

import argparse
import math
import sys
import time

import torch

import dlref
from dlref import networks
from dlref.data.batches import Batches
from dlref.data.mnist import load_mnist, normalize
from dlref.data.split import holdout
from dlref.lightning.errors import debugging, run, stop_on_signals
from dlref.recipes import RECIPES, SEED, VAL_SIZE


def number(rule: str, ok):
    """An argparse type: a finite float obeying ``ok`` (``rule`` says which), else argparse's one-line error."""

    def parse(text: str) -> float:
        value = float(text)
        if not math.isfinite(value) or not ok(value):
            raise argparse.ArgumentTypeError(f"expected a finite number {rule}, found {text}")
        return value

    return parse


def count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, found {text}")
    return int(text)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=sorted(RECIPES), default="fcn", help="network to train (default: fcn)")
    parser.add_argument("--epochs", type=count, help="passes over the training set (default: the recipe's)")
    parser.add_argument("--batch-size", type=count, help="examples per SGD step (default: the recipe's)")
    parser.add_argument("--lr", type=number("> 0", lambda v: v > 0),
                        help="learning rate η in W ← W − η ∂L/∂W (default: the recipe's)")
    parser.add_argument("--momentum", type=number(">= 0", lambda v: v >= 0),
                        help="SGD momentum (default: the recipe's)")
    parser.add_argument("--schedule", choices=("none", "cosine"),
                        help="η per epoch: constant, or cosine-decayed to 0 over the epochs (default: the recipe's)")
    parser.add_argument("--limit", type=count, help="use only the first N training images (quick runs)")
    parser.add_argument("--data-dir", help="folder holding MNIST/raw/ (default: $DLREF_DATA_DIR or ./data)")
    parser.add_argument("--seed", type=int, default=SEED, help=f"seed for weights, split and shuffling ({SEED})")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", help="cpu or cuda")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    stop_on_signals()  # Ctrl-C or SIGTERM: one sentence and exit 130 or 143 (nothing here writes files)
    return run("train_scratch.py", lambda: _main(parse_args([a for a in argv if a != "--debug"])), lr_option="--lr ",
               debug=debugging(argv))


def _main(args) -> int:
    given = {k: v for k, v in vars(args).items() if k in RECIPES[args.model] and v is not None}
    recipe = {**RECIPES[args.model], **given}
    torch.manual_seed(args.seed)
    mnist = load_mnist(args.data_dir)
    device = torch.device(args.device)
    X, t = normalize(mnist.train_images).to(device), mnist.train_labels.to(device)
    if args.limit:
        X, t = X[: args.limit], t[: args.limit]
    train_idx, val_idx = holdout(t, VAL_SIZE if not args.limit else 0.1, seed=args.seed)
    train_data = Batches(X[train_idx], t[train_idx], recipe["batch_size"], shuffle=True, seed=args.seed)
    val_data = Batches(X[val_idx], t[val_idx], 1000)

    model = getattr(networks, args.model)().to(device)
    optimizer = dlref.SGD(model.parameters(), lr=recipe["lr"], momentum=recipe["momentum"],
                          weight_decay=recipe["weight_decay"])
    # torch's scheduler sets η in dlref.SGD's param_groups, as it would in torch.optim.SGD's.
    schedule = (torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=recipe["epochs"])
                if recipe["schedule"] == "cosine" else None)
    print(f"{args.model}: {sum(p.numel() for p in model.parameters()):,} parameters, {len(train_idx):,} train / "
          f"{len(val_idx):,} validation images, {recipe}")

    start = time.perf_counter()

    def report(epoch, loss):
        if schedule is not None:
            schedule.step()
        val = dlref.evaluate(model, val_data, dlref.cross_entropy)
        print(f"epoch {epoch + 1:2d}/{recipe['epochs']}  train loss {loss:.4f}  val loss {val['loss']:.4f}  "
              f"val accuracy {val['accuracy']:.2%}  ({time.perf_counter() - start:.1f} s)", flush=True)

    dlref.train(model, train_data, dlref.cross_entropy, optimizer, epochs=recipe["epochs"], on_epoch_end=report)
    seconds = time.perf_counter() - start
    test = Batches(normalize(mnist.test_images).to(device), mnist.test_labels.to(device), 1000)
    result = dlref.evaluate(model, test, dlref.cross_entropy)  # the test set, used once
    print(f"test accuracy {result['accuracy']:.2%}  test loss {result['loss']:.4f}  "
          f"({recipe['epochs']} epochs, {seconds:.1f} s of training)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
