"""The benchmark script's pieces (``scripts/bench.py``): timing, ratios, the report, peak memory, one small run."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench", SCRIPTS / "bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_interleave_alternates_the_order_and_takes_a_runs_own_seconds(bench):
    calls = []
    runs = {"A": lambda: calls.append("A"), "B": lambda: calls.append("B") or 0.25}
    seconds = bench.interleave(runs, repeats=3, warmup=1)
    assert calls == ["A", "B", "A", "B", "B", "A", "A", "B"]  # warm-up, then A B, B A, A B
    assert seconds["B"] == [0.25, 0.25, 0.25] and len(seconds["A"]) == 3 and all(s >= 0 for s in seconds["A"])


def test_compare_gives_three_ratios_and_judges_the_target_on_the_paired_one(bench):
    # Run 3 of the baseline was slowed down by a neighbour: the minima and the pairs see through it.
    row = bench.compare("core", "x", ("torch", [2.0, 3.0, 10.0]), ("dlref", [2.1, 3.3, 3.6]), 1.05)
    assert row["ratio"]["min"] == pytest.approx(1.05) and row["ratio"]["median"] == pytest.approx(1.1)
    assert row["ratio"]["paired"] == pytest.approx(1.05)  # median of 1.05, 1.1, 0.36
    assert row["met"] is True and row["target"] == "≤ 1.05"
    assert bench.compare("core", "x", ("a", [1.0]), ("b", [1.2]), 1.05)["met"] is False
    assert bench.compare("core", "x", ("a", [1.0]), ("b", [1.2]))["met"] is None  # no target: nothing judged


def test_markdown_report_has_a_row_per_figure_and_splice_keeps_the_hand_written_text(bench):
    rows = [bench.compare("core", "FCN epoch", ("torch", [1.0, 1.2]), ("dlref", [1.1, 1.3]), 1.05, "same batches"),
            bench.figure("memory", "peak RSS", "812 MB", "", "< 1,000 MB", True),
            bench.figure("gpu", "CUDA epoch", f"{bench.NOT_MEASURED} (no CUDA device on this machine)", "")]
    machine = dict(date="2026-01-01", summary="a test machine", command="python scripts/bench.py --quick",
                   load_before="0.1", load_after="0.2")
    report = bench.markdown(rows, machine, "quick")
    assert ("| FCN epoch | torch → dlref | 1.00 s / 1.10 s | 1.10 s / 1.20 s | 1.100 · 1.091 · **1.092** | ≤ 1.05 "
            "| **no** |" in report)
    assert "| peak RSS | 812 MB | < 1,000 MB | yes |" in report and "not measured" in report
    assert report.index("### core") < report.index("### memory") < report.index("### gpu")
    document = "# Benchmarks\n\nintro\n\n" + bench.BEGIN + "\nold tables\n" + bench.END + "\n\n## Notes\nkept\n"
    spliced = bench.splice(document, report)
    assert "old tables" not in spliced and report in spliced and spliced.endswith("## Notes\nkept\n")
    assert bench.splice(spliced, "new\n").count(bench.BEGIN) == 1
    assert bench.BEGIN in bench.splice("# Benchmarks\n", report)  # no markers yet: appended with them


def test_peak_memory_is_the_childs_own_not_this_process(bench, tmp_path):
    allocate = [sys.executable, "-c", "b = bytearray(150 * 2**20); b[::4096] = b'x' * len(b[::4096])"]
    code, wall, peak = bench.run_measured(allocate, tmp_path / "child.log", cwd=tmp_path)
    assert code == 0 and wall > 0
    assert 150 <= peak < 260  # about 150 MB and the interpreter; this process (torch loaded) is larger


def test_a_small_run_keeps_earlier_sections_writes_json_and_markdown_and_renders_again(bench, tmp_path):
    machine = dict(date="2026-01-01", summary="m", command="python scripts/bench.py", load_before="1", load_after="2")
    earlier = tmp_path / "earlier.json"
    earlier.write_text(json.dumps({"machine": machine, "mode": "full", "rows": [
        bench.compare("core", "FCN epoch", ("torch", [1.0, 1.1]), ("dlref", [1.02, 1.12]), 1.05),
        bench.compare("layers", "an old layers row", ("a", [1.0]), ("b", [1.0]))]}))
    document = tmp_path / "BENCHMARKS.md"
    document.write_text(f"# Benchmarks\n\n{bench.BEGIN}\n{bench.END}\n\nnotes\n")
    assert bench.main(["--quick", "--only", "layers", "--repeats", "1", "--threads", "1", "--out", str(tmp_path),
                       "--keep", str(earlier), "--write", str(document)]) == 0
    figures = json.loads((tmp_path / "benchmarks.json").read_text())
    lstm = [r for r in figures["rows"] if r["name"].startswith("LSTM")]
    assert len(lstm) == 2 and all(r["ratio"]["paired"] > 0 and r["target"] == "≤ 1.50" for r in lstm)
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
