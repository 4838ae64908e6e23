"""A real headless browser (Debian's chromium, driven by Playwright) through a whole study session.

The app runs on fakes in a subprocess on a loopback port. Screenshots go to test-artifacts/ui/.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO, need
from tests.test_ui_app import start_server, stop

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
ARTIFACTS = REPO / "test-artifacts" / "ui"
WAIT = 120_000  # ms: generous, the machine may be busy; every wait is for something to appear


@pytest.fixture
def page(tmp_path: Path, corpus: Path) -> Iterator:  # type: ignore[type-arg]
    need(importlib.util.find_spec("playwright") is not None, "playwright not installed (pip install -e .[dev])")
    need(Path(CHROMIUM).exists(), "chromium not installed (apt-get install chromium, or scripts/setup as root)")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=WAIT)  # assertions wait this long too (their own default is 5 s)
    proc, url = start_server(tmp_path, corpus)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.set_default_timeout(WAIT)
                page.goto(url, wait_until="domcontentloaded")
                yield page
            finally:
                browser.close()
    finally:
        stop(proc)


def shot(page, name: str) -> Path:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


def test_a_study_session_in_the_browser(page) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    # Ask: a streamed, cited answer; the backend is shown.
    expect(page.locator("#status")).to_contain_text("echo:test")
    box = page.locator("#question textarea")
    box.fill("DS vs MLE?")
    box.press("Enter")
    answer = page.locator("#chatbot details.citation").first
    expect(answer).to_be_visible()
    expect(page.locator("#chatbot a.marker").first).to_have_text("[1]")
    expect(page.locator("#sources details.citation").first).to_contain_text("ml-process-summary.md")
    shot(page, "01-chat-answer.png")

    # Open a citation: the passage appears with its section and lines.
    answer.locator("summary").click()
    expect(answer.locator("pre.cited-text")).to_be_visible()
    expect(answer.locator("summary")).to_contain_text(re.compile(r"lines \d+-\d+"))
    shot(page, "02-citation-open.png")

    # Follow up: a second cited answer.
    box.fill("and what do they deliver?")
    box.press("Enter")
    expect(page.locator("#chatbot .answer")).to_have_count(2)
    # A question the notes don't cover gets a clear notice.
    box.fill("Who painted the Sistine Chapel ceiling?")
    box.press("Enter")
    expect(page.locator("#chatbot .not-covered")).to_be_visible()
    shot(page, "03-chat-follow-up-and-not-covered.png")
    page.locator("#clear").click()
    expect(page.locator("#chatbot .answer")).to_have_count(0)

    # Quiz: one item, a hint, an answer, the grade.
    page.get_by_role("tab", name="Quiz").click()
    page.locator("#quiz-next").click()
    expect(page.locator("#quiz-question")).to_contain_text("Q1 ·")
    page.locator("#quiz-hint").click()
    expect(page.locator("#quiz-hint-text")).to_contain_text("Hint 1 of 3")
    page.locator("#quiz-options label").first.click()
    shot(page, "04-quiz-item.png")
    page.locator("#quiz-grade-btn").click()
    expect(page.locator("#quiz-grade")).to_contain_text(re.compile(r"Correct|Not quite"))
    expect(page.locator("#quiz-grade")).to_contain_text("Recorded as")
    shot(page, "05-quiz-grade.png")

    # Progress: the attempt counts; the chart is drawn.
    page.get_by_role("tab", name="Progress").click()
    expect(page.locator("#progress-summary")).to_contain_text("attempts: 1")
    expect(page.locator("#mastery-plot canvas, #mastery-plot svg").first).to_be_visible()
    shot(page, "06-progress.png")

    # Notes: index status and retrieval debugging.
    page.get_by_role("tab", name="Notes").click()
    expect(page.locator("#notes-status")).to_contain_text("ml-process-summary.md")
    search = page.locator("#search textarea")
    search.fill("ethical risks")
    search.press("Enter")
    expect(page.locator("#search-results details.hit").first).to_contain_text("1. ml-process-summary.md")
    shot(page, "07-notes-search.png")

    # Add a note: saved under the notes folder, indexed, and listed.
    page.locator("#note-name textarea, #note-name input").first.fill("week 3: feature stores.md")
    page.locator("#note-text textarea").fill("# Feature stores\n\nA feature store serves the same features online "
                                             "and offline, so training and serving agree.\n")
    page.locator("#add-notes").click()
    expect(page.locator("#add-result")).to_contain_text("Saved week-3-feature-stores.md")
    expect(page.locator("#notes-status")).to_contain_text("from 2 file(s); up to date")
    shot(page, "08-notes-added.png")
