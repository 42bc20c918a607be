"""A class server in a real browser (issue 17): a student joins, the address bar never holds a session id, a
refresh keeps them signed in through the cookie, another browser given the same address sees only the sign-in,
and sign-out forgets the cookie."""

from __future__ import annotations

import pytest
from browser_util import button, launch, settled, skip_without_browser, start_server, title

pytestmark = pytest.mark.browser

skip_without_browser()

from playwright.sync_api import expect, sync_playwright  # noqa: E402

LOAD = 60_000


@pytest.fixture
def class_server(tmp_path, monkeypatch):
    monkeypatch.setenv("DLVIZ_CLASS", "1")
    monkeypatch.setenv("DLVIZ_CLASS_CODE", "KQ7M4X")
    monkeypatch.setenv("DLVIZ_TEACHER_KEY", "the-teachers-key-123")
    server = start_server(tmp_path / "dlviz-home")
    yield server
    server.stop()


def test_join_refresh_and_a_projected_address(class_server):
    with sync_playwright() as p:
        browser = launch(p)
        try:
            ana = browser.new_context(viewport={"width": 1400, "height": 1600})
            page = ana.new_page()
            page.goto(class_server.url)
            expect(title(page, "Join the class")).to_be_visible(timeout=LOAD)
            page.get_by_role("textbox", name="Class code").fill("kq7m4x")
            page.get_by_role("textbox", name="Your name").fill("Ana")
            button(page, "Join").click()
            signed = page.get_by_text("Signed in as Ana (student)")
            expect(signed).to_be_visible(timeout=LOAD)
            settled(page)
            assert "s=" not in page.url
            cookie = {c["name"]: c for c in ana.cookies()}.get("dlviz_class")
            assert cookie and cookie["sameSite"] == "Strict" and "Ana" not in cookie["value"]

            page.reload()  # the refresh: the cookie brings the same student back
            expect(signed).to_be_visible(timeout=LOAD)
            settled(page)
            assert "s=" not in page.url

            other = browser.new_context(viewport={"width": 1400, "height": 1600}).new_page()
            other.goto(page.url)  # the address a projector shows
            expect(title(other, "Join the class")).to_be_visible(timeout=LOAD)
            expect(other.get_by_text("Signed in as Ana (student)")).to_have_count(0)
            other.goto(class_server.url + "/runs")  # a deep link a projector shows: the sign-in, nothing else
            expect(title(other, "Join the class")).to_be_visible(timeout=LOAD)
            settled(other)
            expect(title(other, "Runs")).to_have_count(0)

            button(page, "Sign out").click()
            expect(title(page, "Join the class")).to_be_visible(timeout=LOAD)
            page.reload()
            expect(title(page, "Join the class")).to_be_visible(timeout=LOAD)
            assert "the-teachers-key-123" in class_server.log(100_000)  # the key, printed for the teacher
        finally:
            browser.close()
