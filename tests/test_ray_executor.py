"""RayExecutor (issue 17, item 6): a class's jobs as Ray tasks on a cluster, through the app's usual interface.

One small local cluster for the module (``ray.init(num_cpus=2)`` in this test process: ``local_mode`` is gone in
Ray 2.60); the executor's driver process connects to it by address, as the app connects to ``ray start --head``.
The cluster tests skip only where Ray is not installed (``pip install -r requirements-ray.txt``; CI installs it).
"""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

import pytest

from dlviz.models import PRESETS
from dlviz.runs import RunStore
from dlviz.train import TrainConfig, TrainJob
from dlviz.train import ray_executor as rx
from dlviz.train.process import make_executor
from dlviz.train.ray_executor import RayExecutor


def _wait_for(cond, seconds=60):
    deadline = time.time() + seconds
    while not cond():
        assert time.time() < deadline, "timed out"
        time.sleep(0.05)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again: nothing listens there


def _said(s) -> str:
    return s.text.format(**s.text_args)


# ---- without a cluster ---------------------------------------------------------------------------------------


def test_without_ray_installed_a_job_fails_with_how_to_install_it(home, monkeypatch):
    monkeypatch.setattr(rx, "ray_installed", lambda: False)
    ex = RayExecutor(address="127.0.0.1:6379")
    s = ex.wait(ex.submit(TrainJob("mnist", PRESETS["mlp"].copy_spec())), 5)
    assert s.status == "failed" and s.done and s.run_id is None
    assert "pip install -r requirements-ray.txt" in _said(s) and "Traceback" not in _said(s)
    assert ex.error[0] == rx.NOT_INSTALLED


def test_an_address_where_nothing_answers_is_said_plainly_and_at_once(home, monkeypatch, capsys):
    if not rx.ray_installed():
        pytest.skip("Ray is not installed (pip install -r requirements-ray.txt)")
    port = _free_port()
    monkeypatch.setenv("DLVIZ_EXECUTOR", "ray")
    monkeypatch.setenv("DLVIZ_RAY_ADDRESS", f"127.0.0.1:{port}")
    ex = make_executor()  # what the app does at start (it connects in the background)
    assert isinstance(ex, RayExecutor)
    # found by a plain TCP connect, before Ray is asked (ray.init retries such an address for minutes)
    assert ex.start(wait=True) is False and ex.error[0] == rx.NO_ANSWER and ex._driver is None
    s = ex.wait(ex.submit(TrainJob("mnist", PRESETS["mlp"].copy_spec())), 10)
    assert capsys.readouterr().err.count("dlviz: Ray: Nothing answers") == 1  # the server's log says it once
    assert s.status == "failed" and f"Nothing answers at the Ray address 127.0.0.1:{port}" in _said(s)
    assert "ray start --head" in _said(s)
    monkeypatch.setenv("DLVIZ_RAY_ADDRESS", "")
    assert RayExecutor().start(wait=True) is False  # no address at all: says which variable to set
    ex2 = RayExecutor()
    ex2.start()
    assert ex2.error[0] == rx.NO_ADDRESS and "DLVIZ_RAY_ADDRESS" in ex2.error[0]


def test_addresses_are_read_as_ray_writes_them():
    assert rx._host_port("10.0.0.5:6379") == ("10.0.0.5", 6379)
    assert rx._host_port("ray://head.example:10001") == ("head.example", 10001)
    assert rx._host_port("[::1]:6379") == ("::1", 6379)
    assert rx._host_port("auto") is None


def test_a_gpu_share_is_declared_only_for_a_gpu_job():
    def job(device):
        return TrainJob("mnist", {}, TrainConfig(device=device))

    assert rx._gpu_wanted(job("cuda"), 0) and rx._gpu_wanted(job("cuda:1"), 4)
    assert rx._gpu_wanted(job("auto"), 2) and not rx._gpu_wanted(job("auto"), 0)
    assert not rx._gpu_wanted(job("cpu"), 8)
    # the Ray task's options: its CPUs, a GPU share only for a GPU job, never retried (a second run)
    j, opts = rx.task_options(job("cuda"), "abc", cluster_gpus=2, cpus=2, gpu_share=0.25)
    assert opts == {"num_cpus": 2, "num_gpus": 0.25, "max_retries": 0, "name": "dlviz-train-abc"}
    assert j.config.device == "cuda"
    j, opts = rx.task_options(job("auto"), "abc", cluster_gpus=1, cpus=1, gpu_share=0.5)
    assert opts["num_gpus"] == 0.5 and j.config.device == "auto"
    j, opts = rx.task_options(job("auto"), "abc", cluster_gpus=0, cpus=1, gpu_share=0.5)
    assert "num_gpus" not in opts and j.config.device == "cpu"  # declared no GPU: uses none
    assert rx.task_options(job("cuda"), "abc", cluster_gpus=0, cpus=1, gpu_share=0.5)[1] is None
    assert "cpu" in rx.NO_GPU and "{address}" in rx.NO_GPU


