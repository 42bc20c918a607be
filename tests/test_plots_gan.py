"""The GAN's training curves (dlviz/plots/gan.py), with known rows: which column goes where (the fast tier's test of it)."""

from __future__ import annotations

from dlviz.i18n import translate
from dlviz.plots.gan import DISCRIMINATOR_COLOUR, FAKE_COLOUR, GENERATOR_COLOUR, REAL_COLOUR, gan_curves

# [step, epoch, generator loss, discriminator accuracy, discriminator loss, real acc, fake acc]
ROWS = [[10, 0.5, 2.0, 0.9, 0.4, 0.95, 0.85], [20, 1.0, 1.5, 0.7, 0.6, 0.75, 0.65], [25, 1.2, 3.0]]


def test_losses_left_accuracies_right_and_short_rows_skipped():
    fig = gan_curves(ROWS)
    assert [t.name for t in fig.data] == ["generator", "discriminator", "on real digits", "on generated digits"]
    assert [t.line.color for t in fig.data] == [GENERATOR_COLOUR, DISCRIMINATOR_COLOUR, REAL_COLOUR, FAKE_COLOUR]
    assert all(list(t.x) == [0.5, 1.0] for t in fig.data)  # by epoch; the 3-column row is not drawn
    assert [list(t.y) for t in fig.data] == [[2.0, 1.5], [0.4, 0.6], [0.95, 0.75], [0.85, 0.65]]
    assert [t.xaxis for t in fig.data] == ["x", "x", "x2", "x2"]  # losses on the left, accuracies on the right
    assert fig.data[3].line.dash == "dot" and fig.data[0].line.dash is None
    assert list(fig.layout.yaxis2.range) == [0, 1.02] and fig.layout.yaxis2.tickformat == ".0%"
    assert [s.y0 for s in fig.layout.shapes] == [0.5]  # chance for the discriminator


def test_no_rows_yet_draws_the_frame_only():
    fig = gan_curves([])
    assert len(fig.data) == 0 and list(fig.layout.yaxis2.range) == [0, 1.02]
    assert [a.text for a in fig.layout.annotations] == ["Losses", "Discriminator accuracy"]


def test_chinese_titles():
    fig = gan_curves(ROWS, tr=lambda text, **kw: translate(text, "zh", **kw))
    names = [t.name for t in fig.data]
    assert names[0] != "generator" and all(any("\u4e00" <= ch <= "\u9fff" for ch in n) for n in names)
