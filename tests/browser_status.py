"""Before the suite: say clearly whether the browser tests will run (install Debian's chromium and a CJK font when root).

Playwright for Python drives Debian's /usr/bin/chromium through `executable_path`; `playwright install` is never
run (it downloads a browser build from a site this machine cannot reach). Without a CJK font every Chinese glyph
in a screenshot is a box, so `fonts-noto-cjk` is installed with the browser. With CI=true a browser that is still
missing is a failure, not a skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

CHROMIUM = os.environ.get("BRANCHFLOW_CHROMIUM", "/usr/bin/chromium")
PACKAGES = ["chromium", "fonts-noto-cjk"]


def browser_version() -> str | None:
    """`Chromium 1xx …` or None when the browser cannot run."""
    if not os.path.exists(CHROMIUM):
        return None
    try:
        done = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, timeout=60, check=False)
    except OSError:
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def has_cjk_font() -> bool:
    if not shutil.which("fc-list"):
        return False
    done = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, timeout=60, check=False)
    return bool(done.stdout.strip())


def playwright_version() -> str | None:
    from importlib import metadata

    try:
        return metadata.version("playwright")
    except metadata.PackageNotFoundError:
        return None


def try_install() -> None:
    """apt-get the browser and the font, only as root and only what is missing."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return
    missing = [p for p, ok in (("chromium", browser_version() is not None), ("fonts-noto-cjk", has_cjk_font())) if not ok]
    if not missing:
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=600, check=False)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], env=env, capture_output=True, timeout=1200, check=False)


if __name__ == "__main__":
    if os.environ.get("BRANCHFLOW_TEST_BROWSER") == "0":
        print("Browser tests: disabled by BRANCHFLOW_TEST_BROWSER=0.")
        sys.exit(0)
    try_install()
    version, pw, font = browser_version(), playwright_version(), has_cjk_font()
    if version and pw:
        print(f"Browser tests: {version} via Playwright {pw} (executable {CHROMIUM}); CJK font {'found' if font else 'MISSING (glyphs will be boxes)'}.")
        sys.exit(0)
    why = "no browser at " + CHROMIUM if not version else "the Python package playwright is not installed"
    if os.environ.get("CI") == "true":
        print(f"Browser tests: FAILED — {why} (CI=true requires them).")
        sys.exit(1)
    print(f"Browser tests: SKIPPED — {why}; install Debian's chromium and fonts-noto-cjk (apt-get) to run them.")
