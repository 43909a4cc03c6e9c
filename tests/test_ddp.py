"""Lightning's DDP on CPU (gloo): two processes train on disjoint shares and evaluate exactly like one.

DDP starts the other processes by running the same command line again, so the fit runs as a
subprocess of the ``dlref`` CLI (``python -m dlref.cli fit --trainer.strategy=ddp``),
never inside pytest's own process. ``ShardProbe`` rides along in every process (``--trainer.callbacks+=``)
and writes down which images that process was served; the test then checks that the training shares
are disjoint and cover the training set, that the evaluation shares cover the validation and test sets
exactly once, and that a single process evaluating the same checkpoint logs the same metrics.
"""

import csv
import hashlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import lightning.pytorch as pl
import pytest

from dlref.cli import main, runs
from dlref.cli.errors import UsageError
from dlref.cli.records import TEST_RESULTS
from dlref.lightning import Classifier, MNISTDataModule

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
FCN_CONFIG = REPO / "configs" / "fcn.yaml"
LIMIT, VAL_SIZE, BATCH = 700, 100, 60  # 600 training images: 300 per process, none dropped
# Variables a DDP launch sets for its children: a stale one would make the fit think it is a child.
DDP_ENV = ("LOCAL_RANK", "NODE_RANK", "WORLD_SIZE", "GLOBAL_RANK", "MASTER_ADDR", "MASTER_PORT", "PL_GLOBAL_SEED")


def fingerprint(X) -> list[str]:
    """One short hash per image of a batch (batch, 1, 28, 28): which images a process was served."""
    rows = X.detach().cpu().contiguous().flatten(1)
    return [hashlib.sha1(row.numpy().tobytes()).hexdigest()[:16] for row in rows]


class ShardProbe(pl.Callback):
    """Records the images each process sees, per stage, in ``default_root_dir/shards-rank<r>.json``."""

    def __init__(self):
        self.seen = {"train": [], "val": [], "test": []}

    def _record(self, trainer, stage, batch):
        if not trainer.sanity_checking:  # the sanity check's two batches are not part of the epoch
            self.seen[stage].extend(fingerprint(batch[0]))

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self._record(trainer, "train", batch)

    def on_validation_batch_start(self, trainer, pl_module, batch, batch_idx, dataloader_idx=0):
        self._record(trainer, "val", batch)

    def on_test_batch_start(self, trainer, pl_module, batch, batch_idx, dataloader_idx=0):
        self._record(trainer, "test", batch)

    def teardown(self, trainer, pl_module, stage):
        path = Path(trainer.default_root_dir) / f"shards-rank{trainer.global_rank}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"world_size": trainer.world_size, **self.seen}))


def _data_args(digits_root) -> list[str]:
    return ["--config", str(FCN_CONFIG), f"--data.data_dir={digits_root}", f"--data.limit={LIMIT}",
            f"--data.val_size={VAL_SIZE}", f"--data.batch_size={BATCH}", "--model.network_kwargs={'hidden': 64}",
            "--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false"]


def _metrics_csv(run_dir: Path) -> dict[str, float]:
    """The last logged value of each metric in a CSVLogger's ``metrics.csv``."""
    values = {}
    with open(run_dir / "metrics.csv") as f:
        for row in csv.DictReader(f):
            values.update({k: float(v) for k, v in row.items() if v not in ("", None) and "/" in k})
    return values


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in DDP_ENV}
    # The children import ShardProbe from this file; the repository stays importable from any cwd.
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), *filter(None, [env.get("PYTHONPATH")]), str(REPO)])
    env["OMP_NUM_THREADS"] = "1"  # two processes on a small CPU: one thread each, not two each fighting
    return env


def _fit_command(digits_root, out: Path, *extra) -> list[str]:
    return [sys.executable, "-m", "dlref.cli", "fit", *_data_args(digits_root), "--trainer.strategy=ddp",
            "--trainer.accelerator=cpu", "--trainer.max_epochs=1", f"--trainer.default_root_dir={out}",
            "--trainer.callbacks+=test_ddp.ShardProbe", *extra]


