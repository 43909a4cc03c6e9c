"""``dlref demo`` in a real browser: Debian's headless Chromium, driven by Selenium through Debian's chromedriver,
draws a 1 and a 7 with mouse strokes on the page, reads the prediction each network shows, and times each stroke.

The module trains a small FCN, CNN and LSTM with ``dlref fit`` (4,000 MNIST images, a second or two each) into its
own runs/ and starts ``dlref demo`` on a free port of 127.0.0.1. Its Python process gets a proxy that only
counts (``HTTP_PROXY`` … on 127.0.0.1): a request to any other host made through httpx, requests or urllib would
reach it. The browser's own requests are read from its log. ``.ci/run`` installs what this needs; elsewhere it is
skipped with the reason, in CI it fails instead.

The screenshot in docs/demo.md, with the networks of ``make train`` (…), comes from the same test given their runs:
    DLREF_DEMO_RUNS=runs DLREF_DEMO_SCREENSHOT=docs/figures/demo.png .venv/bin/pytest tests/test_demo_browser.py -s
"""

import ipaddress
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import urlopen

import chromium  # tests/chromium.py: Debian's Chromium, as these machines run it
import pytest
import torch

from dlref.cli import main

NETWORKS = ("fcn", "cnn", "lstm")
TARGET_MS = 200  # issue 17: the page answers each stroke within 200 ms on the 2-core CPU
CONFIGS = Path(__file__).resolve().parent.parent / "configs"
# Each stroke as points relative to the canvas's centre (the 280×280 paper is drawn about 288 px wide there).
ONE = [[(-12, -85), (8, -110), (8, 105)]]
SEVEN = [[(-65, -95), (65, -95)], [(65, -95), (-15, 110)]]  # the bar, then the stem: two strokes

# Recorded in the page: each pointerup, and each moment an output changed (text, a picture's src) or a picture
# finished loading. The status tracker's own timer is left out: it ticks while an answer is pending.
TIMING = """
const outputs = arguments[0].map((id) => document.getElementById(id));
window.dlrefTiming = {strokes: [], shown: []};
const shown = () => window.dlrefTiming.shown.push(performance.now());
document.addEventListener('pointerup', () => window.dlrefTiming.strokes.push(performance.now()), true);
const answer = (node) => { const e = node.nodeType === 1 ? node : node.parentElement;
                           return e && !e.closest('[data-testid="status-tracker"]'); };
for (const output of outputs) {
  new MutationObserver((records) => { if (records.some((r) => answer(r.target))) shown(); })
    .observe(output, {subtree: true, childList: true, characterData: true, attributeFilter: ['src']});
}
document.addEventListener('load', (e) => { if (e.target.tagName === 'IMG' && outputs.some((o) => o.contains(e.target)))
  shown(); }, true);
"""


chromium.require(("selenium", "gradio"), "setup-demo", "the browser test")

from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.wait import WebDriverWait  # noqa: E402

pytestmark = pytest.mark.slow  # three networks trained, a page served, a browser driven


class CountingProxy:
    """A TCP listener on 127.0.0.1 that counts the connections made to it and answers none."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            connection.close()


def listening(port: int) -> set[str]:
    """The IPv4 and IPv6 addresses with a socket listening on ``port``, from the kernel's tables."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:] if Path(table).exists() else []:
            local, state = row.split()[1], row.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                raw = bytes.fromhex(address)
                words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))  # little-endian 32-bit words
                found.add(str(ipaddress.ip_address(words)))
    return found


