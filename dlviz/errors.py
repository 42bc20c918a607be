"""User-facing errors.

Every problem a user can cause (a bad file, an impossible layer, a learning rate of 1e6) is raised
as a :class:`DlvizError` carrying an English message template and its arguments. The UI and the
CLI translate the template with :func:`dlviz.i18n.translate`, so the same error reads in English
or Chinese and never as a traceback.
"""

from __future__ import annotations

from dlviz.i18n import catalogue, translate


class DlvizError(Exception):
    """A problem explained in plain words. ``template`` is translatable; ``kwargs`` fill it."""

    def __init__(self, template: str, **kwargs):
        self.template = template
        self.kwargs = kwargs
        super().__init__(self.message())

    def message(self, lang: str = "en", escape=None) -> str:
        """The message in ``lang``. ``escape`` (the app's ``plain``) is applied to every word filled in, which
        may be a user's file name or model name: the app shows messages as Markdown, the CLI as text."""
        # words filled into the template ("kernel", a layer title) translate too when known
        cat = catalogue(lang)
        kwargs = {k: cat.get(v, v) if isinstance(v, str) else v for k, v in self.kwargs.items()}
        if escape is not None:
            kwargs = {k: escape(v) if isinstance(v, str) else v for k, v in kwargs.items()}
        return translate(self.template, lang, **kwargs)


class DataError(DlvizError):
    """A dataset file is missing, truncated or not what it claims to be."""


class SpecError(DlvizError):
    """A model spec cannot be built. ``layer`` is the 0-based index of the culprit, if known."""

    def __init__(self, template: str, layer: int | None = None, **kwargs):
        self.layer = layer
        super().__init__(template, **kwargs)


class TrainError(DlvizError):
    """Training settings are unusable, or training had to stop (NaN loss, out of memory)."""


class RunError(DlvizError):
    """A saved run is missing, damaged or not safe to load."""


class ExplainError(DlvizError):
    """An explanation that cannot be made: an unknown method, a class out of range, a bad setting."""
