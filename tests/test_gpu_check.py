"""The device check runs end to end as it will on the lent GPU machine, whose image lacks jsonargparse, hydra,
gradio and more: every GPU row says "not measured" here, the report is written, and it uses the interpreter it
is given (no .venv, no network). One run of ``make gpu-check ARGS=--quick`` with those packages made absent."""

import importlib.util
import json
import os
import subprocess
import sys
from importlib.metadata import DistributionFinder
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# Put first on PYTHONPATH, it makes the packages the GPU image lacks absent as they are there: not importable
# and not installed (Lightning decides from the installed distributions whether LightningCLI can be used).
IMAGE = '''
import importlib.machinery, os, re, sys

MODULES = {"jsonargparse", "docstring_parser", "typeshed_client", "hydra", "omegaconf", "tensorboardX", "jupytext",
           "nbclient", "selenium", "gradio"}
DISTRIBUTIONS = {"jsonargparse", "docstring-parser", "typeshed-client", "hydra-core", "omegaconf", "tensorboardx",
                 "jupytext", "nbclient", "selenium", "gradio"}


class Image(importlib.machinery.PathFinder):
    @classmethod
    def find_spec(cls, fullname, path=None, target=None):
        return None if fullname.partition(".")[0] in MODULES else super().find_spec(fullname, path, target)

    @classmethod
    def find_distributions(cls, *args, **kwargs):
        return [d for d in super().find_distributions(*args, **kwargs)
                if re.sub(r"[-_.]+", "-", d.metadata["Name"] or "").lower() not in DISTRIBUTIONS]


if __name__ == "sitecustomize":
    sys.meta_path[:] = [Image if f is importlib.machinery.PathFinder else f for f in sys.meta_path]
    with open(os.environ["IMAGE_LOG"], "a") as log:  # each process that ran as on the image
        print(sys.executable, file=log)
'''


@pytest.fixture
def image(tmp_path) -> dict:
    """The environment of a process that sees only the GPU image's packages."""
    folder = tmp_path / "image"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(IMAGE)
    path = os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, "IMAGE_LOG": str(tmp_path / "image.log")}


def test_the_image_stub_hides_what_the_gpu_image_lacks(image):
    spec = importlib.util.spec_from_file_location("image_stub", Path(image["PYTHONPATH"].split(os.pathsep)[0],
                                                                    "sitecustomize.py"))
    stub = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(stub)  # not as sitecustomize: this process's imports stay as they are
    assert stub.Image.find_spec("jsonargparse") is None and stub.Image.find_spec("gradio.blocks") is None
    assert stub.Image.find_spec("lightning") is not None
    assert not list(stub.Image.find_distributions(DistributionFinder.Context(name="jsonargparse")))
    assert list(stub.Image.find_distributions(DistributionFinder.Context(name="lightning")))


@pytest.mark.slow
def test_the_device_check_writes_its_report_with_the_gpu_images_packages(tmp_path, image):
    done = subprocess.run(["make", "-s", "gpu-check", f"OUT={tmp_path / 'report'}", f"PYTHON={sys.executable}",
                           "ARGS=--quick"], cwd=REPO, capture_output=True, text=True, timeout=300, env=image)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert len(Path(image["IMAGE_LOG"]).read_text().splitlines()) >= 2  # the check and its pytest, as on the image
    report = json.loads((tmp_path / "report" / "gpu-check.json").read_text())
    sections = {row["section"] for row in report["rows"]}
    assert sections == {"tests", "gpu", "layers", "accuracy"}
    assert not any("failed" in row["name"] for row in report["rows"])
    tests = next(r["value"] for r in report["rows"] if r["section"] == "tests")
    assert "error" not in tests and "failed" not in tests, tests
    if not __import__("torch").cuda.is_available():
        assert all("not measured" in row["value"] for row in report["rows"] if row["section"] != "tests")
        assert "skipped" in tests and "passed" not in tests, tests  # the gpu-marked tests, collected and skipped
    assert (tmp_path / "report" / "gpu-check.md").read_text().startswith("Measured ")


def test_an_interpreter_without_torch_gets_one_sentence(tmp_path):
    # -S: no site-packages, so none of the check's packages (as a bare python3 on a machine without them)
    done = subprocess.run(["make", "-s", "gpu-check", f"OUT={tmp_path / 'report'}", f"PYTHON={sys.executable} -S"],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr, done.stderr
    assert "gpu-check: expected Python >= 3.10 with torch, torchvision, lightning" in done.stderr, done.stderr
    assert "without torch" in done.stderr and "PYTHON=" in done.stderr, done.stderr
    assert not (tmp_path / "report").exists()
