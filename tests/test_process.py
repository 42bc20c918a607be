"""ProcessExecutor: the app's jobs train in child processes; the interface is LocalExecutor's."""

from __future__ import annotations

import os
import signal
import time

import pytest

from dlviz.models import PRESETS
from dlviz.runs import RunStore
from dlviz.train import LocalExecutor, TrainConfig, TrainJob, process
from dlviz.train.process import ProcessExecutor, make_executor


def _wait_for(cond, seconds=90):
    deadline = time.time() + seconds
    while not cond():
        assert time.time() < deadline, "timed out"
        time.sleep(0.05)


def test_a_job_trains_in_a_child_process_and_reports_like_a_thread(home, mnist_dir):
    ex = ProcessExecutor()
    job = ex.submit(
        TrainJob("mnist", PRESETS["mlp"].copy_spec(), TrainConfig(epochs=2, limit=3000), data_dir=str(mnist_dir))
    )
    seen_running = []

    def running():
        s = ex.snapshot(job)
        if s.status == "running" and s.progress is not None:
            seen_running.append(s)
        return s.done

    _wait_for(running, 120)
    s = ex.wait(job, 60)  # the relay thread ends once the child has exited
    assert s.status == "finished", (s.status, s.text, s.text_args)
    assert ex._state(job).proc.pid != os.getpid() and ex._state(job).proc.exitcode == 0
    assert s.result.test_accuracy > 0.8 and s.result.epochs == 2
    # the live curves and gradient flow arrive as they do from a thread: every point once, in order
    steps = [r[0] for r in s.train]
    assert steps == sorted(steps) and len(steps) == len(set(steps)) and len(s.val) == 2
    assert s.grads["layers"] == ["dense_1", "dense_2", "dense_3"]
    run = RunStore().get(s.run_id)  # the child wrote to this test's DLVIZ_HOME
    assert run.status == "finished" and run.test_accuracy == pytest.approx(s.result.test_accuracy)
    assert "epoch-2" in RunStore().list_snapshots(s.run_id)
    assert ex.active_run_ids() == set()


def test_pause_resume_and_stop_reach_the_child(home, mnist_dir):
    ex = ProcessExecutor()
    job = ex.submit(
        TrainJob("mnist", PRESETS["mlp"].copy_spec(), TrainConfig(epochs=50, batch_size=16), data_dir=str(mnist_dir))
    )
    _wait_for(lambda: ex.snapshot(job).progress is not None)
    assert ex.active_run_ids() == {ex.snapshot(job).run_id}
    ex.pause(job)
    assert ex.snapshot(job).status == "paused"
    time.sleep(0.6)  # let a report that was on its way arrive
    step = ex.snapshot(job).progress.step
    time.sleep(1.0)
    assert ex.snapshot(job).progress.step == step, "a paused child kept training"
    ex.resume(job)
    _wait_for(lambda: ex.snapshot(job).progress.step > step)
    ex.stop(job)
    s = ex.wait(job, 60)
    assert s.status == "stopped" and "Stopped at step" in s.text
    assert RunStore().get(s.run_id).status == "stopped"
    assert RunStore().load_weights(s.run_id)  # the weights trained so far were kept


def test_a_child_that_dies_becomes_a_plain_failure(home, mnist_dir):
    ex = ProcessExecutor()
    job = ex.submit(
        TrainJob("mnist", PRESETS["mlp"].copy_spec(), TrainConfig(epochs=50, batch_size=16), data_dir=str(mnist_dir))
    )
    _wait_for(lambda: ex.snapshot(job).progress is not None)
    os.kill(ex._state(job).proc.pid, signal.SIGKILL)  # as the kernel's out-of-memory killer would
    s = ex.wait(job, 30)
    assert s.status == "failed" and s.done
    assert "ended unexpectedly" in s.text.format(**s.text_args)
    assert RunStore().get(s.run_id).status == "failed"
    assert ex.active_run_ids() == set()


def test_a_failed_job_message_comes_back(home, tmp_path):
    ex = ProcessExecutor()
    # a folder that does not exist (an empty one is no wall: the next source is tried, issue 13 bug 3)
    job = ex.submit(
        TrainJob("mnist", PRESETS["mlp"].copy_spec(), TrainConfig(epochs=1), data_dir=str(tmp_path / "nowhere"))
    )
    s = ex.wait(job, 60)
    assert s.status == "failed" and s.run_id is None and "nowhere" in s.text.format(**s.text_args)


def test_without_processes_the_job_trains_in_a_thread(home, mnist_dir, monkeypatch):
    real = process.context()

    class Ctx:
        Queue, Event = real.Queue, real.Event

        def Process(self, *a, **k):  # noqa: N802 - multiprocessing's name
            p = real.Process(*a, **k)

            def refuse():
                raise OSError("no processes in this sandbox")

            p.start = refuse
            return p

    monkeypatch.setattr(process, "context", lambda: Ctx())
    ex = ProcessExecutor()
    job = ex.submit(
        TrainJob("mnist", PRESETS["mlp"].copy_spec(), TrainConfig(epochs=1, limit=1000), data_dir=str(mnist_dir))
    )
    s = ex.wait(job, 120)
    assert s.status == "finished" and s.result.test_accuracy > 0.5


def test_the_app_uses_processes_unless_told(monkeypatch):
    monkeypatch.delenv("DLVIZ_EXECUTOR", raising=False)
    assert isinstance(make_executor(), ProcessExecutor)
    monkeypatch.setenv("DLVIZ_EXECUTOR", "thread")
    ex = make_executor()
    assert isinstance(ex, LocalExecutor) and not isinstance(ex, ProcessExecutor)


def test_a_shared_server_can_cap_each_jobs_threads(home, mnist_dir, monkeypatch):
    import torch

    if torch.get_num_threads() < 2:
        pytest.skip("one CPU thread: nothing to cap")

    def threads_used() -> int:
        ex = ProcessExecutor()
        # 8 steps: too few for the thread tuner to finish, so the job keeps the count it started with
        job = ex.submit(
            TrainJob("mnist", PRESETS["mlp"].copy_spec(), TrainConfig(epochs=1, limit=1000), data_dir=str(mnist_dir))
        )
        s = ex.wait(job, 120)
        assert s.status == "finished"
        return RunStore().get(s.run_id).metrics["cpu_threads"]

    monkeypatch.delenv("DLVIZ_TRAIN_THREADS", raising=False)
    assert threads_used() == torch.get_num_threads()
    monkeypatch.setenv("DLVIZ_TRAIN_THREADS", "1")
    assert threads_used() == 1


def test_a_paused_child_whose_app_died_stops(monkeypatch):
    import multiprocessing as mp
    import threading

    class Gone:
        def is_alive(self):
            return False

    c = process.ProcessControl(process.context())
    c.pause()
    monkeypatch.setattr(mp, "parent_process", lambda: Gone())
    done = []
    t = threading.Thread(target=lambda: done.append(c.wait()))
    t.start()
    t.join(10)
    assert done and c.stopped and not c.paused  # it stopped instead of waiting for a resume that cannot come
