"""The class's fair training queue (issue 17, item 5): order, one waiting job per student, the teacher's limits,
cancel, wall time, a killed worker. The order logic runs against a fake executor that trains nothing; the killed
worker and the wall time run real jobs in child processes (a few hundred images, seconds each)."""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import replace

import pytest

from dlviz.classroom import TEACHER_ID
from dlviz.classroom.limits import LimitError, StudentLimits, get_limits, set_limits
from dlviz.classroom.queue import (
    CANCELLED,
    DEFAULT_CPU_JOBS,
    WALL_STOPPED_EARLY,
    FairQueue,
    QueueError,
    default_cpu_jobs,
    default_job_threads,
    default_slots,
    device_of,
    for_server,
    set_job_threads,
)
from dlviz.models import PRESETS
from dlviz.runs import RunStore
from dlviz.train import JobResult, JobSnapshot, LocalExecutor, TrainConfig, TrainJob
from dlviz.train.process import ProcessExecutor


class FakeExecutor:
    """Trains nothing: each job runs until the test ends it (``end``) or stops it."""

    def __init__(self):
        self.jobs: dict[str, TrainJob] = {}
        self.snaps: dict[str, JobSnapshot] = {}
        self.started: list[str] = []  # owners, in the order their jobs reached the executor
        self.stopped: list[str] = []
        self.lock = threading.Lock()

    def submit(self, job):
        with self.lock:
            jid = f"inner-{len(self.jobs)}"
            self.jobs[jid] = job
            self.snaps[jid] = JobSnapshot(jid, "running")
            self.started.append(job.owner)
            return jid

    def snapshot(self, jid):
        with self.lock:
            return self.snaps[jid]

    def end(self, jid, status="finished"):
        with self.lock:
            self.snaps[jid] = replace(self.snaps[jid], status=status, result=JobResult(None, status, message="done"))

    def stop(self, jid):
        self.stopped.append(jid)
        self.end(jid, "stopped")

    def pause(self, jid):
        pass

    def resume(self, jid):
        pass

    def active_run_ids(self):
        return set()


def _job(owner, epochs=1, name="mlp", limit=1000):
    return TrainJob("mnist", PRESETS[name].copy_spec(), TrainConfig(epochs=epochs, limit=limit), owner=owner)


def _wait_for(cond, seconds=60):
    deadline = time.time() + seconds
    while not cond():
        assert time.time() < deadline, "timed out"
        time.sleep(0.02)


@pytest.fixture
def fake(home):
    inner = FakeExecutor()
    q = FairQueue(inner, slots={"cpu": 1}, share_data=False, poll_s=0.02)
    yield q, inner
    q.close()


def _end_running(q, inner):
    """End the job now training and wait until the next one has started (or none waits)."""
    (running,) = q.running()
    inner.end(q._entries[running].inner_id)
    _wait_for(lambda: running not in q.running() and (not q.waiting() or len(q.running()) == 1))


def test_the_teacher_first_then_each_student_in_turn(fake):
    q, inner = fake
    first = q.submit(_job("s-ann"))
    _wait_for(lambda: inner.started == ["s-ann"])
    # while Ann trains: Bob, Ann again, Cleo, then the teacher
    bob, ann2, cleo, teacher = (q.submit(_job(o)) for o in ("s-bob", "s-ann", "s-cleo", TEACHER_ID))
    assert q.waiting() == [teacher, bob, cleo, ann2]  # Ann had her turn: behind those who had none
    assert [q.snapshot(j).place for j in (teacher, bob, cleo, ann2)] == [1, 2, 3, 4]
    s = q.snapshot(ann2)
    assert s.status == "queued" and not s.done and s.wait_s is None  # nothing finished yet: no estimate
    assert q.snapshot(first).status == "running"
    view = q.overview()  # what the teacher's dashboard may show
    assert [(v["owner"], v["status"], v["place"]) for v in view] == [
        ("s-ann", "running", 0),
        (TEACHER_ID, "queued", 1),
        ("s-bob", "queued", 2),
        ("s-cleo", "queued", 3),
        ("s-ann", "queued", 4),
    ]
    for _ in range(4):
        _end_running(q, inner)
    assert inner.started == ["s-ann", TEACHER_ID, "s-bob", "s-cleo", "s-ann"]


