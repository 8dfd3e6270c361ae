"""Debian's Chromium driven by Playwright, watching what a page does wrong: console errors,
uncaught exceptions, and requests to any origin other than the service's."""
import atexit
import contextlib
import functools
import os
import shutil
import tempfile
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCREENSHOTS_VARIABLE = "KERAS_PROV_SCREENSHOTS"


def screenshots_dir():
    """Where the tests' screenshots go: $KERAS_PROV_SCREENSHOTS when set (relative to the repository,
    e.g. docs/screenshots to refresh the README's), else a temporary directory removed at exit, so
    that a test run leaves the git tree clean."""
    chosen = os.environ.get(SCREENSHOTS_VARIABLE)
    return os.path.join(REPOSITORY, chosen) if chosen else _temporary_screenshots()


@functools.cache
def _temporary_screenshots():
    directory = tempfile.mkdtemp(prefix="keras-prov-screenshots-")
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    return directory


@contextlib.contextmanager
def chromium(extra_flags=()):
    """One headless Chromium for a test module."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS + list(extra_flags))
        try:
            yield browser
        finally:
            browser.close()


class WatchedPage:
    """A 1280×800 page of `browser` on the service at `base_url`; `problems` lists what went wrong.

    Example:
        page = WatchedPage(browser, service.url)
        page.goto("/")
        assert page.problems == []
    """

    def __init__(self, browser, base_url, color_scheme="light"):
        self.base_url = base_url
        self.context = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme=color_scheme,
                                           accept_downloads=True)
        self.page = self.context.new_page()
        self.page.set_default_timeout(30_000)
        self.problems = []
        self.warnings = []  # console warnings: libraries saying what of theirs a page misuses
        origin = urlsplit(base_url).netloc
        self.page.on("console", lambda message: message.type == "error" and self.problems.append(
            f"console error: {message.text}"))
        self.page.on("console", lambda message: message.type == "warning" and self.warnings.append(message.text))
        self.page.on("pageerror", lambda error: self.problems.append(f"uncaught: {error}"))
        self.page.on("request", lambda request: urlsplit(request.url).scheme in ("http", "https") and
                     urlsplit(request.url).netloc != origin and self.problems.append(
                         f"request to another origin: {request.url}"))

    def goto(self, path):
        self.page.goto(self.base_url + path)
        return self.page

    def screenshot(self, name):
        """Saves the page as `name` in `screenshots_dir()`; returns the file's path."""
        directory = screenshots_dir()
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, name)
        self.page.screenshot(path=path)
        return path

    def close(self):
        self.context.close()


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for a test module (import this fixture into the module)."""
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser, service):
    """A WatchedPage on the module's `service` fixture."""
    watched = WatchedPage(browser, service.url)
    yield watched
    watched.close()
