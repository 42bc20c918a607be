"""A class on one server in a real browser (issue 17): a teacher and two students in three browser contexts.

The server runs as a class server (``streamlit run app.py -- --class``) with the teacher's key and the class
code in its environment. The teacher signs in with the key, loads a preset (the course's CNN) on the
Build page, sets the learning rate on the Train page, and on the Classroom page pushes the model and the training
settings to the class with the learning rate locked. Both students (joined with the class code and a name)
see the banner saying what the teacher set, the pushed model on their Train page and the learning-rate box
greyed out with the teacher's value; both train it (1 epoch of the quick demo); the teacher's Classroom page
then shows both students' curves on its chart, each named after its student.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from browser_util import (
    FINISH_MS,
    TITLES,
    VIEWPORT,
    button,
    load_preset,
    nav,
    no_exception,
    set_recipe,
    settled,
    skip_without_browser,
    start_server,
    title,
    wait_finished,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

skip_without_browser()

from playwright.sync_api import expect  # noqa: E402

from dlviz.runs import RunStore  # noqa: E402

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"  # ignored by git

LOAD = 90_000  # three sessions on a loaded 2-core machine: a first render may wait
KEY = "teacher-key-for-the-browser-test"
CODE = "CAT743"
STUDENTS = ("Ada", "Grace")
LR = "0.002"
PRESET, PRESET_NAME, PRESET_PARAMS = "CNN", "cnn", "225,034"  # "everyone trains this CNN with this learning rate"
BANNER = ".st-key-push_banner"

# every student's curves on the teacher's chart: trace name -> points
CURVES_JS = """() => {
  const out = {};
  for (const c of document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot')) {
    for (const tr of (c._fullData || [])) out[tr.name] = (out[tr.name] || 0) + (tr._length || 0);
  }
  return out;
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = start_server(
        tmp_path_factory.mktemp("class") / "dlviz-home",
        timeout=90,
        app_args=["--class"],
        env={"DLVIZ_TEACHER_KEY": KEY, "DLVIZ_CLASS_CODE": CODE},
    )
    yield srv
    srv.stop()


def _person(browser):
    ctx = browser.new_context(viewport=VIEWPORT)  # a context each: own cookies, own session
    ctx.set_default_timeout(LOAD)
    return ctx, ctx.new_page()


def _sign_in_screen(page, url: str) -> None:
    page.goto(url)
    expect(title(page, "Join the class")).to_be_visible(timeout=LOAD)
    settled(page)


def join(page, url: str, name: str) -> None:
    _sign_in_screen(page, url)
    page.get_by_role("textbox", name="Class code").fill(CODE)
    page.get_by_role("textbox", name="Your name").fill(name)
    button(page, "Join").click()
    expect(title(page, TITLES["Start"])).to_be_visible(timeout=LOAD)


def teacher_signs_in(page, url: str) -> None:
    _sign_in_screen(page, url)
    page.get_by_text("I am the teacher", exact=True).click()
    key = page.get_by_role("textbox", name="Teacher's key")
    expect(key).to_be_visible()
    key.fill(KEY)
    button(page, "Sign in").click()
    expect(title(page, TITLES["Start"])).to_be_visible(timeout=LOAD)


def push_model_and_lock_lr(page) -> None:
    """The teacher: the preset on Build, the learning rate on Train, then on the Classroom page: push the model and
    the training settings with the rate locked."""
    nav(page, "Build")
    load_preset(page, PRESET, PRESET_PARAMS, timeout=LOAD)
    nav(page, "Train")
    settled(page)
    lr = page.get_by_role("spinbutton", name="Learning rate", exact=True)
    lr.fill(LR)
    lr.press("Enter")
    expect(lr).to_have_value(LR)
    settled(page)
    nav(page, "Classroom")
    panel = page.locator(".st-key-push_panel")
    expect(panel).to_be_visible()
    expect(panel.get_by_text(re.compile(rf"My training settings: .*Learning rate {re.escape(LR)}\b"))).to_be_visible()
    panel.get_by_role("button", name=re.compile(rf"^My model: {re.escape(PRESET_NAME)}\b")).click()
    settled(page)
    panel.get_by_role("button", name=re.compile(r"^My training settings")).click()
    settled(page)
    panel.get_by_role("combobox", name=re.compile("Lock for the class")).click()
    page.get_by_role("option", name="Learning rate", exact=True).click()
    page.keyboard.press("Escape")
    settled(page)
    button(page, "Push to the class").click()
    expect(page.get_by_text(re.compile(r"^Pushed to the class \(push \d+\)"))).to_be_visible(timeout=LOAD)
    no_exception(page)


def sees_the_push(page) -> None:
    """A student: the banner names the model and the locked rate; the Train page has the model, the box locked."""
    banner = page.locator(BANNER)
    expect(banner).to_contain_text("The teacher set:", timeout=LOAD)  # an open page looks every few seconds
    expect(banner).to_contain_text(f"Model: {PRESET_NAME}")
    expect(banner).to_contain_text(re.compile(rf"Learning rate: {re.escape(LR)}\s*lock"))  # :material/lock:
    nav(page, "Train")
    expect(page.get_by_text(f"{PRESET_NAME}, {PRESET_PARAMS} parameters", exact=False)).to_be_visible()
    lr = page.get_by_role("spinbutton", name="Learning rate", exact=True)
    expect(lr).to_be_disabled()
    expect(lr).to_have_value(LR)
    no_exception(page)


def test_teacher_pushes_a_preset_and_locks_the_rate_two_students_train_it_the_dashboard_shows_both(server, browser):
    people = [_person(browser) for _ in range(3)]
    try:
        (_, teacher), *students = people
        teacher_signs_in(teacher, server.url)
        for (_, page), name in zip(students, STUDENTS):
            join(page, server.url, name)
        push_model_and_lock_lr(teacher)
        for _, page in students:
            sees_the_push(page)
        for _, page in students:
            set_recipe(page, epochs=1)  # the quick demo: 6,000 images
            button(page, "Train").click()  # the class's queue trains one job at a time: the second one waits
        for _, page in students:
            assert wait_finished(page, timeout=3 * FINISH_MS) > 50
            expect(page.get_by_role("heading", name=f"Open run: {PRESET_NAME} · MNIST")).to_be_visible()
        # in the run store: one run each, of the pushed model, at the locked rate, owned by two different students
        runs = RunStore(server.home).list()
        assert len(runs) == 2, [(r.name, r.owner) for r in runs]
        assert {r.spec.get("name") for r in runs} == {PRESET_NAME}
        assert [float(r.settings["lr"]) for r in runs] == [float(LR)] * 2
        assert len({r.owner for r in runs}) == 2 and all(r.owner.startswith("s-") for r in runs)
        nav(teacher, "Classroom")
        teacher.wait_for_function(
            f"() => {{ const c = ({CURVES_JS})(); return {list(STUDENTS)}.every(n => (c[n] || 0) > 0); }}",
            timeout=LOAD,
        )
        curves = teacher.evaluate(CURVES_JS)
        assert all(curves.get(n, 0) > 0 for n in STUDENTS), curves
        # the queue panel: nothing trains or waits now, both jobs ended (the table itself is drawn on a canvas)
        expect(teacher.get_by_role("heading", name="Training queue")).to_be_visible()
        expect(
            teacher.get_by_text(re.compile(r"Nobody is training or waiting\. Jobs at once: CPU: \d+\."))
        ).to_be_visible()
        expect(teacher.get_by_text("Ended lately")).to_be_visible()
        expect(teacher.get_by_role("heading", name="Limits per student")).to_be_visible()
        teacher.screenshot(path=str(ARTIFACTS / "browser-class-queue.png"), full_page=True)
        no_exception(teacher)
    finally:
        for ctx, _ in people:
            ctx.close()
