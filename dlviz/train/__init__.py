"""Training: the recipe, the device-resident loop and its callbacks, the job runner and the executor pages talk
to. No UI here."""

from dlviz.train.callbacks import (
    Callback,
    Checkpoints,
    Control,
    GradientRecording,
    Loop,
    OnProgress,
    Progress,
    Snapshots,
)
from dlviz.train.config import OPTIMIZERS, PRECISIONS, SCHEDULES, TEXT_RECIPES, TrainConfig, recipe_for
from dlviz.train.engine import (
    DeviceData,
    FitResult,
    available_devices,
    evaluate,
    fit,
    image_transform,
    lr_factor,
    resolve_device,
    test_logits,
)
from dlviz.train.events import Curves, Listener
from dlviz.train.executor import Executor, JobSnapshot, LocalExecutor
from dlviz.train.gradients import GradRecorder
from dlviz.train.runner import JobResult, TrainJob, evaluate_run, load_run, prepare_data, run_job

__all__ = [
    "OPTIMIZERS",
    "PRECISIONS",
    "SCHEDULES",
    "TEXT_RECIPES",
    "Callback",
    "Checkpoints",
    "Control",
    "Curves",
    "DeviceData",
    "FitResult",
    "GradRecorder",
    "GradientRecording",
    "Loop",
    "OnProgress",
    "Progress",
    "Snapshots",
    "TrainConfig",
    "available_devices",
    "evaluate",
    "fit",
    "image_transform",
    "lr_factor",
    "recipe_for",
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
