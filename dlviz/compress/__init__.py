"""Compression of a trained run: magnitude pruning, int8 quantisation and distillation into a smaller student, each
measured (test accuracy, file size, CPU latency per image) and saved as a run of its own. No UI here."""

from dlviz.compress.job import (
    INT8_FILE,
    QUANTIZE_CHOICES,
    Measure,
    Request,
    chart_points,
    check_run,
    compress_run,
    compression_of,
    evaluate_int8,
    file_of,
    is_int8,
    label_of,
    label_text,
    load_model,
    origin_of,
    student_presets,
    variants,
)
from dlviz.compress.prune import nonzero, prune_model, sparsity
from dlviz.compress.quant import dequantized_state, int8_tensors, load_int8, plan, quantize, skeleton

__all__ = [
    "INT8_FILE",
    "QUANTIZE_CHOICES",
    "Measure",
    "Request",
    "chart_points",
    "check_run",
    "compress_run",
    "compression_of",
    "dequantized_state",
    "evaluate_int8",
    "file_of",
    "int8_tensors",
    "is_int8",
    "label_of",
    "label_text",
    "load_int8",
    "load_model",
    "nonzero",
    "origin_of",
    "plan",
    "prune_model",
    "quantize",
    "skeleton",
    "sparsity",
    "student_presets",
    "variants",
]