@pytest.fixture(scope="module")
def runs(tmp_path_factory, request) -> Path:
    """runs/ with a small FCN, CNN and LSTM trained by ``dlref fit`` (or ``$DLREF_DEMO_RUNS``, used as it is)."""
    if os.environ.get("DLREF_DEMO_RUNS"):
        return Path(os.environ["DLREF_DEMO_RUNS"]).resolve()
    mnist_root = request.getfixturevalue("mnist_root")
    root = tmp_path_factory.mktemp("runs")
    recipes = {"fcn": ["--trainer.max_epochs=2", "--model.network_kwargs={'hidden': 128}"],
               "cnn": ["--trainer.max_epochs=2"],
               "lstm": ["--trainer.max_epochs=3", "--model.network_kwargs={'hidden': 64}"]}
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # small batches: faster on one thread, and kinder to a shared machine
    try:
        for network, recipe in recipes.items():
            assert main(["fit", "--config", str(CONFIGS / f"{network}.yaml"), f"--data.data_dir={mnist_root}",
                         "--data.limit=4000", "--data.val_size=500", *recipe, f"--trainer.default_root_dir={root}",
                         "--trainer.enable_progress_bar=false", "--test_after_fit=false",
                         "--figures.enabled=false"]) == 0
    finally:
        torch.set_num_threads(before)
    return root


@pytest.fixture(scope="module")
def page(runs):
    """``dlref demo`` serving ``runs`` on 127.0.0.1: ``(url, proxy, process)``; stopped after the module."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proxy = CountingProxy()
    env = {**os.environ, "HTTP_PROXY": proxy.url, "HTTPS_PROXY": proxy.url, "ALL_PROXY": proxy.url,
           "http_proxy": proxy.url, "https_proxy": proxy.url, "all_proxy": proxy.url,
           "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, "-m", "dlref.cli", "demo", "--runs", str(runs),
                                "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env=env)
    lines = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("dlref demo: http://"):
            break
    url = f"http://127.0.0.1:{port}/"
    assert any(line.startswith(f"dlref demo: {url}") for line in lines), "".join(lines)
    assert listening(port) == {"127.0.0.1"}  # by default on this machine's loopback only, not on every interface
    threading.Thread(target=process.stdout.read, daemon=True).start()  # keep its pipe from filling up
    yield url, proxy, process
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    yield from chromium.browser({"performance": "ALL"})  # every request the page makes


def draw(driver, canvas, stroke) -> None:
    """One stroke with the mouse: press at the first point, move through the others in small steps, release."""
    actions = ActionChains(driver, duration=5)
    actions.move_to_element_with_offset(canvas, *stroke[0]).click_and_hold()
    for (x0, y0), (x1, y1) in zip(stroke, stroke[1:]):
        steps = 6
        for k in range(1, steps + 1):
            actions.move_by_offset(round((x1 - x0) * k / steps) - round((x1 - x0) * (k - 1) / steps),
                                   round((y1 - y0) * k / steps) - round((y1 - y0) * (k - 1) / steps))
    actions.release().perform()


def settle(driver, strokes_before: int, quiet: float = 0.6, limit: float = 15.0) -> float:
    """Wait until the page has answered the stroke just drawn and then stayed still for ``quiet`` seconds; return
    the milliseconds from the stroke's pointerup to the last change of an output (text, picture loaded)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        timing = driver.execute_script("return window.dlrefTiming")
        assert len(timing["strokes"]) == strokes_before + 1, f"expected one pointerup, found {timing['strokes']}"
        up = timing["strokes"][-1]
        after = [t for t in timing["shown"] if t > up]
        now = driver.execute_script("return performance.now()")
        if after and now - after[-1] > quiet * 1000:
            return after[-1] - up
        time.sleep(0.05)
    raise AssertionError(f"the page showed no answer within {limit} s of the stroke")


def shown_digits(driver) -> dict[str, str | None]:
    """The predicted digit each network's box shows (its headline), or None where it shows none."""
    digits = {}
    for network in NETWORKS:
        found = driver.find_elements(By.CSS_SELECTOR, f"#probabilities-{network} [data-testid='label-output-value']")
        digits[network] = found[0].text.strip() if found else None
    return digits


