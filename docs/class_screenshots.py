"""Regenerate the README's Class screenshots: a class server, its teacher and two students, in Chromium.

    .venv/bin/python docs/class_screenshots.py [--data-dir /work/shared/data/mnist]

Starts ``streamlit run app.py -- --class`` (tests/browser_util.Server) with a chosen teacher key and class code and a
private DLVIZ_HOME in a temporary folder. The teacher pushes the course's CNN with the learning rate locked, Ana
and Ben join and train the quick demo, 2 and 3 epochs (the steps of tests/test_browser_class.py). Writes
docs/screenshots/class-signin.png (the sign-in screen), class-student.png (a student's Train page: the teacher's
banner, the locked learning rate) and class-dashboard.png, class-queue.png (the teacher's Classroom page).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]

from browser_util import (  # noqa: E402
    FINISH_MS,
    Server,
    button,
    launch,
    load_preset,
    nav,
    set_recipe,
    settled,
    wait_finished,
)
from playwright.sync_api import expect, sync_playwright  # noqa: E402
from test_browser_class import (  # noqa: E402
    BANNER,
    CODE,
    CURVES_JS,
    KEY,
    LR,
    PRESET,
    PRESET_PARAMS,
    join,
    push_model_and_lock_lr,
    sees_the_push,
    teacher_signs_in,
)

OUT = ROOT / "docs" / "screenshots"
VIEWPORT = {"width": 1400, "height": 900}
STUDENTS = ("Ana", "Ben")
EPOCHS = (2, 3)  # of the quick demo (6,000 images); the same count and seed would draw the same curve twice
LOAD = 120_000  # three sessions and a training on a shared 2-core machine


def box(*locators, pad: int = 12, width: int | None = None) -> dict:
    """The area from the page's top left corner to below some elements (a clip for page.screenshot), padded;
    ``width``: that wide instead."""
    boxes = [loc.bounding_box() for loc in locators]
    x1 = max(b["x"] + b["width"] for b in boxes) + pad
    y1 = max(b["y"] + b["height"] for b in boxes) + pad
    return {"x": 0, "y": 0, "width": width or x1, "height": y1}


def keep_rate(page) -> None:
    """The teacher's CNN and learning rate, kept in their session before the push.

    push_model_and_lock_lr leaves the Train page right after typing the rate; on this loaded machine that click
    often came before the Train page's rerun had saved the rate (the push panel then offered 0.003, the preset's).
    Here the rerun is given time to finish."""
    nav(page, "Build")
    load_preset(page, PRESET, PRESET_PARAMS, timeout=LOAD)
    for _ in range(3):
        nav(page, "Train")
        settled(page)
        lr = page.get_by_role("spinbutton", name="Learning rate", exact=True)
        lr.fill(LR)
        lr.press("Enter")
        page.wait_for_timeout(3000)  # the rerun with the new value starts and saves the settings
        settled(page)
        nav(page, "Classroom")
        if page.locator(".st-key-push_panel").get_by_text(f"Learning rate {LR},").count():
            return


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", default="/work/shared/data/mnist")
    a = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="dlviz-class-shots-"))
    server = Server(
        tmp / "dlviz-home",
        data_dir=Path(a.data_dir),
        app_args=["--class"],
        env={"DLVIZ_TEACHER_KEY": KEY, "DLVIZ_CLASS_CODE": CODE},
    )
    try:
        server.wait_healthy(120)
        with sync_playwright() as p:
            browser = launch(p)
            contexts = [browser.new_context(viewport=VIEWPORT, device_scale_factor=1) for _ in range(3)]
            for ctx in contexts:
                ctx.set_default_timeout(LOAD)
            teacher, *students = [ctx.new_page() for ctx in contexts]

            # 1. the sign-in screen, as a student first sees it
            page = students[0]
            page.goto(server.url)
            expect(page.get_by_role("heading", level=1, name="Join the class")).to_be_visible(timeout=LOAD)
            settled(page)
            page.get_by_role("textbox", name="Class code").fill(CODE)
            page.get_by_role("textbox", name="Your name").fill(STUDENTS[0])
            form = page.get_by_test_id("stForm")
            page.screenshot(path=str(OUT / "class-signin.png"), clip=box(form, pad=24, width=VIEWPORT["width"]))

            # 2. the teacher pushes the CNN with the learning rate locked; Ana and Ben join and train it
            teacher_signs_in(teacher, server.url)
            for page, name in zip(students, STUDENTS):
                join(page, server.url, name)
            keep_rate(teacher)
            push_model_and_lock_lr(teacher)
            for page in students:
                sees_the_push(page)
            for page, epochs in zip(students, EPOCHS):
                set_recipe(page, epochs=epochs)
                button(page, "Train").click()
            for page in students:
                wait_finished(page, timeout=3 * FINISH_MS)
            page = students[0]
            settled(page)
            page.locator(BANNER).scroll_into_view_if_needed()
            signed_in = page.get_by_test_id("stSidebar").get_by_text(f"Signed in as {STUDENTS[0]}")
            shot = box(button(page, "Train"), signed_in, pad=16, width=VIEWPORT["width"])
            page.screenshot(path=str(OUT / "class-student.png"), clip=shot)

            # 3. the teacher's Classroom page: both students' curves, the table, the queue and the limits
            nav(teacher, "Classroom")
            teacher.wait_for_function(
                f"() => {{ const c = ({CURVES_JS})(); return {list(STUDENTS)}.every(n => (c[n] || 0) > 0); }}",
                timeout=LOAD,
            )
            teacher.set_viewport_size({"width": VIEWPORT["width"], "height": 2600})  # the whole page in view
            settled(teacher)
            main = teacher.get_by_test_id("stMainBlockContainer").bounding_box()
            push = teacher.locator(".st-key-push_panel").bounding_box()
            picker = button(teacher, "Open read-only").bounding_box()
            last = button(teacher, "Clear all limits").bounding_box()
            x, w = main["x"] + 16, main["width"] - 32
            top = push["y"] + push["height"] + 8  # below the push panel
            mid = picker["y"] + picker["height"] + 8  # below the run picker: the queue panel starts
            end = last["y"] + last["height"] + 24  # the limits panel's frame
            teacher.screenshot(
                path=str(OUT / "class-dashboard.png"), clip={"x": x, "y": top, "width": w, "height": mid - top}
            )
            teacher.screenshot(
                path=str(OUT / "class-queue.png"), clip={"x": x, "y": mid, "width": w, "height": end - mid}
            )
            browser.close()
    finally:
        server.stop()
    for name in ("class-signin", "class-student", "class-dashboard", "class-queue"):
        f = OUT / f"{name}.png"
        print(f"{f.relative_to(ROOT)}: {f.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
