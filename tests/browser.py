"""Headless Chromium for the tests that look at pages as a reader does (the backprop stepper).

Uses Debian's `chromium` and `chromium-driver` (the Makefile installs them, as it installs
Graphviz) through selenium, pointed at /usr/bin/chromedriver so that Selenium Manager never tries
to download a driver or a browser.
"""
import os
import shutil
import tempfile
from contextlib import contextmanager

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
# flags that work as root in a container: no sandbox, no GPU, no network chatter of its own
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--force-device-scale-factor=1"]


def missing():
    """Why the browser tests cannot run here, or None when they can."""
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.path.exists(path):
            return f"{package} is not installed (make test installs it: apt-get install {package})"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    return None


@contextmanager
def chromium(width=900, height=1000):
    """A selenium Chrome driver on a headless Chromium with a fresh profile, closed on exit."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")     # Selenium Manager: never download
    profile = tempfile.mkdtemp(prefix="tapegrad-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in FLAGS + [f"--user-data-dir={profile}", f"--window-size={width},{height}"]:
        opts.add_argument(flag)
    driver = webdriver.Chrome(options=opts, service=Service(executable_path=CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def screenshot_element(driver, element, path):
    """A PNG of one element (the stepper's iframe), as the reader sees it."""
    element.screenshot(str(path))
    return path
