"""Fixtures of the browser tests: Debian's Chromium driven by Playwright (one browser for the
session, a fresh context per test), while ``tests/conftest.py`` gives the real stack on the local
cloud."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, sync_playwright

__all__ = ["browser", "console", "new_context", "page"]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless. Missing Chromium fails the tests: they are part of `make test`."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: the browser tests need Debian's chromium package. "
            "Run `make test`, which installs it.",
            pytrace=False,
        )
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()
    finally:
        playwright.stop()


@pytest.fixture
def console() -> list[ConsoleMessage]:
    """Every console message of every page the test's contexts open (the browser reports
    Content-Security-Policy refusals there)."""
    return []


@pytest.fixture
def new_context(browser: Browser, console: list[ConsoleMessage]) -> Iterator[Callable[..., BrowserContext]]:
    """Opens fresh browser contexts (English, light colour scheme, unless told otherwise),
    closed after the test."""
    opened: list[BrowserContext] = []

    def open_context(**options: Any) -> BrowserContext:
        options.setdefault("locale", "en-US")
        options.setdefault("color_scheme", "light")
        context = browser.new_context(**options)
        context.on("console", lambda message: console.append(message))
        opened.append(context)
        return context

    yield open_context
    for context in opened:
        context.close()


@pytest.fixture
def page(new_context: Callable[..., BrowserContext]) -> Page:
    """A tab in a fresh context."""
    return new_context().new_page()
