"""Headless Chromium for the dashboard's end-to-end tests: Debian's ``chromium`` and ``chromium-driver``
driven by Selenium. Nothing is downloaded: the driver and browser are the machine's (``.ci/run`` installs
them); without them the browser tests skip, saying how to enable them."""

from __future__ import annotations

import base64
import os
import shutil
import tempfile
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("GATEWAY_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("GATEWAY_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")
HOW = (
    "apt-get install -y chromium chromium-driver (.ci/run does), "
    "or set GATEWAY_TEST_CHROMIUM/GATEWAY_TEST_CHROMEDRIVER"
)
#: Set (by .ci/run) to fail instead of skipping when the browser is missing.
REQUIRE = "GATEWAY_TEST_REQUIRE_BROWSER"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--disable-extensions",
    "--window-size=1400,1100",
    "--force-device-scale-factor=1",
    "--lang=en-US",
)
#: Console messages that mean the page broke its own rules (CSP, Trusted Types) or failed in a script.
FORBIDDEN = (
    "Content Security Policy",
    "TrustedHTML",
    "TrustedScript",
    "Trusted Type",
    "Uncaught",
    "Refused to",
)


def _missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            return f"{path} is missing"
    return None


def launch():
    """A headless Chromium with a fresh profile; skips the test when there is none. Returns (driver,
    profile)."""
    problem = _missing()
    if problem:
        message = f"browser tests need Chromium and its driver: {problem}; {HOW}"
        if os.environ.get(REQUIRE):
            pytest.fail(f"{message} ({REQUIRE} is set)")
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="gateway-ui-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    except Exception:
        shutil.rmtree(profile, ignore_errors=True)
        raise
    driver.set_script_timeout(60)  # async scripts end when done; the bound allows for a loaded machine
    return driver, profile


def quit(driver, profile: str) -> None:
    try:
        driver.quit()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def broken_rules(driver) -> list[str]:
    """Console messages since the last call that show a CSP, Trusted Types or script failure."""
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if any(marker in entry["message"] for marker in FORBIDDEN)
    ]


def screenshot(driver, name: str, full_page: bool = False) -> Path:
    """Save the window (or the whole page) as test-artifacts/<name>.png (gitignored); the path."""
    path = ARTIFACTS / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    if full_page:
        size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
        shot = driver.execute_cdp_cmd(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
            },
        )
        path.write_bytes(base64.b64decode(shot["data"]))
    elif not driver.save_screenshot(str(path)):
        raise OSError(f"could not write {path}")
    return path
