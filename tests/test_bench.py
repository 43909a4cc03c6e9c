"""The benchmark (``scripts/bench.py``, ``scripts/benchmarks/``): the harness's timing, ratios and report, that
each comparison does the same work on both sides, and one small real run that writes the JSON and Markdown."""

import copy
import json
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from dlref import networks
from dlref.optimization import make_optimizer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import bench  # noqa: E402  (scripts/bench.py)
from benchmarks import accuracy, core, gpu, harness, loops  # noqa: E402  (scripts/benchmarks/)

pytestmark = pytest.mark.usefixtures("one_thread")


def test_interleave_alternates_the_order_and_takes_a_runs_own_seconds():
    calls = []
    runs = {"A": lambda: calls.append("A"), "B": lambda: calls.append("B") or 0.25}
    seconds = harness.interleave(runs, repeats=3, warmup=1)
    assert calls == ["A", "B", "A", "B", "B", "A", "A", "B"]  # warm-up, then A B, B A, A B
    assert seconds["B"] == [0.25, 0.25, 0.25] and len(seconds["A"]) == 3 and all(s >= 0 for s in seconds["A"])


def test_compare_gives_three_ratios_and_judges_the_target_on_the_paired_one():
    # Run 3 of the baseline was slowed down by a neighbour: the minima and the pairs see through it.
    row = harness.compare("x", ("torch", [2.0, 3.0, 10.0]), ("dlref", [2.1, 3.3, 3.6]), 1.05)
    assert row["ratio"]["min"] == pytest.approx(1.05) and row["ratio"]["median"] == pytest.approx(1.1)
    assert row["ratio"]["paired"] == pytest.approx(1.05)  # median of 1.05, 1.1, 0.36
    assert row["met"] is True and row["target"] == "≤ 1.05"
    assert harness.compare("x", ("a", [1.0]), ("b", [1.2]), 1.05)["met"] is False
    assert harness.compare("x", ("a", [1.0]), ("b", [1.2]))["met"] is None  # no target: nothing judged


def test_markdown_report_has_a_row_per_figure_and_splice_keeps_the_hand_written_text():
    rows = [{"section": "core", **harness.compare("FCN epoch", ("torch", [1.0, 1.2]), ("dlref", [1.1, 1.3]), 1.05,
                                                  "same batches")},
            {"section": "memory", **harness.figure("peak RSS", "812 MB", "< 1,000 MB", True)},
            {"section": "gpu", **harness.figure("CUDA epoch", f"{harness.NOT_MEASURED} (no CUDA device)")}]
    machine = dict(date="2026-01-01", summary="a test machine", command="python scripts/bench.py --quick",
                   load_before="0.1", load_after="0.2")
    report = harness.markdown(rows, machine, "quick")
    assert ("| FCN epoch | torch → dlref | 1.00 s / 1.10 s | 1.10 s / 1.20 s | 1.100 · 1.091 · **1.092** | ≤ 1.05 "
            "| **no** |" in report)
    assert "| peak RSS | 812 MB | < 1,000 MB | yes |" in report and "- FCN epoch: same batches" in report
    assert report.index("### core") < report.index("### memory") < report.index("### gpu")
    document = "# Benchmarks\n\nintro\n\n" + harness.BEGIN + "\nold tables\n" + harness.END + "\n\n## Notes\nkept\n"
    spliced = harness.splice(document, report)
    assert "old tables" not in spliced and report in spliced and spliced.endswith("## Notes\nkept\n")
    assert spliced.startswith("# Benchmarks\n\nintro\n\n")
    assert harness.splice(spliced, "new\n").count(harness.BEGIN) == 1
    assert harness.BEGIN in harness.splice("# Benchmarks\n", report)  # no markers yet: appended with them


def test_peak_memory_is_the_childs_own_not_this_process(tmp_path):
    allocate = [sys.executable, "-c", "b = bytearray(150 * 2**20); b[::4096] = b'x' * len(b[::4096])"]
    code, wall, peak = harness.run_measured(allocate, tmp_path / "child.log", cwd=tmp_path)
    assert code == 0 and wall > 0
    assert 150 <= peak < 260  # about 150 MB and the interpreter; this process (torch loaded) is larger


@pytest.mark.parametrize("dropout", [0.2, 0.0])
def test_cores_torch_twin_has_the_fcns_weights_and_layers_with_or_without_dropout(dropout):
    model = networks.fcn(dropout=dropout)
    twin = core.torch_twin(model)
    assert [type(m) for m in twin] == [nn.Flatten, nn.Linear, nn.ReLU] + [nn.Dropout] * (dropout > 0) + [nn.Linear]
    assert all(m.p == dropout for m in twin if isinstance(m, nn.Dropout))
    X = torch.randn(5, 1, 28, 28)
    torch.testing.assert_close(twin.eval()(X), model.eval()(X))
    with pytest.raises(ValueError, match="core expected an FCN"):
        core.torch_twin(networks.cnn())


