"""``dlref demo`` without a browser: finding the runs, what the page shows for a drawing, the page's parts, and the
one sentence without a checkpoint. The networks here are untrained (built and saved as ``dlref fit`` saves them):
what is checked is the plumbing; tests/test_demo_browser.py checks trained networks' answers in Chromium."""

import base64
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from PIL import Image, ImageDraw

import dlref
from dlref.cli import main
from dlref.data import digit
from dlref.demo.models import Answer, NoNetworkError, answer_for, find_networks
from dlref.figures.digits import layer_outputs

# The key under which Lightning's ModelCheckpoint keeps its state in a checkpoint, as dlref fit's best.ckpt has it.
CHOSEN_BY = ("ModelCheckpoint{'monitor': 'val/acc', 'mode': 'max', 'every_n_train_steps': 0, 'every_n_epochs': 1, "
             "'train_time_interval': None}")


def save_checkpoint(path: Path, network: str, accuracy: float | None = None, **kwargs) -> Path:
    """An untrained network in the form ``dlref.load`` reads (what ``dlref fit`` writes), at ``path``; with
    ``accuracy``, the validation accuracy it was chosen on, recorded as ``dlref fit`` records it in best.ckpt."""
    torch.manual_seed(0)
    model = getattr(dlref.networks, network)(**kwargs)
    path.parent.mkdir(parents=True, exist_ok=True)
    chosen = {} if accuracy is None else {"callbacks": {CHOSEN_BY: {
        "best_model_score": torch.tensor(accuracy), "best_model_path": str(path.parent / "best.ckpt")}}}
    torch.save({"hyper_parameters": {"network": network, "network_kwargs": kwargs},
                "state_dict": {f"model.{k}": v for k, v in model.state_dict().items()}, **chosen}, path)
    return path


@pytest.fixture
def runs(tmp_path) -> Path:
    """runs/ with one small run of each network, as ``make train`` leaves it."""
    for network, kwargs in (("fcn", {"hidden": 32}), ("cnn", {}), ("lstm", {"hidden": 16})):
        save_checkpoint(tmp_path / "runs" / network / "version_0" / "checkpoints" / "best.ckpt", network, **kwargs)
    return tmp_path / "runs"


@pytest.fixture
def seven(tmp_path) -> Path:
    """A 7 drawn in black on the white canvas, as the page's Sketchpad saves it."""
    image = Image.new("RGB", (280, 280), "white")
    ImageDraw.Draw(image).line([(80, 50), (200, 50), (120, 240)], fill="black", width=24, joint="curve")
    image.save(tmp_path / "seven.png")
    return tmp_path / "seven.png"


def test_the_best_run_of_each_network_is_shown_never_one_that_learned_nothing(runs, capsys, monkeypatch):
    best = save_checkpoint(runs / "cnn" / "version_1" / "checkpoints" / "best.ckpt", "cnn", accuracy=0.981)
    newer = save_checkpoint(runs / "cnn" / "version_2" / "checkpoints" / "best.ckpt", "cnn", accuracy=0.104)
    os.utime(newer, (time.time() + 10, time.time() + 10))  # the newest run: a quick experiment at lr=5 (chance)
    (runs / "lstm" / "version_7" / "checkpoints").mkdir(parents=True)
    (runs / "lstm" / "version_7" / "checkpoints" / "last.ckpt").write_bytes(b"")  # interrupted: no best.ckpt
    save_checkpoint(runs / "fcn" / "version_1" / "checkpoints" / "best.ckpt", "fcn", accuracy=0.09, hidden=32)
    left_out = []
    found = find_networks(runs, left_out=left_out)
    assert list(found) == ["fcn", "cnn", "lstm"]  # side by side in the slides' order
    assert found["cnn"].path == best and found["cnn"].accuracy == pytest.approx(0.981)
    assert found["cnn"].about == f"{best} (validation accuracy 98.10%)"
    monkeypatch.chdir(runs.parent)  # as the page names it from the repository: the path the learner types
    assert found["cnn"].shown_path == "runs/cnn/version_1/checkpoints/best.ckpt"
    assert found["lstm"].path.parts[-3] == "version_0" and found["lstm"].accuracy is None  # records none: still shown
    assert found["fcn"].path.parts[-3] == "version_0"  # its only other run learned nothing
    assert sorted(left_out) == [f"{runs / 'cnn/version_2/checkpoints/best.ckpt'} (val accuracy 10.4%, about chance)",
                                f"{runs / 'fcn/version_1/checkpoints/best.ckpt'} (val accuracy 9.0%, about chance)"]
    (runs / "cnn" / "version_1" / "checkpoints" / "best.ckpt").write_bytes(b"damaged")  # another run serves instead
    assert find_networks(runs)["cnn"].path.parts[-3] == "version_0"


