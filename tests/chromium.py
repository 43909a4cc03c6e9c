"""Debian's headless Chromium for the browser tests (the demo's page, the documentation site): what they need, and
a browser started the way these machines allow. Never a browser downloaded by a test tool."""

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

import pytest

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"  # Debian's chromium and chromium-driver
# As root on these machines: no sandbox, no GPU, and none of Chromium's own calls home (refused here, and slow).
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--window-size=1280,1000"]


def require(modules: tuple[str, ...], setup: str, what: str) -> None:
    """Skip the calling test module without Chromium, its driver or ``modules`` (installed by ``make setup``);
    in CI, which installs all of it, fail instead: a check that skips there would pass by not running."""
    reason = next((f"{path} is missing (apt-get install chromium chromium-driver; .ci/run does)"
                   for path in (CHROMIUM, CHROMEDRIVER) if not Path(path).exists()), None)
    reason = reason or next((f"{module} is not installed (make {setup}; .ci/run does)" for module in modules
                             if importlib.util.find_spec(module.split(".")[0]) is None), None)
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"{what} cannot run in CI: {reason}", pytrace=False)
        pytest.skip(reason, allow_module_level=True)


def browser(logs: dict):
    """A headless Chromium driven by Selenium, with a profile of its own, logging ``logs`` (e.g. every request:
    ``{"performance": "ALL"}``); a generator for a pytest fixture: yields the driver, then quits and cleans up."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="dlref-chromium-")
    for flag in [*FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", logs)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)
