"""The anchor: pytorch/examples' MNIST recipe (``mnist/main.py``), run as it is, data path included.

Faithful to https://github.com/pytorch/examples/blob/main/mnist/main.py: its ``Net`` (conv 1→32 3×3,
conv 32→64 3×3, max-pool 2, dropout 0.25, fc 9216→128, dropout 0.5, fc 128→10, log-softmax),
``F.nll_loss``, ``Adadelta(lr=1.0)``, ``StepLR(step_size=1, gamma=0.7)``, batch 64, test batch 1000,
seed 1, 14 epochs, a test after every epoch, and its data path: ``torchvision.datasets.MNIST`` with
``transforms.Compose([ToTensor(), Normalize((0.1307,), (0.3081,))])`` applied per sample, read
through a ``DataLoader``. On the CPU the recipe does not shuffle its training loader (``shuffle=True``
is only in its ``cuda_kwargs``); that is kept as it is.

One substitution: the data folder is dlref's (``--data-dir``, else ``$DLREF_DATA_DIR``, else
``./data``) with ``download=False`` rather than ``'../data'`` with ``download=True``, so that the
benchmark never reaches the network. Additions for the benchmark (``scripts/benchmarks/accuracy.py``),
none of which changes the training: ``--target`` stops after the first epoch whose test accuracy reaches it,
``--json-out`` writes one line per epoch with the seconds spent in ``train()`` (``test()`` excluded)
and the test accuracy.

    python scripts/pytorch_examples_mnist.py                     # the recipe, 14 epochs
    python scripts/pytorch_examples_mnist.py --target 0.99 --json-out anchor.jsonl
"""

import argparse
import json
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn, optim
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

from dlref.data.mnist import data_dir


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        output = F.log_softmax(x, dim=1)
        return output


def train(args, model, device, train_loader, optimizer, epoch):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        if batch_idx % args.log_interval == 0:
            print("Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}".format(  # noqa: UP032 (the recipe's line)
                epoch, batch_idx * len(data), len(train_loader.dataset),
                100.0 * batch_idx / len(train_loader), loss.item()))
            if args.dry_run:
                break


def test(model, device, test_loader):
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction="sum").item()  # sum up batch loss
            pred = output.argmax(dim=1, keepdim=True)  # get the index of the max log-probability
            correct += pred.eq(target.view_as(pred)).sum().item()
    test_loss /= len(test_loader.dataset)
    print("\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\n".format(  # noqa: UP032
        test_loss, correct, len(test_loader.dataset), 100.0 * correct / len(test_loader.dataset)))
    return correct / len(test_loader.dataset)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="PyTorch MNIST Example (pytorch/examples)")
    parser.add_argument("--batch-size", type=int, default=64, metavar="N",
                        help="input batch size for training (default: 64)")
    parser.add_argument("--test-batch-size", type=int, default=1000, metavar="N",
                        help="input batch size for testing (default: 1000)")
    parser.add_argument("--epochs", type=int, default=14, metavar="N", help="number of epochs to train (default: 14)")
    parser.add_argument("--lr", type=float, default=1.0, metavar="LR", help="learning rate (default: 1.0)")
    parser.add_argument("--gamma", type=float, default=0.7, metavar="M", help="Learning rate step gamma (default: 0.7)")
    parser.add_argument("--no-cuda", action="store_true", default=False, help="disables CUDA training")
    parser.add_argument("--dry-run", action="store_true", default=False, help="quickly check a single pass")
    parser.add_argument("--seed", type=int, default=1, metavar="S", help="random seed (default: 1)")
    parser.add_argument("--log-interval", type=int, default=10, metavar="N",
                        help="how many batches to wait before logging training status")
    parser.add_argument("--data-dir", help="folder holding MNIST/raw/ (default: $DLREF_DATA_DIR or ./data)")
    parser.add_argument("--target", type=float, help="benchmark: stop after the first epoch with this test accuracy")
    parser.add_argument("--json-out", help="benchmark: append one JSON line per epoch (train seconds, test accuracy)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    use_cuda = not args.no_cuda and torch.cuda.is_available()
    torch.manual_seed(args.seed)
    device = torch.device("cuda" if use_cuda else "cpu")

    train_kwargs = {"batch_size": args.batch_size}
    test_kwargs = {"batch_size": args.test_batch_size}
    if use_cuda:
        cuda_kwargs = {"num_workers": 1, "pin_memory": True, "shuffle": True}
        train_kwargs.update(cuda_kwargs)
        test_kwargs.update(cuda_kwargs)

    transform = transforms.Compose([
        transforms.ToTensor(),
        transforms.Normalize((0.1307,), (0.3081,)),
    ])
    root = str(data_dir(args.data_dir))
    dataset1 = datasets.MNIST(root, train=True, download=False, transform=transform)
    dataset2 = datasets.MNIST(root, train=False, transform=transform)
    train_loader = DataLoader(dataset1, **train_kwargs)
    test_loader = DataLoader(dataset2, **test_kwargs)

    model = Net().to(device)
    optimizer = optim.Adadelta(model.parameters(), lr=args.lr)

    scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)
    seconds = 0.0
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        train(args, model, device, train_loader, optimizer, epoch)
        if use_cuda:
            torch.cuda.synchronize()
        seconds += time.perf_counter() - start
        accuracy = test(model, device, test_loader)
        scheduler.step()
        if args.json_out:
            with open(args.json_out, "a") as f:
                f.write(json.dumps({"epoch": epoch, "train_seconds": seconds, "test_acc": accuracy}) + "\n")
        if args.target is not None and accuracy >= args.target:
            break
    return 0


if __name__ == "__main__":
    sys.exit(main())