def test_the_class_queue_takes_its_slots_from_a_backend_that_knows_them():
    from dlviz.classroom.queue import FairQueue, for_server
    from dlviz.train import LocalExecutor

    class Cluster(LocalExecutor):  # what RayExecutor.slots() says of a connected cluster
        def slots(self):
            return {"cpu": 6, "cuda:0": 8}

    q = for_server(Cluster(), class_on=True)
    try:
        assert isinstance(q, FairQueue) and q.slots == {"cpu": 6, "cuda:0": 8} and not q.share_data
    finally:
        q.close()


# ---- on a local Ray cluster ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster():
    """A 2-CPU local Ray cluster for this module; its address, as ``ray start --head`` prints it."""
    pytest.importorskip("ray")
    from ray_util import local_cluster

    with local_cluster() as address:
        yield address


@pytest.fixture(scope="module")
def ray_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("ray-home")


@pytest.fixture(scope="module")
def ex(cluster, ray_home):
    os.environ.setdefault("DLVIZ_OFFLINE", "1")
    e = RayExecutor(lambda: RunStore(ray_home), address=cluster)
    assert e.start(wait=True, timeout=60), e.error
    yield e
    e.close()


@pytest.fixture
def on_ray(ex, ray_home, monkeypatch):
    monkeypatch.setenv("DLVIZ_HOME", str(ray_home))
    return ex


@pytest.mark.slow
def test_a_job_trains_on_the_cluster_and_its_run_is_saved_with_its_owner(on_ray, ray_home, mnist_dir):
    ex = on_ray
    assert ex.cluster["cpus"] == 2 and ex.slots() == {"cpu": 2}  # what the class's queue may run at once
    job = ex.submit(
        TrainJob(
            "mnist",
            PRESETS["mlp"].copy_spec(),
            TrainConfig(epochs=1, limit=2000),
            data_dir=str(mnist_dir),
            owner="s-ada",
        )
    )
    s = ex.wait(job, 60)
    assert s.status == "finished", (s.status, _said(s))
    assert s.result.test_accuracy > 0.5 and s.result.epochs == 1 and s.device == "cpu"
    # the live curves and gradient flow came back as from a local process: every point once, in order
    steps = [r[0] for r in s.train]
    assert steps and steps == sorted(steps) and len(steps) == len(set(steps)) and len(s.val) == 1
    assert s.grads["layers"] == ["dense_1", "dense_2", "dense_3"]
    run = RunStore(ray_home).get(s.run_id)  # the Ray worker wrote into the app's store
    assert run.owner == "s-ada" and run.status == "finished"
    assert run.test_accuracy == pytest.approx(s.result.test_accuracy)
    assert RunStore(ray_home).load_weights(s.run_id) and "epoch-1" in RunStore(ray_home).list_snapshots(s.run_id)
    assert ex.active_run_ids() == set() and ex.job_for_run(s.run_id) == job


@pytest.mark.slow
def test_the_class_queue_runs_its_jobs_on_the_cluster(on_ray, ray_home, mnist_dir):
    from dlviz.classroom.queue import for_server

    q = for_server(on_ray, class_on=True)  # the class server's queue, Ray as its inner executor
    try:
        assert q.slots == {"cpu": 2}
        cfg = TrainConfig(epochs=1, limit=500)
        a = q.submit(TrainJob("mnist", PRESETS["mlp"].copy_spec(), cfg, data_dir=str(mnist_dir), owner="s-bo"))
        b = q.submit(TrainJob("mnist", PRESETS["mlp"].copy_spec(), cfg, data_dir=str(mnist_dir), owner="s-cy"))
        sa, sb = q.wait(a, 60), q.wait(b, 60)
    finally:
        q.close()
    assert (sa.status, sb.status) == ("finished", "finished"), (_said(sa), _said(sb))
    store = RunStore(ray_home)
    assert store.get(sa.run_id).owner == "s-bo" and store.get(sb.run_id).owner == "s-cy"


@pytest.mark.slow
def test_pause_resume_and_stop_reach_the_ray_task(on_ray, ray_home, mnist_dir):
    ex = on_ray
    job = ex.submit(
        TrainJob(
            "mnist",
            PRESETS["mlp"].copy_spec(),
            TrainConfig(epochs=50, batch_size=16, limit=20000),
            data_dir=str(mnist_dir),
        )
    )
    _wait_for(lambda: ex.snapshot(job).progress is not None)
    assert ex.active_run_ids() == {ex.snapshot(job).run_id}
    ex.pause(job)
    assert ex.snapshot(job).status == "paused"
    time.sleep(1.0)  # the flag reaches the task within a poll; a report on its way arrives
    step = ex.snapshot(job).progress.step
    time.sleep(1.0)
    assert ex.snapshot(job).progress.step == step, "a paused Ray task kept training"
    ex.resume(job)
    _wait_for(lambda: ex.snapshot(job).progress.step > step)
    ex.stop(job)
    s = ex.wait(job, 60)
    assert s.status == "stopped" and "Stopped at step" in _said(s)
    assert RunStore(ray_home).get(s.run_id).status == "stopped"
    assert RunStore(ray_home).load_weights(s.run_id)  # the weights trained so far were kept