def _check_two_processes(digits_root, out: Path, tmp_path: Path) -> None:
    """The shares each process saw, the run folder rank 0 wrote, and the metrics against one process."""
    ranks = [json.loads((out / f"shards-rank{r}.json").read_text()) for r in range(2)]
    assert [r["world_size"] for r in ranks] == [2, 2]
    dm = MNISTDataModule(data_dir=str(digits_root), limit=LIMIT, val_size=VAL_SIZE, batch_size=BATCH)
    dm.setup("fit")
    dm.setup("test")
    for stage, X in (("train", dm.train_X), ("val", dm.val_X), ("test", dm.test_X)):
        whole = fingerprint(X)
        assert len(set(whole)) == len(whole), f"duplicate images in the {stage} set: shares cannot be told apart"
        shares = [share[stage] for share in ranks]
        assert all(len(s) == len(set(s)) for s in shares), f"{stage}: a process saw an image twice"
        assert not set(shares[0]) & set(shares[1]), f"{stage}: both processes saw the same image"
        assert sorted(shares[0] + shares[1]) == sorted(whole), f"{stage}: the shares do not cover the set"
    assert len(ranks[0]["train"]) == len(ranks[1]["train"]) == (LIMIT - VAL_SIZE) // 2  # equal steps per process

    # One run folder, written by rank 0 alone; then one process evaluates the same checkpoint.
    assert [p.name for p in (out / "fcn").iterdir()] == ["version_0"]
    run_dir = out / "fcn" / "version_0"
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["best.ckpt", "last.ckpt"]
    ddp_val = _metrics_csv(run_dir)
    ddp_test = json.loads((run_dir / TEST_RESULTS).read_text().splitlines()[0])
    best = ddp_test["ckpt_path"]
    assert best.endswith("best.ckpt") and ddp_test["test/acc"] > 0.6
    single = [*_data_args(digits_root), "--trainer.devices=1", "--trainer.accelerator=cpu", "--ckpt_path", best]
    trainer = pl.Trainer(accelerator="cpu", devices=1, logger=False, enable_progress_bar=False)
    single_val = trainer.validate(Classifier.load_from_checkpoint(best), datamodule=dm, verbose=False)[0]
    assert main(["validate", *single, f"--trainer.default_root_dir={tmp_path / 'single'}"]) == 0
    assert not (tmp_path / "single").exists()  # validate and test add no run folder
    assert main(["test", *single, f"--trainer.default_root_dir={tmp_path / 'single'}"]) == 0
    single_test = json.loads((run_dir / TEST_RESULTS).read_text().splitlines()[1])  # appended beside the run
    for name, ddp, one in (("val", ddp_val, single_val), ("test", ddp_test, single_test)):
        assert ddp[f"{name}/acc"] == one[f"{name}/acc"], (name, ddp, one)  # counts of correct images: exact
        assert ddp[f"{name}/loss"] == pytest.approx(one[f"{name}/loss"], rel=1e-6), (name, ddp, one)


@pytest.mark.slow
def test_two_process_ddp_fit_shards_the_data_and_evaluates_like_one_process(digits_root, tmp_path):
    out = tmp_path / "ddp"
    done = subprocess.run(_fit_command(digits_root, out, "--trainer.devices=2"), cwd=tmp_path, env=_env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    _check_two_processes(digits_root, out, tmp_path)


def _free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on, for the processes to meet at."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_nodes_on_one_machine_train_like_two_processes(digits_root, tmp_path):
    # Two "machines" of one process each, started as a cluster launcher (torchrun, SLURM) starts them: the
    # same command on each, told its node's rank and where to meet, on 127.0.0.1 with the gloo backend.
    port = _free_port()
    out = tmp_path / "nodes"
    nodes = [subprocess.Popen(_fit_command(digits_root, out, "--trainer.num_nodes=2", "--trainer.devices=1"),
                              cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              env={**_env(), "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port),
                                   "NODE_RANK": str(node), "LOCAL_RANK": "0", "WORLD_SIZE": "2"})
             for node in range(2)]
    outputs = [node.communicate(timeout=300)[0] for node in nodes]
    assert [node.returncode for node in nodes] == [0, 0], "\n".join(o[-3000:] for o in outputs)
    assert "test accuracy" in outputs[0] and "test accuracy" not in outputs[1]  # rank 0 reports
    assert not any("terminate called" in o for o in outputs)  # the group taken down in order (runs.end_process_group)
    _check_two_processes(digits_root, out, tmp_path)


@pytest.mark.slow
def test_two_nodes_started_by_torchrun_train_like_two_processes(digits_root, tmp_path):
    # The README's torchrun command, one per "machine", both on 127.0.0.1.
    port = _free_port()
    out = tmp_path / "torchrun"
    fit = _fit_command(digits_root, out, "--trainer.num_nodes=2", "--trainer.devices=1")[1:]  # after the python
    nodes = [subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--nnodes=2", "--nproc_per_node=1",
                               f"--node_rank={node}", "--master_addr=127.0.0.1", f"--master_port={port}", *fit],
                              cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env())
             for node in range(2)]
    outputs = [node.communicate(timeout=300)[0] for node in nodes]
    assert [node.returncode for node in nodes] == [0, 0], "\n".join(o[-3000:] for o in outputs)
    assert not any("terminate called" in o for o in outputs)  # scripts/torchrun_repeat.py runs this 10 times
    _check_two_processes(digits_root, out, tmp_path)


@pytest.mark.parametrize("ends", ["done", "failed"])
def test_a_command_takes_its_process_group_down_in_order(ends, tmp_path, monkeypatch, capsys):
    # Left to the interpreter's exit, a process whose group another still uses can abort ("terminate called
    # without an active exception") and leave its launcher waiting; every command ends its group itself.
    import torch.distributed as dist

    dist.init_process_group("gloo", store=dist.FileStore(str(tmp_path / "store"), 1), rank=0, world_size=1)
    waited, barrier = [], dist.barrier
    monkeypatch.setattr(dist, "barrier", lambda *a, **k: (waited.append(True), barrier(*a, **k)))

    def command():
        if ends == "failed":
            raise UsageError("a mistake")

    assert runs.run_command("dlref", command, []) == (0 if ends == "done" else 2)
    assert not dist.is_initialized()
    assert waited == ([True] if ends == "done" else [])  # after a failure the others may be gone: no wait
