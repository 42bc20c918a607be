"""Server limits: what one user's model, batch, upload or file may cost the shared machine.

Every limit is a setting a teacher can change with an environment variable before starting the app
(or the CLI); the defaults suit a small shared server (2 cores, 24 GB, a class of students):

==========================  =====================================================  =========
variable                    what it bounds                                          default
==========================  =====================================================  =========
DLVIZ_MAX_PARAMS            parameters of a model                                   20000000
DLVIZ_MAX_ACTIVATION_MB     activation memory of one training batch (estimated)     1024
DLVIZ_MAX_MFLOPS            forward-pass cost of one example, in millions of FLOPs  1000
DLVIZ_MAX_BATCH             training batch size                                     4096
DLVIZ_MAX_UPLOAD_MB         size of an uploaded image file                          20
DLVIZ_MAX_IMAGE_MB          memory of an uploaded image once decoded                128
DLVIZ_MAX_CSV_MB            size of a CSV file                                      10
DLVIZ_MAX_CSV_ROWS          rows of a CSV file                                      100000
DLVIZ_MAX_JSON_KB           size of a model spec (JSON)                             256
DLVIZ_MAX_JSON_DEPTH        nesting depth of a model spec                           32
DLVIZ_MAX_IDX_MB            an IDX data file once decompressed                      256
==========================  =====================================================  =========

``DLVIZ_NO_LIMITS=1`` (the CLI's ``--no-limits``) lifts the model limits (parameters, activation
memory, FLOPs, batch) on a machine of one's own; the file limits stay, they guard against damaged
files too. Estimates come from shapes alone (:func:`dlviz.models.builder.estimate`: layers built on PyTorch's
``meta`` device, their costs worked out from their sizes): nothing is allocated before a model passes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    params: int = 20_000_000
    activation_bytes: int = 1024 * MB
    flops: int = 1_000_000_000  # forward FLOPs of one example (a multiply-add counts 2)
    batch: int = 4096
    upload_bytes: int = 20 * MB
    image_bytes: int = 128 * MB
    csv_bytes: int = 10 * MB
    csv_rows: int = 100_000
    csv_quota_bytes: int = 30 * MB  # a class: the CSV files one student may keep on the server, together
    json_bytes: int = 256 * 1024
    json_depth: int = 32
    idx_bytes: int = 256 * MB
    model_limits: bool = True  # False: --no-limits / DLVIZ_NO_LIMITS=1


_ENV = {  # variable -> (field, multiplier)
    "DLVIZ_MAX_PARAMS": ("params", 1),
    "DLVIZ_MAX_ACTIVATION_MB": ("activation_bytes", MB),
    "DLVIZ_MAX_MFLOPS": ("flops", 1_000_000),
    "DLVIZ_MAX_BATCH": ("batch", 1),
    "DLVIZ_MAX_UPLOAD_MB": ("upload_bytes", MB),
    "DLVIZ_MAX_IMAGE_MB": ("image_bytes", MB),
    "DLVIZ_MAX_CSV_MB": ("csv_bytes", MB),
    "DLVIZ_MAX_CSV_ROWS": ("csv_rows", 1),
    "DLVIZ_CSV_QUOTA_MB": ("csv_quota_bytes", MB),
    "DLVIZ_MAX_JSON_KB": ("json_bytes", 1024),
    "DLVIZ_MAX_JSON_DEPTH": ("json_depth", 1),
    "DLVIZ_MAX_IDX_MB": ("idx_bytes", MB),
}


def limits() -> Limits:
    """The limits in force: the defaults, changed by any DLVIZ_MAX_* variable that holds a positive number.

    Read on every call (cheap), so a test or the CLI's ``--no-limits`` takes effect at once.
    """
    values = {}
    for var, (name, mult) in _ENV.items():
        raw = os.environ.get(var, "").strip().replace("_", "")
        if not raw:
            continue
        try:
            v = float(raw)
        except ValueError:
            continue  # a typo in a setting must not stop the server: the default holds
        if v > 0 and v == v:
            values[name] = int(min(v * mult, 2**62))
    off = os.environ.get("DLVIZ_NO_LIMITS", "").strip().lower() in ("1", "true", "yes", "on")
    return Limits(**values, model_limits=not off)


def fmt_bytes(n: float) -> str:
    """1536 -> '1.5 KB', 3 * 2**30 -> '3.0 GB' (binary units, written the way people say them)."""
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size:
            return f"{n / size:,.1f} {unit}"
    return f"{int(n)} bytes"
