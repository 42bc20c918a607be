"""Child processes of the app that run none of the app: the fork server, its start-up, and dying with the server.

Shared by ``ProcessExecutor`` (``dlviz.train.process``: each training job a child) and ``RayExecutor``
(``dlviz.train.ray_executor``: one Ray driver child). The reasons for each rule are in ``dlviz.train.process``'s
docstring: children named ``dlviz-*`` do not re-run the parent's ``__main__`` (Streamlit's app.py), and a child
watches the server that started it and ends when it is gone.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
import threading
import time

# what the fork server imports once: torch, the models, the data readers, the gradient recorder, and
# torch._dynamo, which torch.optim imports when the first optimizer is made (1.6 s on a 2-core CPU)
PRELOAD = ["dlviz.train.process", "torch._dynamo"]
CHILD_PREFIX = "dlviz-"  # processes started without the parent's __main__ (see _no_main_in_children)
WATCH_SECONDS = 0.5  # how often a child checks that its server is still alive


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # alive, owned by someone else
        return True
    return True


def _set_parent_death_signal() -> None:
    """Linux: the kernel sends this process SIGKILL when its parent process dies."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG = 1
    except Exception:  # noqa: BLE001 - the watchdog thread covers it
        pass


def _die_with_server(app_pid: int | None, on_gone) -> None:
    """In a training child: end this process when the server that started it is gone.

    The parent process of a forkserver child is the fork server, not the server, so the kernel's
    parent-death signal alone is not enough: a thread waits on the server's sentinel (a pipe the
    server holds; it closes when the server dies, however it died) and checks the server's pid."""
    _set_parent_death_signal()
    app = mp.parent_process()
    if app is None and app_pid is None:
        return

    ppid = os.getppid()  # the fork server (or the server itself under spawn)

    def gone() -> bool:
        if app is not None and not app.is_alive():
            return True
        if ppid != 1 and os.getppid() != ppid:  # re-parented: the process that forked this one died
            return True
        return app_pid is not None and not _pid_alive(app_pid)

    def watch() -> None:
        while True:
            if app is not None:
                app.join(WATCH_SECONDS)  # returns at once when the server's end of the pipe closes
            else:
                time.sleep(WATCH_SECONDS)
            if gone():
                break
        # give the last words a moment, never longer: nobody will ever read this process again
        t = threading.Thread(target=on_gone, name="dlviz-orphaned", daemon=True)
        t.start()
        t.join(3.0)
        os._exit(3)

    threading.Thread(target=watch, name="dlviz-watch-server", daemon=True).start()


def _strip_main(get_preparation_data):
    def prepare(name):
        data = get_preparation_data(name)
        if str(name).startswith(CHILD_PREFIX):
            data.pop("init_main_from_name", None)
            data.pop("init_main_from_path", None)
        return data

    prepare.dlviz_strips_main = True
    return prepare


def _no_main_in_children() -> None:
    """Children named ``dlviz-*`` do not re-run the parent's ``__main__`` (Streamlit's app.py)."""
    from multiprocessing import spawn

    if not getattr(spawn.get_preparation_data, "dlviz_strips_main", False):
        spawn.get_preparation_data = _strip_main(spawn.get_preparation_data)


_ctx = None
_ctx_lock = threading.Lock()


def context():
    """The multiprocessing context: a fork server preloaded with torch and dlviz where the platform
    has one (Linux, macOS), else spawn (Windows)."""
    global _ctx
    with _ctx_lock:
        if _ctx is None:
            _no_main_in_children()
            if "forkserver" in mp.get_all_start_methods():
                _ctx = mp.get_context("forkserver")
                _ctx.set_forkserver_preload(PRELOAD)
            else:
                _ctx = mp.get_context("spawn")
        return _ctx


def _noop() -> None:
    pass


def warm_up(wait: bool = False) -> None:
    """Start the fork server and let it import torch and dlviz (1-2 s) now, by running one empty child,
    so that pressing Train later starts at once. In the background unless ``wait``."""

    def go():
        try:
            p = context().Process(target=_noop, name=f"{CHILD_PREFIX}warm-up", daemon=True)
            p.start()
            p.join(60)
        except Exception:  # noqa: BLE001 - submit() falls back to a thread if processes cannot start
            pass

    if wait:
        go()
    else:
        threading.Thread(target=go, name="dlviz-warm-up", daemon=True).start()
