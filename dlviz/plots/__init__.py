"""Pure figure builders (Plotly): data in, ``go.Figure`` out. No streamlit here.

Labels are passed in already translated (``tr`` is a translate function, English by default), so
the same builders serve the app in both languages, the CLI and notebooks.
"""

from dlviz.plots.figures import (
    CORRECT,
    WRONG,
    class_balance,
    guess_histogram,
    image_grid,
    image_sheet,
    prediction_gallery,
    probability_bars,
    training_curves,
)
from dlviz.plots.safe import as_text

__all__ = [
    "CORRECT",
    "as_text",
    "WRONG",
    "class_balance",
    "guess_histogram",
    "image_grid",
    "image_sheet",
    "prediction_gallery",
    "probability_bars",
    "training_curves",
]
