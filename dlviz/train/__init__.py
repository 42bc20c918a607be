"""Training: the device-resident loop, the job runner and the executor pages talk to. No UI here."""

from dlviz.train.engine import (
    OPTIMIZERS,
    SCHEDULES,
    Control,
    DeviceData,
    FitResult,
    Progress,
    TrainConfig,
    available_devices,
    evaluate,
    fit,
    image_transform,
    lr_factor,
    resolve_device,
    test_logits,
)
from dlviz.train.executor import Executor, JobSnapshot, LocalExecutor
from dlviz.train.runner import JobResult, Listener, TrainJob, evaluate_run, load_run, prepare_data, run_job

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "Control",
    "DeviceData",
    "FitResult",
    "Progress",
    "TrainConfig",
    "available_devices",
    "evaluate",
    "fit",
    "image_transform",
    "lr_factor",
    "test_logits",
    "resolve_device",
    "Executor",
    "JobSnapshot",
    "LocalExecutor",
    "JobResult",
    "Listener",
    "TrainJob",
    "evaluate_run",
    "load_run",
    "prepare_data",
    "run_job",
]
