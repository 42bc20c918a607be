"""The app in a real browser: Debian's chromium driven by Playwright (sync API) against ``streamlit run``.

Each test does what a user does (sidebar links, presets, toggles, the Train button, a refresh) and
asserts on what the user sees. The server runs offline, with a private DLVIZ_HOME and full MNIST
from ../shared/data/mnist. Trainings use the quick demo (6,000 images) so the module stays short.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from browser_util import (
    CLASS_ONLY,
    LIVE_JS,
    ROOT,
    TITLES,
    VIEWPORT,
    button,
    goto,
    live_state,
    load_preset,
    metric_value,
    nav,
    no_exception,
    set_recipe,
    settled,
    sid,
    skip_without_browser,
    start_server,
    start_training,
    title,
    wait_finished,
)

pytestmark = pytest.mark.browser

skip_without_browser()

from playwright.sync_api import expect  # noqa: E402

ARTIFACTS = ROOT / "test-artifacts"
LOAD = 60_000  # a page's first render (the first one imports torch in the server)
FINISH = 90_000  # a quick-demo training, to "Training finished."
RUN_STATES = ("Training", "Paused", "Measuring accuracy on the test set...")


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def app_server(tmp_path_factory):
    """One server for the tests that may share it (each test still is a new user: a new browser context)."""
    server = start_server(tmp_path_factory.mktemp("browser") / "dlviz-home")
    yield server
    server.stop()


@pytest.fixture
def fresh_server(tmp_path):
    """A server of its own: nothing visited yet, no runs in its store."""
    server = start_server(tmp_path / "dlviz-home")
    yield server
    server.stop()


@pytest.fixture
def user(browser):
    """A factory of new users: each call is a browser context of its own (own cookies, own session)."""
    contexts = []

    def make():
        ctx = browser.new_context(viewport=VIEWPORT)
        ctx.set_default_timeout(30_000)
        contexts.append(ctx)
        return ctx.new_page()

    yield make
    for ctx in contexts:
        ctx.close()


# --------------------------------------------------------------------------- steps a user takes
def watch_live(page, timeout: float = LOAD) -> tuple[dict, dict]:
    """Two readings of the live panel, with a chart, that differ: the curves and numbers update.

    Waits on the page's own redraws (no sleeping): first for a live chart with points, then for the
    loss, the number of points or the progress bar to change while training still runs.
    """
    page.wait_for_function(
        """() => {
        const live = [...document.querySelectorAll('[data-testid="stMetricLabel"]')]
            .some(l => l.innerText.trim() === 'Training loss');
        const plot = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
        return live && plot && (plot._fullData || []).some(t => t._length > 0);
    }""",
        timeout=timeout,
        polling=100,
    )
    first = live_state(page)
    try:
        page.wait_for_function(
            """first => {
            const now = (%s)();
            return now.metrics['Training loss'] !== undefined && now.charts > 0 &&
                (now.metrics['Training loss'] !== first.metrics['Training loss'] ||
                 now.points !== first.points || now.progress !== first.progress);
        }"""
            % LIVE_JS,
            arg=first,
            timeout=timeout,
            polling=100,
        )
    except Exception as e:  # say what the user saw instead of a bare timeout
        raise AssertionError(
            f"the live panel did not change while training; first {first}, now {live_state(page)}"
        ) from e
    return first, live_state(page)


def screenshot(page, path: Path) -> None:
    """The whole page: the main area scrolls inside its own container, so grow the viewport to fit it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    height = page.evaluate("""() => Math.max(...[...document.querySelectorAll(
        '[data-testid="stMain"], [data-testid="stAppViewContainer"], [data-testid="stMainBlockContainer"]')]
        .map(e => e.scrollHeight))""")
    page.set_viewport_size({"width": VIEWPORT["width"], "height": max(VIEWPORT["height"], int(height) + 40)})
    settled(page)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(VIEWPORT)


# --------------------------------------------------------------------------- tests
def test_build_mlp_train_one_epoch_and_see_results(app_server, user):
    page = user()
    goto(page, app_server.url + "/", TITLES["Start"], timeout=LOAD)
    nav(page, "Build")
    load_preset(page, "MLP", "109,386")
    expect(metric_value(page, "Output shape")).to_have_text("(10)")

    nav(page, "Train")
    expect(page.get_by_text("mlp, 109,386 parameters", exact=False)).to_be_visible()
    # one image per step: 4,800 steps, long enough (a few seconds) to watch the curves move
    set_recipe(page, epochs=1, batch_size=1)
    start_training(page)
    first, later = watch_live(page)
    assert later["status"] in RUN_STATES, later
    assert {"Epoch", "Training loss", "Validation accuracy", "Samples per second", "Time left"} <= set(
        later["metrics"]
    ), later
    assert later["metrics"]["Epoch"] == "1 / 1", later
    assert re.fullmatch(r"\d+\.\d{4}", later["metrics"]["Training loss"]), later
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "browser-train-live.png"))  # for a look at the live panel

    acc = wait_finished(page)
    assert acc > 50, f"test accuracy {acc}% after one epoch of the MLP"
    expect(page.get_by_role("heading", name="Run: mlp · MNIST")).to_be_visible()
    expect(metric_value(page, "Parameters")).to_have_text("109,386")
    expect(page.get_by_role("heading", name="Test images: prediction, confidence (true label)")).to_be_visible()
    charts = page.get_by_test_id("stPlotlyChart")
    expect(charts).to_have_count(2)  # the curves and the prediction gallery
    expect(charts.nth(1).locator(".js-plotly-plot")).to_be_visible()
    screenshot(page, ARTIFACTS / "browser-train.png")
    no_exception(page)