def test_a_waiting_job_gets_an_estimate_once_jobs_have_finished(fake):
    q, inner = fake
    q.submit(_job("s-ann"))
    _wait_for(lambda: len(inner.started) == 1)
    _end_running(q, inner)  # one measured job of this kind
    q.submit(_job("s-bob"))
    _wait_for(lambda: len(inner.started) == 2)
    cleo, dan = q.submit(_job("s-cleo")), q.submit(_job("s-dan", epochs=3))
    assert q.snapshot(cleo).wait_s is not None and q.snapshot(cleo).wait_s >= 0
    assert q.snapshot(dan).wait_s >= q.snapshot(cleo).wait_s  # behind Cleo's job
    assert q.estimate(_job("x", epochs=3)) == pytest.approx(3 * q.estimate(_job("x", epochs=1)))  # per epoch
    assert q.estimate(_job("x", name="cnn")) is not None  # another model: the median of all


def test_one_waiting_job_per_student_and_the_teacher_may_queue_more(fake):
    q, inner = fake
    q.submit(_job("s-ann"))
    _wait_for(lambda: len(inner.started) == 1)
    bob = q.submit(_job("s-bob"))
    assert isinstance(q.refusal(_job("s-bob")), QueueError)  # what the Train page asks before it submits
    second = q.submit(_job("s-bob"))  # refused: a job that failed at once, as executors report problems
    s = q.snapshot(second)
    assert s.status == "failed" and s.done and s.result.run_id is None
    assert s.text_args == {"place": 1} and "already have a run waiting" in s.text
    assert q.waiting() == [bob]  # the first keeps its place: nothing was replaced
    t1, t2 = q.submit(_job(TEACHER_ID)), q.submit(_job(TEACHER_ID))
    assert q.waiting() == [t1, t2, bob]
    ann2 = q.submit(_job("s-ann"))  # Ann's first job trains, it does not wait: she may queue one
    assert q.waiting()[-1] == ann2


def test_cancel_takes_a_waiting_job_out_and_stop_reaches_a_running_one(fake):
    q, inner = fake
    first = q.submit(_job("s-ann"))
    _wait_for(lambda: len(inner.started) == 1)
    bob, cleo = q.submit(_job("s-bob")), q.submit(_job("s-cleo"))
    q.stop(bob)
    s = q.snapshot(bob)
    assert s.status == "stopped" and s.done and s.text == CANCELLED and s.result.run_id is None
    assert q.waiting() == [cleo] and q.snapshot(cleo).place == 1
    q.submit(_job("s-bob"))  # cancelled: Bob may queue again
    q.stop(first)  # running: the executor's stop
    assert inner.stopped == [q._entries[first].inner_id]
    _wait_for(lambda: inner.started[1:] == ["s-cleo"])
    assert "s-bob" not in inner.started[:2]  # the cancelled job never reached the executor
    assert q.snapshot(first).status == "stopped" and q.has(first) and not q.has("nope")


def test_the_teachers_limits_are_checked_at_submit_with_a_plain_message(fake):
    q, inner = fake
    assert get_limits() == StudentLimits()  # none set: nothing but the server's limits
    set_limits(max_epochs=3, max_params=50_000)
    assert get_limits() == StudentLimits(max_epochs=3, max_params=50_000)
    s = q.snapshot(q.submit(_job("s-ann", epochs=5)))
    assert s.status == "failed" and s.text_args == {"most": 3, "epochs": 5} and "at most {most} epochs" in s.text
    assert isinstance(q.refusal(_job("s-ann", epochs=5)), LimitError)
    s = q.snapshot(q.submit(_job("s-ann", name="mlp")))  # the MLP preset: about 100,000 parameters
    assert s.status == "failed" and "parameters" in s.text and s.text_args["most"] == "50,000"
    assert s.text_args["params"] == "109,386"
    assert q.waiting() == [] and inner.started == []
    q.submit(_job(TEACHER_ID, epochs=5))  # the teacher is not limited
    set_limits(max_params=None)  # cleared; the epochs stay
    assert get_limits() == StudentLimits(max_epochs=3)
    q.submit(_job("s-ann", epochs=3))
    _wait_for(lambda: inner.started == [TEACHER_ID])


