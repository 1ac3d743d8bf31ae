"""Regenerate docs/figure8-viewer.png: the committed Figure 8 viewer at its last step, in the system Chromium.

    python docs/screenshot.py
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from browser import chromium, missing  # noqa: E402

PAGE = ROOT / "counterexamples" / "commit-old-terms" / "LeaderCompleteness_s3_t4_l1.html"
OUT = ROOT / "docs" / "figure8-viewer.png"

if __name__ == "__main__":
    if missing():
        sys.exit(missing())
    driver, profile = chromium(1280, 1060)
    try:
        driver.get(PAGE.as_uri() + "#step=25")
        time.sleep(0.5)
        driver.save_screenshot(str(OUT))
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
    print(f"wrote {OUT}")
