"""The device check runs end to end on a machine without CUDA: every GPU row says "not measured", the report
is written, and it uses the interpreter it is given (no .venv, no network)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_the_device_check_writes_its_report_without_a_gpu(tmp_path):
    done = subprocess.run(["make", "-s", "gpu-check", f"OUT={tmp_path / 'report'}", f"PYTHON={sys.executable}"],
                          cwd=REPO, capture_output=True, text=True, timeout=600, env={**os.environ})
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "report" / "gpu-check.json").read_text())
    sections = {row["section"] for row in report["rows"]}
    assert sections == {"tests", "gpu", "layers", "accuracy"}
    assert not any("failed" in row["name"] for row in report["rows"])
    if not __import__("torch").cuda.is_available():
        assert all("not measured" in row["value"] for row in report["rows"] if row["section"] != "tests")
        assert "skipped" in next(r["value"] for r in report["rows"] if r["section"] == "tests")
    assert (tmp_path / "report" / "gpu-check.md").read_text().startswith("Measured ")