def test_limits_the_teacher_types_are_checked_and_a_damaged_file_means_none(home):
    with pytest.raises(LimitError):
        set_limits(max_epochs=-2)
    with pytest.raises(LimitError):
        set_limits(max_wall_s="soon")
    with pytest.raises(LimitError):
        set_limits(max_gpus=1)
    assert set_limits(max_wall_s="90") == StudentLimits(max_wall_s=90.0)
    (home / "class" / "limits.json").write_text("{not json", encoding="utf-8")
    assert get_limits() == StudentLimits()


def test_a_job_past_the_wall_time_is_stopped_and_says_why(fake):
    q, inner = fake
    set_limits(max_wall_s=0.05)
    ann = q.submit(_job("s-ann"))
    _wait_for(lambda: inner.started == ["s-ann"])
    teacher = q.submit(_job(TEACHER_ID))  # the teacher's own job is not timed
    _wait_for(lambda: q.snapshot(ann).done and q.snapshot(ann).result is not None)
    s = q.snapshot(ann)
    # the fake made no run: stopped "before training began" (a real job that trained: tested below)
    assert s.status == "stopped" and s.text == WALL_STOPPED_EARLY and s.text_args == {"seconds": "0.05"}
    assert s.result.message == s.text
    _wait_for(lambda: q.running() == [teacher])
    time.sleep(0.2)
    assert q.snapshot(teacher).status == "running"


def test_slots_per_device_from_the_server_and_the_gpu_memory(monkeypatch):
    monkeypatch.delenv("DLVIZ_MAX_JOBS", raising=False)
    monkeypatch.delenv("DLVIZ_MAX_GPU_JOBS", raising=False)
    monkeypatch.delenv("DLVIZ_GPU_JOB_MB", raising=False)
    assert default_slots([], gpu_free_mb=[])["cpu"] == default_cpu_jobs()
    assert DEFAULT_CPU_JOBS == default_cpu_jobs(2) == 2 and default_job_threads(2, cores=2) == 1  # measured here
    assert default_cpu_jobs(16) == 16  # one job per core
    q = FairQueue(FakeExecutor(), slots={"cpu": 1}, share_data=False)
    q.close()
    env = {}
    set_job_threads(q, env)
    assert env["DLVIZ_TRAIN_THREADS"] == str(default_job_threads(1))
    env = {"DLVIZ_TRAIN_THREADS": "4"}
    set_job_threads(q, env)
    assert env["DLVIZ_TRAIN_THREADS"] == "4"  # the server's own setting stays
    assert default_slots(["--class", "--max-jobs", "3"], gpu_free_mb=[]) == {"cpu": 3}
    monkeypatch.setenv("DLVIZ_MAX_JOBS", "2")
    assert default_slots([], gpu_free_mb=[80_000, 1000]) == {"cpu": 2, "cuda:0": 39, "cuda:1": 1}
    monkeypatch.setenv("DLVIZ_GPU_JOB_MB", "10000")
    assert default_slots([], gpu_free_mb=[80_000])["cuda:0"] == 8
    monkeypatch.setenv("DLVIZ_MAX_GPU_JOBS", "4")
    slots = default_slots([], gpu_free_mb=[80_000])
    assert slots["cuda:0"] == 4
    gpu = replace(_job("s"), config=TrainConfig(device="auto"))
    assert device_of(gpu, slots) == "cuda:0" and device_of(gpu, {"cpu": 1}) == "cpu"
    assert device_of(replace(gpu, config=TrainConfig(device="cpu")), slots) == "cpu"


def test_jobs_for_a_free_device_do_not_wait_behind_a_busy_one(home):
    inner = FakeExecutor()
    q = FairQueue(inner, slots={"cpu": 1, "cuda:0": 1}, share_data=False, poll_s=0.02)
    try:
        q.submit(replace(_job("s-a"), config=TrainConfig(device="cpu")))
        cpu2 = q.submit(replace(_job("s-b"), config=TrainConfig(device="cpu")))
        q.submit(replace(_job("s-c"), config=TrainConfig(device="cuda")))
        _wait_for(lambda: sorted(inner.started) == ["s-a", "s-c"])
        assert q.waiting() == [cpu2]
    finally:
        q.close()


