"""A small local Ray cluster for a test module (tests/test_ray_executor.py, tests/test_browser_ray.py)."""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def local_cluster() -> Iterator[str]:
    """A 2-CPU local Ray cluster in this process; yields its address, as ``ray start --head`` prints it. Puts back
    what ``ray.init`` takes over: the SIGTERM handler (see dlviz.train.ray_executor) and the environment (it sets
    RAY_AUTH_MODE and more for this process; the next tests run without them)."""
    import ray

    handler, env = signal.getsignal(signal.SIGTERM), dict(os.environ)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    signal.signal(signal.SIGTERM, handler)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()
        os.environ.clear()
        os.environ.update(env)
