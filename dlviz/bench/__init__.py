"""Benchmarks behind ``python -m dlviz bench``: ``train`` (where a training speed-up comes from) and ``explain``
(what an explanation costs beside plain Captum). Tools, like the CLI: they sit above the features they time
(training, the plots the Train page redraws, the explanation methods) and nothing in dlviz imports them."""