def test_alone_the_app_uses_its_executor_directly():
    inner = LocalExecutor()
    assert for_server(inner, class_on=False) is inner  # a single user's runs start at once, as before
    q = for_server(inner, class_on=True)
    try:
        assert isinstance(q, FairQueue) and q.inner is inner and q.share_data
    finally:
        q.close()


def test_a_killed_worker_is_reported_and_the_queue_goes_on(home, mnist_dir):
    ex = ProcessExecutor()
    q = FairQueue(ex, slots={"cpu": 1}, poll_s=0.05)
    try:
        cfg = TrainConfig(epochs=50, batch_size=16, limit=400, device="cpu")
        ann = q.submit(TrainJob("mnist", PRESETS["mlp"].copy_spec(), cfg, data_dir=str(mnist_dir), owner="s-ann"))
        small = TrainConfig(epochs=1, limit=300, device="cpu")
        bob = q.submit(TrainJob("mnist", PRESETS["mlp"].copy_spec(), small, data_dir=str(mnist_dir), owner="s-bob"))
        assert q.snapshot(bob).status == "queued"
        # one epoch finished and kept (its snapshot is written just after its curve point is reported)
        _wait_for(
            lambda: q.snapshot(ann).run_id and "epoch-1" in RunStore().list_snapshots(q.snapshot(ann).run_id), 120
        )
        inner_id = q._entries[ann].inner_id
        os.kill(ex._state(inner_id).proc.pid, signal.SIGKILL)  # as the out-of-memory killer would
        s = q.wait(ann, 60)
        assert s.status == "failed" and "ended unexpectedly" in s.text and s.text_args["code"] == -signal.SIGKILL
        run = RunStore().get(s.run_id)
        assert run.status == "failed" and "epoch-1" in RunStore().list_snapshots(s.run_id)
        b = q.wait(bob, 120)  # the queue went on
        assert b.status == "finished", (b.status, b.text, b.text_args)
        assert RunStore().get(b.run_id).status == "finished"
        assert list(q._data) == [("mnist", str(mnist_dir))]  # MNIST loaded once, shared with both jobs
    finally:
        q.close()


def test_a_real_job_past_the_wall_time_keeps_its_weights_and_its_run_says_why(home, mnist_dir):
    q = FairQueue(ProcessExecutor(), slots={"cpu": 1}, poll_s=0.05)
    try:
        cfg = TrainConfig(epochs=200, batch_size=16, limit=400, device="cpu")
        job = q.submit(TrainJob("mnist", PRESETS["mlp"].copy_spec(), cfg, data_dir=str(mnist_dir), owner="s-ann"))
        _wait_for(lambda: q.snapshot(job).progress is not None, 120)  # training, its run made
        set_limits(max_wall_s=0.5)  # the teacher lowers the limit: the queue reads it as it goes
        s = q.wait(job, 120)
        assert s.status == "stopped" and "the longest a run may train" in s.text
        run = RunStore().get(s.run_id)
        assert run.status == "stopped" and "the longest a run may train" in run.message
        assert run.metrics["message"]["args"] == {"seconds": "0.5"}
        assert RunStore().load_weights(s.run_id)  # the weights trained so far were kept
    finally:
        q.close()


def test_a_cluster_says_how_many_jobs_it_runs_at_once(home):
    class Cluster(FakeExecutor):
        def slots(self, timeout=None):
            return {"cpu": 3}

    q = FairQueue(Cluster(), poll_s=0.02)
    try:
        _wait_for(lambda: q.slots == {"cpu": 3})
        assert not q.share_data  # a cluster loads its own data: nothing in this machine's memory reaches it
        for owner in ("s-a", "s-b", "s-c", "s-d"):
            q.submit(_job(owner))
        _wait_for(lambda: len(q.inner.started) == 3)
        assert len(q.waiting()) == 1
    finally:
        q.close()