def test_two_tabs_train_independently(fresh_server, user):
    a, b = user(), user()
    for page in (a, b):
        goto(page, fresh_server.url + "/", TITLES["Start"], timeout=LOAD)
    assert sid(a.url) != sid(b.url), "two users got the same session"
    nav(b, "Build")  # B names the model; A keeps the default MLP
    name = b.get_by_role("textbox", name="Model name")
    name.fill("second-user")
    name.press("Enter")
    expect(metric_value(b, "Parameters")).to_have_text("109,386")
    for page in (a, b):
        nav(page, "Train")
    expect(a.get_by_text("mlp, 109,386 parameters", exact=False)).to_be_visible()
    expect(b.get_by_text("second-user, 109,386 parameters", exact=False)).to_be_visible()
    set_recipe(a, epochs=1, batch_size=16)
    set_recipe(b, epochs=1, batch_size=32)

    start_training(a)
    start_training(b)
    acc_a, acc_b = wait_finished(a), wait_finished(b)
    assert acc_a > 50 and acc_b > 50, (acc_a, acc_b)
    # each user sees their own run, not the other's (the newest)
    expect(a.get_by_role("heading", name="Run: mlp · MNIST")).to_be_visible()
    expect(metric_value(a, "Parameters")).to_have_text("109,386")
    expect(b.get_by_role("heading", name="Run: second-user · MNIST")).to_be_visible()
    expect(a.get_by_role("heading", name=re.compile("second-user"))).to_have_count(0)
    expect(b.get_by_role("heading", name="Run: mlp · MNIST")).to_have_count(0)

    nav(a, "Runs")
    expect(a.get_by_text("2 saved runs, newest first", exact=False)).to_be_visible()
    a.get_by_role("combobox", name="Run", exact=True).click()
    options = a.get_by_role("option")
    expect(options).to_have_count(2)
    expect(options.filter(has_text="mlp · MNIST")).to_have_count(1)
    expect(options.filter(has_text="second-user · MNIST")).to_have_count(1)
    expect(options.filter(has_text="finished")).to_have_count(2)
    a.keyboard.press("Escape")
    no_exception(a)
    no_exception(b)


def test_refresh_keeps_model_and_live_run(app_server, user):
    page = user()
    goto(page, app_server.url + "/", TITLES["Start"], timeout=LOAD)
    nav(page, "Build")
    load_preset(page, "CNN", "225,034")
    session = sid(page.url)

    page.reload()
    expect(title(page, TITLES["Build"])).to_be_visible(timeout=LOAD)
    assert sid(page.url) == session, page.url
    expect(metric_value(page, "Parameters")).to_have_text("225,034", timeout=LOAD)
    expect(page.get_by_role("textbox", name="Model name")).to_have_value("cnn")
    no_exception(page)

    nav(page, "Train")
    expect(page.get_by_text("cnn, 225,034 parameters", exact=False)).to_be_visible()
    set_recipe(page, epochs=2, batch_size=8)  # 1,200 CNN steps: long enough to reload mid-run
    start_training(page)
    expect(metric_value(page, "Epoch")).to_have_text(re.compile(r"^[12] / 2$"), timeout=LOAD)

    page.reload()  # mid-training
    expect(title(page, TITLES["Train"])).to_be_visible(timeout=LOAD)
    assert sid(page.url) == session, page.url
    # while it trains, the recipe is one line (issue 13: the curves get the screen)
    expect(page.get_by_text("Training: cnn on MNIST.", exact=False)).to_be_visible()
    # the live panel of the same job, not a new start and not the last result
    expect(button(page, "Stop")).to_be_visible(timeout=LOAD)
    expect(page.get_by_test_id("stProgress")).to_be_visible()
    expect(page.get_by_test_id("stProgress")).to_contain_text(re.compile("|".join(map(re.escape, RUN_STATES))))
    expect(metric_value(page, "Epoch")).to_have_text(re.compile(r"^[12] / 2$"))
    expect(page.get_by_text(re.compile(r"batch 8, 2 epochs"))).to_be_visible()  # the recipe too
    no_exception(page)

    acc = wait_finished(page, timeout=2 * FINISH)  # two epochs of a CNN on the CPU
    assert acc > 50, f"test accuracy {acc}% after two epochs of the CNN"
    expect(page.get_by_role("heading", name="Run: cnn · MNIST")).to_be_visible()
    expect(metric_value(page, "Parameters")).to_have_text("225,034")


