"""The README on a phone (issue 25): rendered as GitHub renders it, at 390 px in headless
Chromium, nothing in it scrolls sideways: prose wraps, and no table holds an unbroken
line wider than the screen (devtools/docs_screenshots.py, which also takes the pictures)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from devtools.docs_screenshots import CHROMIUM, readme_on_a_phone


@pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("CI"), reason="make browser installs Chromium"
)
def test_the_readme_fits_a_phone_without_sideways_scrolling() -> None:
    assert readme_on_a_phone() == []
