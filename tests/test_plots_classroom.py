from types import SimpleNamespace

from dlviz.plots.classroom import class_curves


def _curve(sid, name, epochs):
    return SimpleNamespace(
        student_id=sid, student=name, run_name="r", epochs=list(range(1, epochs + 1)), accuracy=[0.9] * epochs
    )


def test_one_trace_per_run_one_legend_entry_per_student_and_whole_epoch_ticks():
    fig = class_curves([_curve("s-1", "Ana", 2), _curve("s-1", "Ana", 3), _curve("s-2", "Ben", 3)])
    assert len(fig.data) == 3 and [d.showlegend for d in fig.data] == [True, False, True]
    assert fig.data[0].line.color == fig.data[1].line.color != fig.data[2].line.color
    assert fig.layout.xaxis.dtick == 1  # a short class run: a tick per epoch, never 0.5
    assert class_curves([_curve("s-1", "Ana", 40)]).layout.xaxis.dtick is None  # a long one: Plotly's own ticks