def test_only_runs_that_learned_nothing_is_one_sentence_naming_them(tmp_path, capsys):
    save_checkpoint(tmp_path / "runs" / "fcn" / "version_0" / "checkpoints" / "best.ckpt", "fcn", accuracy=0.1)
    assert main(["demo", "--runs", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "found none (left out: " in err and "(val accuracy 10.0%, about chance)" in err


def test_given_checkpoints_are_shown_instead_and_named_by_their_runs(runs):
    paths = [runs / "cnn/version_0/checkpoints/best.ckpt", runs / "fcn/version_0/checkpoints/best.ckpt"]
    assert list(find_networks(runs / "elsewhere", paths)) == ["cnn", "fcn"]
    again = find_networks(runs, [*paths, save_checkpoint(runs / "cnn/version_4/checkpoints/best.ckpt", "cnn")])
    assert list(again) == ["cnn", "fcn", "cnn (version_4)"]


def test_a_drawing_gets_every_networks_probabilities_exactly_as_dlref_predict_computes_them(runs, seven):
    networks = find_networks(runs)
    answer = answer_for(networks, seven, chosen="cnn")
    X = digit(seven)  # the preprocessing of `dlref predict` and of the slide's two lines
    for name, network in networks.items():
        expected = network.model.predict(X).softmax(1)[0]
        shown = torch.tensor([answer.probabilities[name][str(c)] for c in range(10)])
        torch.testing.assert_close(shown, expected)
        assert abs(float(shown.sum()) - 1) < 1e-5
    assert answer.seen.shape == (28, 28, 3) and answer.seen.dtype.name == "uint8"
    # Figure 1.6: the input, then every layer but the class scores (shown as the probabilities)
    captions = [caption for _, caption in answer.layers]
    assert len(captions) == len(layer_outputs(networks["cnn"].model, X)) - 1
    assert captions[0] == "input: 28×28 pixels" and "ConvLayer, relu" not in captions[0]
    assert any("maps of 14×14" in c for c in captions)
    assert all(p.ndim == 3 and p.shape[2] == 3 for p, _ in answer.layers)
    lstm = [caption for _, caption in answer_for(networks, seven, chosen="lstm").layers]
    assert lstm[1].startswith("layer 1: LSTMLayer") and lstm[1].endswith("28 steps × 16 units")
    assert answer_for(networks, seven).layers == []  # no network chosen: no layers


def test_a_blank_canvas_shows_nothing(runs, tmp_path):
    Image.new("RGB", (280, 280), "white").save(tmp_path / "blank.png")
    answer = answer_for(find_networks(runs), tmp_path / "blank.png", chosen="cnn")
    assert answer.seen is None and answer.probabilities == {} and answer.layers == []


def test_without_a_checkpoint_one_sentence_says_how_to_make_one_as_the_readme_quotes_it(tmp_path, capsys,
                                                                                          monkeypatch):
    with pytest.raises(NoNetworkError):
        find_networks(tmp_path)
    monkeypatch.chdir(tmp_path)  # as in a fresh clone: runs/ is relative
    assert main(["demo"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    page = (Path(__file__).resolve().parent.parent / "docs" / "demo.md").read_text()
    assert err.strip() in page, f"docs/demo.md quotes another message than {err.strip()!r}"


def test_a_network_that_was_not_trained_is_one_sentence(runs, tmp_path, capsys):
    only_fcn = str(next(runs.glob("fcn/version_*/checkpoints/best.ckpt")))
    assert main(["demo", "--ckpt", only_fcn, "--network", "cnn"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dlref demo: error: expected --network to name a trained network (fcn), found 'cnn'; "
                          "train it first") and err.count("\n") == 1


def test_a_missing_or_broken_checkpoint_is_one_sentence(runs, tmp_path, capsys):
    (tmp_path / "broken.ckpt").write_bytes(b"not a checkpoint")
    for path, says in ((tmp_path / "missing.ckpt", "expected a checkpoint file"),
                       (tmp_path / "broken.ckpt", "expected a torch checkpoint")):
        assert main(["demo", "--ckpt", str(path)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("dlref demo: error: dlref.load") and says in err and err.count("\n") == 1


def test_without_the_demo_extra_one_sentence_says_how_to_install_it(runs, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "gradio", None)  # as if not installed: importing it raises ImportError
    assert main(["demo", "--runs", str(runs)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dlref demo: error: expected the demo extra (gradio), found it missing")
    assert "make demo" in err and err.count("\n") == 1


@pytest.mark.slow
def test_the_dlref_command_exits_non_zero_without_a_checkpoint(tmp_path):
    # The installed console script (pyproject's [project.scripts]), beside this interpreter in the environment.
    dlref_command = Path(sys.executable).with_name("dlref")
    done = subprocess.run([str(dlref_command), "demo", "--runs", str(tmp_path / "runs")],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert "make train" in done.stderr and len(done.stderr.strip().splitlines()) == 1


def needs_gradio():
    """The demo extra (``make setup-demo``): skipped without it, except in CI, which installs it."""
    return __import__("gradio") if os.environ.get("CI") else pytest.importorskip("gradio", reason="make setup-demo")


def test_the_canvas_png_is_answered_as_the_same_picture_read_from_a_file(runs, seven):
    needs_gradio()
    from dlref.demo.page import answer_for_png

    networks = find_networks(runs)
    url = "data:image/png;base64," + base64.b64encode(seven.read_bytes()).decode()
    assert answer_for_png(networks, url, "fcn").probabilities == answer_for(networks, seven, "fcn").probabilities
    for bad in (None, "", "data:image/png;base64,not base64!", "data:text/plain;base64,aGk="):
        assert answer_for_png(networks, bad, "fcn") == Answer()  # nothing drawn, or not a picture: nothing shown


def test_a_port_in_use_is_one_sentence(runs, capsys):
    needs_gradio()
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        assert main(["demo", "--runs", str(runs), "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"dlref demo: error: expected to listen on 127.0.0.1:{port}, found it could not")
    assert err.count("\n") == 1 and "--port" in err


def test_the_page_has_its_parts_and_talks_to_no_other_host(runs):
    gradio = needs_gradio()
    from dlref.demo.page import build

    page = build(find_networks(runs))
    assert isinstance(page, gradio.Blocks) and page.analytics_enabled is False
    ids = {getattr(block, "elem_id", None) for block in page.blocks.values()}
    assert {"canvas", "seen", "clear", "network", "layers", "probabilities-fcn", "probabilities-cnn",
            "probabilities-lstm"} <= ids
    network = next(b for b in page.blocks.values() if getattr(b, "elem_id", None) == "network")
    assert network.value == "cnn"


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_and_sigterm_end_the_page_with_130_and_143_and_restore_the_handlers(runs, monkeypatch, capsys,
                                                                                   signum, code):
    needs_gradio()
    from dlref.demo import page

    def serve(blocks, host, port):  # the page is up; the signal arrives while it serves
        os.kill(os.getpid(), signum)
        time.sleep(5)
        raise AssertionError("the signal did not stop the page")

    monkeypatch.setattr(page, "serve", serve)
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    assert main(["demo", "--runs", str(runs)]) == code
    said = "Ctrl-C (SIGINT)" if code == 130 else "SIGTERM"
    assert capsys.readouterr().err.startswith(f"dlref demo: stopped by {said}")
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
