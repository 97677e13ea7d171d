"""A real headless Chromium (Debian's) driven by Playwright, for the investigation pages."""

from __future__ import annotations

import pytest

from tests.system import debian_program

CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"]


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    """Chromium with a fresh profile; Playwright drives the installed one, downloads none."""
    from playwright.sync_api import sync_playwright

    chromium = debian_program("chromium", "chromium")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            tmp_path_factory.mktemp("chromium-profile"), executable_path=chromium,
            headless=True, args=CHROMIUM_FLAGS, viewport={"width": 1200, "height": 900})
        yield context
        context.close()
