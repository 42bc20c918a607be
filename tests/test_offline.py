"""Offline and on a fresh machine: nothing fetched from outside, Chinese readable without a CJK font installed,
no outside request at start (issue 13)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
FONT = ROOT / "assets" / "fonts" / "NotoSansSC-dlviz.otf"
CONFIG = ROOT / ".streamlit" / "config.toml"


def _zh_text() -> str:
    return "".join(
        "".join(json.loads(p.read_text(encoding="utf-8")).values())
        for p in sorted((ROOT / "dlviz/i18n/zh").glob("*.json"))
    )


def test_shipped_font_has_every_character_of_the_chinese_catalogues():
    from fontTools.ttLib import TTFont

    cmap = TTFont(FONT).getBestCmap()
    missing = sorted({c for c in _zh_text() if ord(c) >= 0x2000 and ord(c) not in cmap})
    assert not missing, f"rerun assets/fonts/make_font.py: the font lacks {''.join(missing)}"


def test_png_text_draws_chinese_with_the_shipped_font():
    """PIL draws with assets/fonts (dlviz.plots.fonts): two Chinese characters give two different glyphs,
    where a font without them draws the same box twice."""
    from dlviz.plots.fonts import font, font_file

    assert Path(font_file()[0]) == FONT

    def ink(text, f):
        im = Image.new("L", (48, 48), 0)
        ImageDraw.Draw(im).text((4, 4), text, fill=255, font=f)
        return np.asarray(im)

    f = font(32)
    assert ink("积", f).any() and not np.array_equal(ink("积", f), ink("分", f))
    from PIL import ImageFont

    default = ImageFont.load_default(size=32)
    assert np.array_equal(ink("积", default), ink("分", default))  # PIL's own font: a box twice (the check can fail)


def test_filter_grid_labels_use_the_shipped_font():
    from dlviz.plots.filters import digit_grid

    a = digit_grid(np.zeros((2, 28, 28)), ["积", "分"], cols=2, size=28)
    h = 20  # the label strip above each image
    left, right = a[:h, 2:30], a[:h, 32:60]
    assert (left < 128).any() and not np.array_equal(left, right)


def test_config_serves_assets_and_names_the_server_address():
    cfg = tomllib.loads(CONFIG.read_text())
    assert cfg["server"]["enableStaticServing"] is True
    assert (ROOT / "static").resolve() == (ROOT / "assets").resolve()  # Streamlit serves ./static
    face = cfg["theme"]["fontFaces"][0]
    assert face["url"].startswith("app/static/")
    assert (ROOT / "static" / face["url"].removeprefix("app/static/")).resolve() == FONT
    assert face["family"] in cfg["theme"]["font"]
    # named, so Streamlit does not look up the external IP on an outside service at start
    assert cfg["browser"]["serverAddress"] == "localhost"


# --------------------------------------------------------------------------------------------------
# In Chromium, against the real server started the way the README starts it

# Loaded into the server through sitecustomize: every outside address the server resolves or connects
# to is written to a file, and refused (so the test is also offline).
_SPY = '''
import json, os, socket
_log = os.environ["DLVIZ_NET_LOG"]
def _outside(host):
    h = str(host)
    return not (h.startswith("127.") or h in ("localhost", "::1", "0.0.0.0", "", "::") or h.startswith("/"))
def _note(what, host):
    with open(_log, "a") as f:
        f.write(json.dumps([what, str(host)]) + "\\n")
_gai = socket.getaddrinfo
def getaddrinfo(host, *a, **k):
    if _outside(host):
        _note("resolve", host)
        raise socket.gaierror(-2, "refused by the test")
    return _gai(host, *a, **k)
socket.getaddrinfo = getaddrinfo
_connect = socket.socket.connect
def connect(self, address):
    if isinstance(address, tuple) and _outside(address[0]):
        _note("connect", address[0])
        raise OSError(101, "refused by the test")
    return _connect(self, address)
socket.socket.connect = connect
'''


@pytest.mark.browser
def test_page_fetches_nothing_outside_and_chinese_reads_without_a_cjk_font(tmp_path):
    from browser_util import CHROMIUM_ARGS, skip_without_browser

    skip_without_browser()
    from browser_util import CHROMIUM, MNIST_DIR, free_port
    from playwright.sync_api import expect, sync_playwright

    spy = tmp_path / "spy"
    spy.mkdir()
    (spy / "sitecustomize.py").write_text(textwrap.dedent(_SPY))
    net_log = tmp_path / "net.log"
    port = free_port()
    env = {
        **os.environ,
        "DLVIZ_HOME": str(tmp_path / "home"),
        "DLVIZ_DATA_DIR": str(MNIST_DIR),
        "DLVIZ_OFFLINE": "1",
        "DLVIZ_LANG": "zh",
        "PYTHONPATH": str(spy),
        "DLVIZ_NET_LOG": str(net_log),
    }
    env.pop("DLVIZ_EXECUTOR", None)
    log_path = tmp_path / "streamlit.log"
    # as the README starts it: no --server.address, headless (as on a server without a display)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app.py",
                "--server.headless",
                "true",
                "--server.port",
                str(port),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        requests: list[str] = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("request", lambda r: requests.append(r.url))
            failed: list[tuple[int, str]] = []  # no missing static file, font or icon: no 4xx/5xx answer
            page.on("response", lambda r: failed.append((r.status, r.url)) if r.status >= 400 else None)
            for _ in range(240):  # the server starting (polling a socket, not waiting on the page)
                try:
                    page.goto(f"http://127.0.0.1:{port}/")
                    break
                except Exception:
                    if proc.poll() is not None:
                        raise AssertionError(log_path.read_text(errors="replace")) from None
                    page.wait_for_timeout(250)
            heading = page.get_by_role("heading", level=1).first
            expect(heading).to_contain_text("dlviz", timeout=60_000)
            expect(page.get_by_text("Language / 语言")).to_be_visible()
            page.wait_for_load_state("networkidle")
            zh = heading.inner_text()
            assert any("\u4e00" <= c <= "\u9fff" for c in zh), zh  # DLVIZ_LANG=zh: a Chinese heading
            fonts = page.evaluate("""async () => {
                await document.fonts.ready;
                return [...document.fonts].map(f => [f.family.replace(/["']/g, ''), f.status]);
            }""")
            assert ["dlviz Noto Sans SC", "loaded"] in fonts, fonts  # the page used it for its Chinese
            # glyphs, not boxes: two different characters draw differently in the page's font; the same
            # drawing in a font this machine lacks shows what a box looks like (two equal boxes on a machine
            # without CJK fonts, which is what this test guards against)
            same = page.evaluate("""async () => {
                const draw = (family, ch) => {
                    const c = document.createElement('canvas'); c.width = c.height = 64;
                    const x = c.getContext('2d'); x.font = `48px ${family}`; x.fillText(ch, 4, 52);
                    return Array.from(x.getImageData(0, 0, 64, 64).data).join(',');
                };
                await document.fonts.load('48px "dlviz Noto Sans SC"', '积分');
                return {shipped: draw('"dlviz Noto Sans SC"', '积') === draw('"dlviz Noto Sans SC"', '分'),
                        inked: draw('"dlviz Noto Sans SC"', '积') !== draw('"dlviz Noto Sans SC"', ' ')};
            }""")
            assert same == {"shipped": False, "inked": True}
            icon = page.evaluate("() => [...document.querySelectorAll('link[rel~=icon]')].map(l => l.href)")
            assert icon and all(h.startswith(f"http://127.0.0.1:{port}/") for h in icon), icon
            page.screenshot(path=str(tmp_path / "zh.png"))
            # pages with Plotly charts and images fetch nothing outside either
            page.get_by_test_id("stSidebarNav").get_by_role("link", name="数据", exact=True).click()
            expect(page.get_by_test_id("stPlotlyChart").first).to_be_visible(timeout=90_000)
            page.get_by_test_id("stSidebarNav").get_by_role("link", name="术语表", exact=True).click()
            expect(page.get_by_role("heading", name="步长")).to_be_visible(timeout=60_000)
            page.wait_for_load_state("networkidle")
            assert not failed, failed
            # a deep link (a refresh on a page other than the Start page): Streamlit's own frontend first asks
            # for <page>/_stcore/health and <page>/_stcore/host-config, gets 404, then uses /_stcore/ (upstream
            # streamlit/streamlit#7074, open). Those two are the only 404s allowed, and only on a deep link.
            page.goto(f"http://127.0.0.1:{port}/glossary")
            expect(page.get_by_role("heading", name="步长")).to_be_visible(timeout=60_000)
            page.wait_for_load_state("networkidle")
            probes = {
                f"http://127.0.0.1:{port}/glossary/_stcore/health",
                f"http://127.0.0.1:{port}/glossary/_stcore/host-config",
            }
            assert {u for status, u in failed if not (status == 404 and u in probes)} == set(), failed
            browser.close()
        outside = [
            u
            for u in requests
            if not u.startswith((f"http://127.0.0.1:{port}/", f"ws://127.0.0.1:{port}/", "data:", "blob:"))
        ]
        assert not outside, outside
        assert any(u.endswith("/app/static/fonts/NotoSansSC-dlviz.otf") for u in requests)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    text = log_path.read_text(errors="replace")
    assert "Did not auto detect external IP" not in text, text[-3000:]
    assert "URL: http://localhost:" in text, text[-3000:]
    attempts = net_log.read_text() if net_log.exists() else ""
    assert not attempts, attempts  # the server asked no outside address anything


# --------------------------------------------------------------------------------------------------
# Example photos (assets/examples): the upload road with no file at hand


@pytest.mark.parametrize("name,index", [("photo-3.jpg", 30), ("photo-7-squared-paper.jpg", 0), ("photo-2.jpg", 1)])
def test_example_photo_becomes_its_mnist_digit(name, index, mnist_dir):
    """Made from MNIST test digits (assets/examples/make_examples.py): after dlviz's preprocessing (grey,
    inverted, cropped, centred) each photo is close to the digit it was made from, squared paper included."""
    from dlviz.data.idx import read_idx
    from dlviz.modality.preprocess import open_image, to_mnist

    img, notice = open_image((ROOT / "assets/examples" / name).read_bytes())
    x = to_mnist(img).x.numpy().reshape(-1)
    ref = read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz")[index].astype(np.float32).reshape(-1)
    assert np.corrcoef(x, ref)[0, 1] > 0.6, np.corrcoef(x, ref)[0, 1]


def test_inspect_offers_the_example_photos(app, home):
    from page_util import open_page, saved_run

    saved_run("cnn")
    at = open_page(app, "pages/inspect.py", _insp_mode="upload")
    at.button(key="_inspw_example_photo-3.jpg").click().run()
    assert not at.exception and not at.error
    assert at.session_state["_insp_input"].caption == "Uploaded: photo-3.jpg"


# --------------------------------------------------------------------------------------------------
# The HTML handouts carry their Chinese characters (a saved file has no server to fetch a font from)


def test_chinese_handout_embeds_the_characters_it_uses(tmp_path):
    import base64
    import io
    import re

    from fontTools.ttLib import TTFont

    from dlviz.plots.fonts import FAMILY, embed_font

    page = embed_font(
        "<html><head><style>body{}</style></head><body><h1>为什么是 7？</h1><p>合理性检查都通过了。</p></body></html>"
    )
    m = re.search(r'@font-face \{ font-family: "([^"]+)";.*?url\(data:font/otf;base64,([A-Za-z0-9+/=]+)\)', page)
    assert m and m.group(1) == FAMILY
    assert "http" not in page.lower()
    cmap = TTFont(io.BytesIO(base64.b64decode(m.group(2)))).getBestCmap()
    assert {ord(c) for c in "为什么是合理性检查都通过了？。"} <= set(cmap)
    assert len(m.group(2)) < 60_000  # the characters used, not the 1.7 MB font
    assert embed_font("<style>x</style><p>English only</p>") == "<style>x</style><p>English only</p>"
