"""Guided lessons: data files (dlviz/lessons/data/*.json), their checker, the runs they need (snapshots), the
numbers their reveals show (measures), the planted-shortcut dataset (shortcut) and the worksheet. No streamlit."""

from dlviz.lessons.measures import measure
from dlviz.lessons.model import (
    Lesson,
    LessonError,
    Question,
    Snapshot,
    Step,
    Text,
    load_lesson,
    load_lessons,
    load_lessons_safe,
    parse_lesson,
)

__all__ = [
    "Lesson",
    "LessonError",
    "Question",
    "Snapshot",
    "Step",
    "Text",
    "load_lesson",
    "load_lessons",
    "load_lessons_safe",
    "measure",
    "parse_lesson",
]
