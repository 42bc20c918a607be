"""A standalone training script for a model and the Train page's recipe (the Build page's download, the CLI's
``export --script``): the recipe resolved and checked here, the source written by
:func:`dlviz.models.codegen.script_source`."""

from __future__ import annotations

from dlviz.errors import SpecError
from dlviz.models.codegen import script_source, to_pytorch, writes_script
from dlviz.train.config import OPTIMIZERS, SCHEDULES, WARMUP_FRACTION, TrainConfig

#: the recipe fields a script carries (the device and the precision are the script's own business)
SCRIPT_FIELDS = (
    "optimizer",
    "lr",
    "batch_size",
    "epochs",
    "weight_decay",
    "momentum",
    "seed",
    "val_fraction",
    "schedule",
    "limit",
)


def to_script(spec, input_shape=(1, 28, 28), num_classes=10, recipe: dict | None = None) -> str:
    """A script that builds the model, reads MNIST (or Fashion-MNIST) from IDX files in a folder named on the
    command line, and trains it with dlviz's recipe: the same Glorot start for the same seed, the same
    80/20 split (seed 42), optimizer, learning-rate schedule, batch size and epochs. Plain Python + torch.

    ``recipe``: TrainConfig fields (the Train page's settings); missing ones take TrainConfig's defaults.
    A text model gets the model alone (its data needs dlviz's tokenizer): see ``to_pytorch``.
    """
    if not writes_script(spec, input_shape):
        return to_pytorch(spec, input_shape, num_classes)  # the model alone: a script cannot read its data
    defaults = TrainConfig()
    values = {k: (recipe or {}).get(k, getattr(defaults, k)) for k in SCRIPT_FIELDS}
    cfg = TrainConfig(**values).validated()  # a bad recipe is a TrainError, as on the Train page
    if cfg.optimizer not in OPTIMIZERS or cfg.schedule not in SCHEDULES:  # validated() already refused these
        raise SpecError("The model cannot be exported: unknown optimizer or schedule.")
    return script_source(spec, input_shape, num_classes, cfg, WARMUP_FRACTION)
