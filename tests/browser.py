"""The real system Chromium, driven by selenium, for the tests of pages shown in a browser.

Nothing is downloaded: the driver and the browser are Debian's (``chromium`` and
``chromium-driver``), named by path, so selenium-manager is never asked.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


def missing() -> str:
    """Why the browser tests cannot run here, or '' if they can."""
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        return f"needs Debian's chromium and chromium-driver ({CHROMIUM}, {CHROMEDRIVER}); install them with apt-get"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "needs selenium (pip install -e '.[test]')"
    return ""


def chromium(width: int = 1280, height: int = 1400) -> tuple[Any, str]:
    """A headless Chromium with a fresh profile and its browser log enabled; (driver, profile directory to delete)."""
    os.environ.setdefault("SE_OFFLINE", "true")  # selenium-manager must not fetch anything, even if asked
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="raft-check-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
              "--disable-sync", "--no-first-run", "--disable-dev-shm-usage", f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        options.add_argument(a)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options), profile
    except Exception:
        shutil.rmtree(profile, ignore_errors=True)
        raise
