"""The class's guesses on a lesson's question (no streamlit): one vote per student, the teacher's reveal."""

from __future__ import annotations

import pytest

from dlviz.classroom import Person
from dlviz.classroom.guesses import Guesses
from dlviz.plots import guess_histogram


def test_one_guess_per_student_and_the_reveal(home):
    g = Guesses()
    ann, bob = Person("s-aaaaaaaaaaaa", "Ann", "student"), Person("s-bbbbbbbbbbbb", "Ann", "student")
    g.guess("quiz", "q", ann, 0)
    g.guess("quiz", "q", bob, 2)
    g.guess("quiz", "q", ann, 1)  # a second guess replaces the first
    g.guess("quiz", "q", Person("teacher", "T", "teacher"), 0)  # the teacher's own is not the class's
    g.guess("quiz", "q", bob, 7)  # outside the choices: left out of the counts
    assert g.counts("quiz", "q", 3) == [0, 1, 0]
    assert g.answers("quiz", "q") == {ann.id: 1, bob.id: 7}
    assert not g.revealed("quiz", "q")
    g.reveal("quiz", "q")
    assert g.revealed("quiz", "q") and not g.revealed("quiz", "other")
    g.clear("quiz", "q")
    assert g.counts("quiz", "q", 3) == [0, 0, 0] and not g.revealed("quiz", "q")
    with pytest.raises(ValueError):
        g.guess("../../x", "q", ann, 0)


def test_histogram_marks_the_answer_once_revealed():
    fig = guess_histogram([3, 1], ["<b>A</b>", "B"])
    assert list(fig.data[0].x) == [3, 1] and fig.data[0].y[0] == "&lt;b&gt;A&lt;/b&gt;"
    assert len(set(fig.data[0].marker.color)) == 1
    shown = guess_histogram([3, 1], ["A", "B"], answer=1)
    assert shown.data[0].marker.color[1] != shown.data[0].marker.color[0]