def test_deep_link_first_visit(fresh_server, user):
    page = user()
    page.goto(fresh_server.url + "/train")  # the first request this server process sees
    expect(page.get_by_role("heading", level=1)).to_be_visible(timeout=LOAD)
    expect(page.get_by_role("dialog", name="Page not found")).to_have_count(0)
    expect(title(page, TITLES["Train"])).to_be_visible(timeout=15_000)
    expect(button(page, "Train")).to_be_visible()
    assert "/train" in page.url, page.url
    settled(page)
    no_exception(page)
    # and the app around it: the sidebar of app.py
    expect(page.get_by_test_id("stSidebarNav").get_by_role("link", name="Runs", exact=True)).to_be_visible()


# what each page shows last: once it is there, the page has been drawn to the end
PAGE_END = {
    "Start": lambda p: p.get_by_role("link", name="Open", exact=True).nth(3),
    "Data": lambda p: p.get_by_role("heading", name="Class balance"),
    "Build": lambda p: p.get_by_role("tab", name="Import"),
    "Train": lambda p: button(p, "Train"),
    "Runs": lambda p: p.get_by_text(re.compile(r"saved runs, newest first|No runs yet")),
    # the look-inside pages: their last section, or the guidance shown before any model is trained
    "Inspect": lambda p: p.get_by_text(re.compile(r"^Most active units|^There is no trained image model")).last,
    "Filters": lambda p: p.get_by_text(re.compile(r"^What a unit looks for$|^There is no trained image model")).last,
    "Gradients": lambda p: p.get_by_text(re.compile(r"^Compare runs at a glance$|^There is no trained image model")),
    "Embeddings": lambda p: p.get_by_text(re.compile(r"^Try the first layers|^There is no trained image model")),
    "Errors": lambda p: (
        p.get_by_text(re.compile(r"^Open one on Inspect and Explain|^There is no trained image model")).first
    ),
    "Attention": lambda p: p.get_by_text(re.compile(r"^There is no trained text model|^Rollout")).first,
    "Sequence": lambda p: p.get_by_text(re.compile(r"^There is no trained text model|^Gates$")).first,
    "Explain": lambda p: p.get_by_text(re.compile(r"^Take it with you$|^There is no trained image model")),
    "Glossary": lambda p: p.get_by_role("heading", name="LSTM and GRU"),  # the last entry
    "Compress": lambda p: (
        p.get_by_text(re.compile(r"^Accuracy against size and time$|^Train an image classifier")).first
    ),
    "Autoencoder": lambda p: p.get_by_text(re.compile(r"^Denoising$|^No autoencoder has been trained yet")).first,
}


def test_no_exception_on_any_page(app_server, user):
    page = user()
    goto(page, app_server.url + "/", TITLES["Start"], timeout=LOAD)
    for link in TITLES:
        if link in CLASS_ONLY:
            continue
        nav(page, link)
        expect(PAGE_END[link](page)).to_be_visible(timeout=LOAD)
        settled(page)
        expect(title(page, TITLES[link])).to_be_visible()
        no_exception(page)
        expect(page.get_by_test_id("stSidebarNav").get_by_role("link", name=link, exact=True)).to_have_attribute(
            "aria-current", "page"
        )


def test_pause_resume_and_stop_a_run_in_its_own_process(app_server, user):
    """The app trains in a child process: the page's Pause, Resume and Stop must still reach it."""
    page = user()
    goto(page, app_server.url + "/", TITLES["Start"], timeout=LOAD)
    nav(page, "Train")
    set_recipe(page, epochs=20, batch_size=1)  # 96,000 steps: far too long to finish during the test
    start_training(page)
    expect(metric_value(page, "Training loss")).to_be_visible(timeout=LOAD)

    button(page, "Pause").click()
    expect(button(page, "Resume")).to_be_visible(timeout=LOAD)
    expect(page.get_by_test_id("stProgress")).to_contain_text("Paused", timeout=LOAD)
    settled(page)
    page.wait_for_timeout(1000)  # a report already on its way may still arrive
    held = live_state(page)
    page.wait_for_timeout(2000)  # the page redraws four times meanwhile
    now = live_state(page)
    assert (now["metrics"], now["progress"]) == (held["metrics"], held["progress"]), "a paused run kept training"

    button(page, "Resume").click()
    expect(button(page, "Pause")).to_be_visible(timeout=LOAD)
    page.wait_for_function(
        """held => { const now = (%s)();
        return now.metrics['Training loss'] !== held.metrics['Training loss'] || now.progress !== held.progress; }"""
        % LIVE_JS,
        arg=held,
        timeout=LOAD,
        polling=100,
    )  # training goes on

    button(page, "Stop").click()
    expect(page.get_by_text(re.compile(r"Stopped at step [\d,]+ of [\d,]+"))).to_be_visible(timeout=LOAD)
    expect(button(page, "Stop")).to_have_count(0)
    expect(button(page, "Train")).to_be_enabled()
    no_exception(page)