@pytest.mark.slow
def test_stop_on_a_job_still_waiting_for_a_worker_cancels_it(on_ray, mnist_dir):
    ex = on_ray
    long = TrainConfig(epochs=50, batch_size=16, limit=20000)
    busy = [ex.submit(TrainJob("mnist", PRESETS["mlp"].copy_spec(), long, data_dir=str(mnist_dir))) for _ in "ab"]
    try:
        _wait_for(lambda: all(ex.snapshot(j).progress is not None for j in busy))  # both CPUs taken
        waiting = ex.submit(TrainJob("mnist", PRESETS["mlp"].copy_spec(), long, data_dir=str(mnist_dir)))
        time.sleep(0.5)
        s = ex.snapshot(waiting)
        assert s.status == "queued" and "Waiting for a free worker" in _said(s)
        ex.stop(waiting)
        s = ex.wait(waiting, 30)
        assert s.status == "stopped" and s.run_id is None and "no run was saved" in _said(s)
    finally:
        for j in busy:
            ex.stop(j)
        for j in busy:
            assert ex.wait(j, 60).status == "stopped"


@pytest.mark.slow
def test_a_failed_job_comes_back_with_its_plain_message(on_ray, tmp_path):
    ex = on_ray
    bad = ex.submit(TrainJob("mnist", {"name": "bad", "layers": [{"type": "no-such-layer"}]}, TrainConfig(epochs=1)))
    nowhere = ex.submit(
        TrainJob("mnist", PRESETS["mlp"].copy_spec(), TrainConfig(epochs=1), data_dir=str(tmp_path / "nowhere"))
    )
    s = ex.wait(bad, 60)
    assert s.status == "failed" and s.run_id is None and "no-such-layer" in _said(s)
    assert "Traceback" not in _said(s) and "Something unexpected" not in _said(s)
    s = ex.wait(nowhere, 60)
    assert s.status == "failed" and s.run_id is None and "nowhere" in _said(s)


def _task_pid(job_id: str, seconds=30) -> int:
    """The process of the Ray task training ``job_id`` (Ray titles it with the task's name)."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        for p in Path("/proc").iterdir():
            if p.name.isdigit():
                try:
                    if (p / "cmdline").read_bytes().startswith(f"ray::dlviz-train-{job_id}".encode()):
                        return int(p.name)
                except OSError:
                    continue
        time.sleep(0.1)
    pytest.skip("the Ray task's process was not found by its title")


@pytest.mark.slow
def test_a_worker_that_dies_is_reported_and_keeps_its_run(on_ray, ray_home, mnist_dir):
    if not Path("/proc/self/cmdline").exists():
        pytest.skip("no /proc")
    ex = on_ray
    job = ex.submit(
        TrainJob(
            "mnist",
            PRESETS["mlp"].copy_spec(),
            TrainConfig(epochs=50, batch_size=16, limit=20000),
            data_dir=str(mnist_dir),
        )
    )
    _wait_for(lambda: ex.snapshot(job).progress is not None)
    os.kill(_task_pid(job), signal.SIGKILL)  # as the out-of-memory killer would
    s = ex.wait(job, 60)
    assert s.status == "failed" and s.done
    assert "Ray worker training this job was lost" in _said(s) and "last finished epoch" in _said(s)
    assert RunStore(ray_home).get(s.run_id).status == "failed"
    assert ex.active_run_ids() == set()
    # the executor goes on: the next job trains
    s = ex.wait(
        ex.submit(
            TrainJob("mnist", PRESETS["mlp"].copy_spec(), TrainConfig(epochs=1, limit=500), data_dir=str(mnist_dir))
        ),
        60,
    )
    assert s.status == "finished", _said(s)


@pytest.mark.slow
def test_a_worker_that_cannot_see_the_store_fails_plainly(on_ray, ray_home, mnist_dir):
    token = ray_home / "class" / "ray-store-token"
    real = token.read_text()
    token.write_text("another machine's folder")  # what a worker sees where DLVIZ_HOME is not shared
    try:
        s = on_ray.wait(on_ray.submit(TrainJob("mnist", PRESETS["mlp"].copy_spec(), data_dir=str(mnist_dir))), 60)
    finally:
        token.write_text(real)
    assert s.status == "failed" and s.run_id is None
    assert "does not see this server's run store" in _said(s) and str(ray_home) in _said(s)