def test_drawn_digits_are_classified_in_chromium_each_stroke_answered_quickly_and_nothing_leaves_127_0_0_1(
        page, browser, tmp_path):
    url, proxy, process = page
    with urlopen(url, timeout=30) as response:  # the page answers, with its own title
        assert response.status == 200 and "dlref: draw a digit" in response.read().decode()
    browser.get(url)
    canvas = WebDriverWait(browser, 60).until(lambda b: b.find_element(By.CSS_SELECTOR, "#canvas canvas"))
    time.sleep(1.0)  # the canvas's first frame
    assert browser.title == "dlref: draw a digit"
    outputs = ["seen", "layers", *[f"probabilities-{n}" for n in NETWORKS]]
    browser.execute_script(TIMING, outputs)
    latencies = []

    def write(digit, strokes):
        for stroke in strokes:
            before = len(browser.execute_script("return window.dlrefTiming.strokes"))
            draw(browser, canvas, stroke)
            latencies.append(settle(browser, before))
        assert shown_digits(browser) == dict.fromkeys(NETWORKS, digit), f"the drawn {digit}"

    for network in NETWORKS:  # which run each network comes from, and how good it is
        about = browser.find_element(By.ID, f"about-{network}").text
        assert f"{network}/version_0/checkpoints/best.ckpt" in about and "validation accuracy" in about, about
    write("1", ONE)
    browser.find_element(By.ID, "clear").click()
    time.sleep(1.0)
    assert shown_digits(browser) == dict.fromkeys(NETWORKS)  # cleared: no prediction left
    assert not browser.find_elements(By.CSS_SELECTOR, "#seen img")
    write("7", SEVEN)

    # Figure 1.6 follows the chosen network
    browser.find_element(By.XPATH, "//*[@id='network']//label[normalize-space()='lstm']").click()
    deadline = time.monotonic() + 15
    while "LSTMLayer" not in browser.find_element(By.ID, "layers").text and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "LSTMLayer" in browser.find_element(By.ID, "layers").text
    browser.find_element(By.XPATH, "//*[@id='network']//label[normalize-space()='cnn']").click()
    deadline = time.monotonic() + 15
    while "ConvLayer" not in browser.find_element(By.ID, "layers").text and time.monotonic() < deadline:
        time.sleep(0.1)

    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1280, height + 160)  # the window's own bars take part of it
    browser.execute_script("window.scrollTo(0, 0)")
    ActionChains(browser).move_to_element(browser.find_element(By.TAG_NAME, "h2")).perform()  # no hover highlight
    time.sleep(0.5)
    shot = Path(os.environ.get("DLREF_DEMO_SCREENSHOT") or tmp_path / "demo.png")
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000

    hosts = set()
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] in ("Network.requestWillBeSent", "Network.webSocketCreated"):
            request_url = message["params"].get("request", message["params"]).get("url", "")
            if urlsplit(request_url).scheme in ("http", "https", "ws", "wss"):
                hosts.add(urlsplit(request_url).hostname)
    assert hosts == {"127.0.0.1"}, f"the page asked other hosts: {hosts}"
    assert proxy.connections == 0, "the demo's Python process tried to reach another host"
    assert process.poll() is None

    median, worst = statistics.median(latencies), max(latencies)
    print(f"\ndlref demo: {len(latencies)} strokes answered in {', '.join(f'{t:.0f}' for t in latencies)} ms "
          f"(median {median:.0f} ms, max {worst:.0f} ms; target {TARGET_MS} ms), {os.cpu_count()} CPUs, "
          f"torch {torch.__version__}")
    assert median <= TARGET_MS, f"the median stroke took {median:.0f} ms, above the {TARGET_MS} ms target"
    process.send_signal(signal.SIGINT)  # Ctrl-C ends the page as it ends every dlref command
    assert process.wait(timeout=30) == 130
    # A stroke may wait for another program on a shared 2-core machine; twice the target is a page that got slow
    # (gr.Sketchpad took 1.2-1.5 s).
    assert worst <= 2 * TARGET_MS, f"a stroke took {worst:.0f} ms, more than twice the {TARGET_MS} ms target"
