"""A Streamlit client that speaks the app's websocket protocol and renders nothing: one browser tab, as the
server sees it, at a fraction of a browser's cost (bench/classroom.py runs thirty of them on two cores).

    async with Session("http://127.0.0.1:8501") as s:
        await s.open()                                   # the default page, as a new tab would
        await s.open("train")                            # a sidebar link: the page's url path
        await s.click("Train")                           # a button by its label (or key)
        await s.until(lambda p: p.button("Train") and not p.button("Train").disabled)

It does what Streamlit's frontend does on the wire, no more: connect to ``/_stcore/stream`` with the
``streamlit`` subprotocol, send ``BackMsg.rerun_script`` (the page's script hash and url path, the query
string the server last set, the widget values this client changed, a button's trigger), read the
``ForwardMsg`` stream (``new_session`` starts a run, ``delta`` draws an element at a path, ``auto_rerun``
asks for a fragment's rerun every so often, ``page_info_changed`` sets the query string, ``navigation``
lists the pages, ``script_finished`` ends a run), and rerun a fragment when the server asks it to
(``st.fragment(run_every=...)``: the Train page's live curves), as the browser's timer does.

What it does not do: fetch static files, render, run components, upload files, keep message caches (it
sends no cached hashes, so the server sends every message whole). Loopback or any URL the caller gives;
nothing else is contacted. Only ``bench/`` uses it; it imports ``streamlit.proto`` (the wire format) and
``websockets``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import connect

WIDGETS = (
    "button",
    "checkbox",
    "number_input",
    "text_input",
    "text_area",
    "selectbox",
    "radio",
    "slider",
    "multiselect",
    "download_button",
    "button_group",
)
# the element types whose text a page "shows" (what the checks read)
TEXT_OF = {
    "markdown": lambda e: e.markdown.body,
    "heading": lambda e: e.heading.body,
    "alert": lambda e: e.alert.body,
    "text": lambda e: e.text.body,
    "exception": lambda e: f"{e.exception.type}: {e.exception.message}",
    "progress": lambda e: e.progress.text,
    "metric": lambda e: f"{e.metric.label}: {e.metric.body}",
    "code": lambda e: e.code.code_text,
}


class ProtocolError(RuntimeError):
    """The server closed the stream, or a run did not finish in time."""


@dataclass
class Widget:
    kind: str  # the Element oneof: button, number_input, ...
    id: str
    label: str
    disabled: bool
    proto: object  # the widget's own message (Button, NumberInput, ...)

    @property
    def key(self) -> str:
        """The user key Streamlit folds into the id (``$$ID-<hash>-<key>``), or ''."""
        parts = self.id.split("-", 2)
        return parts[2] if self.id.startswith("$$ID-") and len(parts) == 3 else ""


@dataclass
class Page:
    """What the session shows: the latest element at every delta path."""

    elements: dict[tuple[int, ...], object] = field(default_factory=dict)

    def items(self):
        return [self.elements[p] for p in sorted(self.elements)]

    def widgets(self) -> list[Widget]:
        out = []
        for e in self.items():
            kind = e.WhichOneof("type")
            if kind in WIDGETS:
                w = getattr(e, kind)
                out.append(Widget(kind, w.id, getattr(w, "label", ""), bool(getattr(w, "disabled", False)), w))
        return out

    def widget(self, label_or_key: str, kind: str | None = None) -> Widget | None:
        """The widget whose label, user key or id is ``label_or_key``; the first one drawn if several."""
        for w in self.widgets():
            if (kind is None or w.kind == kind) and label_or_key in (w.label, w.key, w.id):
                return w
        return None

    def button(self, label_or_key: str) -> Widget | None:
        return self.widget(label_or_key, "button")

    def texts(self) -> list[str]:
        out = []
        for e in self.items():
            kind = e.WhichOneof("type")
            if kind in TEXT_OF:
                out.append(TEXT_OF[kind](e))
        return out

    def text(self) -> str:
        return "\n".join(self.texts())

    def exceptions(self) -> list[str]:
        return [TEXT_OF["exception"](e) for e in self.items() if e.WhichOneof("type") == "exception"]

    def kinds(self) -> list[str]:
        return [e.WhichOneof("type") for e in self.items()]


@dataclass
class RunTiming:
    """One request answered: from the BackMsg sent to the script_finished of the full run it caused."""

    page: str
    seconds: float
    reruns: int  # runs the script restarted itself (st.rerun) before it finished
    ok: bool


class Session:
    """One browser tab, at the websocket level. Use as an async context manager."""

    def __init__(self, base_url: str, *, timeout: float = 300.0, query_string: str = ""):
        self.base = base_url.rstrip("/")
        self.ws_url = self.base.replace("http://", "ws://", 1).replace("https://", "wss://", 1) + "/_stcore/stream"
        self.timeout = timeout
        self.query_string = query_string
        self.page = Page()
        self.pages: dict[str, str] = {}  # url path -> page script hash ('' for the default page)
        self.default_page = ""
        self.current = ""  # url path of the page shown ('' the default page)
        self.page_hash = ""
        self.session_id = ""
        self.running = False  # a run (full or fragment) in progress
        self.full_runs = 0  # full runs finished (successfully) so far
        self.fragment_runs = 0
        self.bytes_in = 0
        self.messages_in = 0
        self.errors: list[str] = []
        self._ws = None
        self._reader: asyncio.Task | None = None
        self._auto: dict[str, asyncio.Task] = {}  # fragment id -> timer task
        self._changed = asyncio.Event()  # set at every script_finished (and when the stream ends)
        self._closed = False
        self._run_full = False  # the run in progress is a full run
        self._run_started_at = 0.0
        self._values: dict[str, WidgetState] = {}  # widget values to send with the next request only
        self._last_full_start = 0  # counters for rerun(): full runs started / finished
        self._full_started = 0
        self._early_reruns = 0

    # ----------------------------------------------------------------------------- connection
    async def __aenter__(self) -> Session:
        await self.connect()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def connect(self) -> None:
        self._ws = await connect(
            self.ws_url, subprotocols=["streamlit"], max_size=None, open_timeout=self.timeout, ping_interval=None
        )
        self._reader = asyncio.create_task(self._read())

    async def close(self) -> None:
        self._closed = True
        for task in self._auto.values():
            task.cancel()
        self._auto.clear()
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            try:
                await asyncio.wait_for(self._reader, 10)
            except (asyncio.TimeoutError, asyncio.CancelledError, Exception):  # noqa: BLE001 - closing: nothing to report
                pass

    # ----------------------------------------------------------------------------- reading
    async def _read(self) -> None:
        try:
            async for data in self._ws:
                if isinstance(data, str):
                    continue
                self.bytes_in += len(data)
                self.messages_in += 1
                msg = ForwardMsg()
                msg.ParseFromString(data)
                self._handle(msg)
        except Exception as e:  # noqa: BLE001 - the stream ended: every waiter learns it below
            if not self._closed:
                self.errors.append(f"stream: {type(e).__name__}: {e}")
        finally:
            self._closed = True
            self._changed.set()

    def _handle(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            ns = msg.new_session
            if ns.HasField("initialize") and ns.initialize.session_id:
                self.session_id = ns.initialize.session_id
            fragment = bool(msg.metadata.run.fragment_ids)
            self.running = True
            self._run_full = not fragment
            if not fragment:
                self._full_started += 1
                self._run_started_at = time.monotonic()
                self.page = Page()  # a full run redraws the page: what it does not draw is gone
                for task in self._auto.values():  # the browser drops every timer when the whole app reruns
                    task.cancel()
                self._auto.clear()
                if ns.page_script_hash:
                    self.page_hash = ns.page_script_hash
            for p in ns.app_pages:
                self._add_page(p)
        elif kind == "delta":
            d = msg.delta
            path = tuple(msg.metadata.delta_path)
            which = d.WhichOneof("type")
            if which == "new_element":
                self.page.elements[path] = d.new_element
            elif which == "add_block":
                # a block replaced at this path: what was inside it belongs to the old block
                for p in [p for p in self.page.elements if p[: len(path)] == path and len(p) > len(path)]:
                    del self.page.elements[p]
        elif kind == "navigation":
            for p in msg.navigation.app_pages:
                self._add_page(p)
            if msg.navigation.page_script_hash:
                self.page_hash = msg.navigation.page_script_hash
        elif kind == "page_info_changed":
            self.query_string = msg.page_info_changed.query_string
        elif kind == "auto_rerun":
            fid = msg.auto_rerun.fragment_id
            if fid in self._auto:
                self._auto[fid].cancel()
            self._auto[fid] = asyncio.create_task(self._every(msg.auto_rerun.interval, fid))
        elif kind == "stop_auto_rerun":
            for fid in msg.stop_auto_rerun.fragment_ids:
                task = self._auto.pop(fid, None)
                if task:
                    task.cancel()
        elif kind == "script_finished":
            status = msg.script_finished
            if status == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                self._early_reruns += 1
                return  # the script goes on: a new run follows at once
            self.running = False
            if status == ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY:
                self.fragment_runs += 1
            elif status == ForwardMsg.FINISHED_SUCCESSFULLY:
                self.full_runs += 1
            else:
                self.errors.append(f"script_finished status {status}")
                self.full_runs += 1
            self._changed.set()
        elif kind == "session_event":
            ev = msg.session_event
            if ev.WhichOneof("type") == "script_compilation_exception":
                self.errors.append(f"compile error: {ev.script_compilation_exception.message}")

    def _add_page(self, p) -> None:
        self.pages[p.url_pathname] = p.page_script_hash
        if p.is_default:
            self.default_page = p.url_pathname
            self.pages[""] = p.page_script_hash

    async def _every(self, interval: float, fragment_id: str) -> None:
        """The browser's timer for ``st.fragment(run_every=...)``: ask for the fragment's rerun every ``interval``
        seconds. A request is skipped while a run is in progress (the browser's is queued behind it)."""
        try:
            while not self._closed:
                await asyncio.sleep(interval)
                if not self.running:
                    await self._send(fragment_id=fragment_id, auto=True)
        except asyncio.CancelledError:
            pass
        except Exception as e:  # noqa: BLE001 - a send on a closing socket: the reader reports the end
            self.errors.append(f"auto rerun: {type(e).__name__}: {e}")

    # ----------------------------------------------------------------------------- writing
    async def _send(self, *, fragment_id: str = "", auto: bool = False, trigger: str = "") -> None:
        if self._closed:
            raise ProtocolError("the server closed the stream: " + "; ".join(self.errors[-3:]))
        msg = BackMsg()
        cs = msg.rerun_script
        cs.query_string = self.query_string
        cs.page_script_hash = self.page_hash
        cs.page_name = self.current
        if fragment_id:
            cs.fragment_id = fragment_id
        cs.is_auto_rerun = auto
        if not auto:
            for state in self._values.values():
                cs.widget_states.widgets.add().CopyFrom(state)
            self._values.clear()
        if trigger:
            ws = cs.widget_states.widgets.add()
            ws.id = trigger
            ws.trigger_value = True
        self.running = True
        await self._ws.send(msg.SerializeToString())

    async def _full_run(self, label: str, send: Callable) -> RunTiming:
        """Send a request and wait for the full run it causes to finish (through any st.rerun in between)."""
        started = self._full_started
        early = self._early_reruns
        t0 = time.monotonic()
        self._changed.clear()
        await send()
        deadline = t0 + self.timeout
        while True:
            # a full run that started after the request, and nothing running now
            if self._full_started > started and not self.running:
                break
            if self._closed:
                raise ProtocolError(f"{label}: the stream ended: " + "; ".join(self.errors[-3:]))
            left = deadline - time.monotonic()
            if left <= 0:
                raise ProtocolError(f"{label}: no finished run within {self.timeout:.0f} s")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except asyncio.TimeoutError:
                pass
        return RunTiming(label, time.monotonic() - t0, self._early_reruns - early, not self.page.exceptions())

    # ----------------------------------------------------------------------------- what a user does
    async def open(self, page: str = "") -> RunTiming:
        """Open a page by its url path ('' the default page), as its sidebar link does."""
        if page and self.pages and page not in self.pages:
            raise ProtocolError(f"no page {page!r}; the app has {sorted(p for p in self.pages if p)}")
        self.current = page
        self.page_hash = self.pages.get(page, "")

        async def send():
            await self._send()

        return await self._full_run(page or "start", send)

    def set(self, label_or_key: str, value) -> Widget:
        """Give a widget a value (sent with the next request, as the browser does when a field changes)."""
        w = self.page.widget(label_or_key)
        if w is None or w.kind == "button":
            raise ProtocolError(f"no field {label_or_key!r} on {self.current or 'start'}: {self._labels()}")
        state = WidgetState(id=w.id)
        if w.kind == "number_input":
            state.double_value = float(value)
        elif w.kind in ("text_input", "text_area", "selectbox", "radio"):
            state.string_value = str(value)
        elif w.kind == "checkbox":
            state.bool_value = bool(value)
        elif w.kind in ("slider",):
            state.double_array_value.data.extend([float(v) for v in (value if isinstance(value, list) else [value])])
        elif w.kind in ("multiselect", "button_group"):
            state.string_array_value.data.extend([str(v) for v in value])
        else:
            raise ProtocolError(f"{w.kind} {label_or_key!r}: this client cannot set it")
        self._values[w.id] = state
        return w

    async def change(self, label_or_key: str, value) -> RunTiming:
        """Set a field and let the script rerun (a field's change reruns the page, outside a form)."""
        self.set(label_or_key, value)

        async def send():
            await self._send()

        return await self._full_run(f"{self.current or 'start'}: {label_or_key}", send)

    async def click(self, label_or_key: str) -> RunTiming:
        """Press a button (a form's submit button sends the fields set with ``set`` along)."""
        w = self.page.button(label_or_key)
        if w is None:
            raise ProtocolError(f"no button {label_or_key!r} on {self.current or 'start'}: {self._labels()}")
        if w.disabled:
            raise ProtocolError(f"the button {label_or_key!r} on {self.current or 'start'} is disabled")

        async def send():
            await self._send(trigger=w.id)

        return await self._full_run(f"{self.current or 'start'}: {label_or_key}", send)

    async def until(self, predicate: Callable[[Page], bool], timeout: float | None = None) -> float:
        """Wait (fragments rerunning on their timers meanwhile) until a finished run leaves the page so that
        ``predicate(page)`` holds; the seconds waited."""
        t0 = time.monotonic()
        deadline = t0 + (self.timeout if timeout is None else timeout)
        while True:
            if not self.running and predicate(self.page):
                return time.monotonic() - t0
            if self._closed:
                raise ProtocolError("the stream ended: " + "; ".join(self.errors[-3:]))
            left = deadline - time.monotonic()
            if left <= 0:
                raise ProtocolError(f"not reached within {deadline - t0:.0f} s on {self.current or 'start'}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), min(left, 1.0))
            except asyncio.TimeoutError:
                pass

    def _labels(self) -> str:
        return ", ".join(f"{w.kind}:{w.label or w.key}" for w in self.page.widgets()) or "no widgets"