def test_cores_torch_sgd_takes_the_same_step_as_dlref_sgd():
    h = {"optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "weight_decay": 5e-4, "nesterov": True}
    ours, theirs = nn.Linear(3, 2), nn.Linear(3, 2)
    theirs.load_state_dict(ours.state_dict())
    optimizers = [make_optimizer(ours.parameters(), h), core.torch_sgd(theirs.parameters(), h)]
    assert type(optimizers[1]) is torch.optim.SGD
    X = torch.randn(4, 3)
    for _ in range(3):
        for model, optimizer in zip((ours, theirs), optimizers):
            optimizer.zero_grad()
            model(X).square().sum().backward()
            optimizer.step()
    assert all(torch.equal(a, b) for a, b in zip(ours.parameters(), theirs.parameters()))


def test_the_plain_loop_and_lightning_do_the_same_work_on_a_recipe(mnist_root):
    # configs/lstm.yaml (no dropout): a one-cycle rate stepped per batch and clipped gradients, with SGD and a
    # tight clip so that each part of the recipe moves the weights: a loop that left one out would end elsewhere.
    recipe = loops.Recipe("lstm", "--trainer.max_epochs=1", f"--data.data_dir={mnist_root}", "--data.limit=1500",
                          "--data.val_size=500", "--model.optimizer=sgd", "--trainer.gradient_clip_val=0.01")
    start = copy.deepcopy(recipe.network)
    plain = copy.deepcopy(start)
    assert loops.plain_epoch(recipe, 3, plain, fresh=False)() > 0
    assert loops.fit_epoch(recipe, 3, fresh=False)() > 0
    lightning = recipe.cli.model.model
    for a, b, before in zip(plain.parameters(), lightning.parameters(), start.parameters()):
        torch.testing.assert_close(a, b)
        assert not torch.equal(a, before)
    assert [len(x) for x, _ in recipe.epoch(3)] == [128] * 3  # each run starts again from the first batch


def test_the_accuracy_clock_tests_four_times_an_epoch_and_stops_at_the_target(mnist_root):
    options = ("--trainer.max_epochs=1", f"--data.data_dir={mnist_root}", "--data.limit=1500", "--data.val_size=500")
    history = accuracy.ours("fcn", 1.01, "cpu", *options)  # never reached: every quarter of the epoch
    assert [e["epoch"] for e in history] == [0.25, 0.5, 0.75, 1.0]
    seconds = [e["train_seconds"] for e in history]
    assert seconds == sorted(seconds) and seconds[0] > 0 and all(0.5 < e["test_acc"] <= 1 for e in history)
    assert len(accuracy.ours("fcn", 0.0, "cpu", *options)) == 1  # reached at the first test: the fit stops


def test_every_section_is_run_by_the_runner_and_a_wrong_option_is_one_sentence(capsys):
    assert list(bench.SECTIONS) == ["core", "lightning", "data", "layers", "accuracy", "memory", "compile", "gpu"]
    assert all(callable(section.run) for section in bench.SECTIONS.values())
    if not torch.cuda.is_available():
        rows = gpu.run(harness.Settings(), "cuda")
        assert len(rows) == 3 and all(r["value"].startswith(harness.NOT_MEASURED) for r in rows)
    with pytest.raises(SystemExit):
        bench.parse_args(["--only", "core,nope"])
    assert "--only expected sections from core, lightning" in capsys.readouterr().err
    assert bench.parse_args(["--only", "gpu,core"]).only == ["core", "gpu"]  # always in the report's order
    with pytest.raises(SystemExit):
        bench.parse_args(["--only", "accuracy", "--anchor-from", "no/such/folder"])
    assert "--anchor-from expected no/such/folder/anchor-accuracy.jsonl" in capsys.readouterr().err


@pytest.mark.slow
def test_a_small_run_keeps_earlier_sections_writes_json_and_markdown_and_renders_again(tmp_path):
    machine = dict(date="2026-01-01", summary="m", command="python scripts/bench.py", load_before="1", load_after="2")
    earlier = tmp_path / "earlier.json"
    earlier.write_text(json.dumps({"machine": machine, "mode": "full", "rows": [
        {"section": "core", **harness.compare("FCN epoch", ("torch", [1.0, 1.1]), ("dlref", [1.02, 1.12]), 1.05)},
        {"section": "layers", **harness.compare("an old layers row", ("a", [1.0]), ("b", [1.0]))}]}))
    document = tmp_path / "BENCHMARKS.md"
    document.write_text(f"# Benchmarks\n\n{harness.BEGIN}\n{harness.END}\n\nnotes\n")
    assert bench.main(["--quick", "--only", "layers", "--repeats", "1", "--warmup", "0", "--threads", "1",
                       "--out", str(tmp_path),
                       "--keep", str(earlier), "--write", str(document)]) == 0
    figures = json.loads((tmp_path / "benchmarks.json").read_text())
    lstm = [r for r in figures["rows"] if r["name"].startswith("LSTM")]
    assert [r["candidate"] for r in lstm] == ["LSTMLayer", "LSTMLayer", "LSTMLayer(fast=False)"]
    assert all(r["ratio"]["paired"] > 0 for r in lstm) and [r["target"] for r in lstm] == ["≤ 1.50"] * 2 + [""]
    assert len([r for r in figures["rows"] if r["name"].startswith("conv")]) == 4
    assert figures["machine"]["logical_cpus"] >= 1 and figures["mode"] == "quick"
    assert [r["section"] for r in figures["rows"]][0] == "core"  # kept, in the sections' order
    assert not any(r["name"] == "an old layers row" for r in figures["rows"])  # measured again: replaced
    report = (tmp_path / "benchmarks.md").read_text()
    assert "Sections core are from an earlier run, 2026-01-01" in report and "| LSTM forward + backward" in report
    text = document.read_text()
    assert report in text and text.endswith("notes\n")
    again = tmp_path / "again.md"
    assert bench.main(["--render", str(tmp_path / "benchmarks.json"), "--write", str(again)]) == 0
    assert report in again.read_text()  # the same tables, from the JSON alone
