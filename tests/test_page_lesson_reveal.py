"""A reveal's measured lines show the words filled in (a run's name, typed by the student) as plain text."""

from __future__ import annotations

import json

import pytest

QUIZ = {
    "id": "quiz",
    "order": 50,
    "title": {"en": "A quiz", "zh": "小测验"},
    "summary": {"en": "One question.", "zh": "一个问题。"},
    "steps": [
        {
            "id": "q",
            "page": "home",
            "action": "answer",
            "text": {"en": "Guess now.", "zh": "现在猜。"},
            "question": {
                "prompt": {"en": "Which one?", "zh": "哪一个？"},
                "choices": [{"en": "Left", "zh": "左"}, {"en": "Right", "zh": "右"}, {"en": "Neither", "zh": "都不"}],
                "answer": 1,
                "reveal": {"en": "Right it was.", "zh": "是右边。"},
            },
        }
    ],
}


@pytest.fixture
def quiz(tmp_path, monkeypatch):
    folder = tmp_path / "own-lessons"
    folder.mkdir()
    (folder / "quiz.json").write_text(json.dumps(QUIZ), encoding="utf-8")
    monkeypatch.setenv("DLVIZ_LESSONS", str(folder))
    return QUIZ


def test_typed_words_in_a_reveal_line_stay_plain_text(app, quiz):
    at = app()
    at.run()
    at.button(key="_lsn_start_quiz").click().run()
    at.radio(key="_lsn_choice_quiz_q_en").set_value(0).run()
    at.button(key="_lsn_guess_quiz_q").click().run()
    assert not at.exception, at.exception
    assert any("Right it was." in m.value for m in at.markdown)
    evil = "**x** [a](javascript:alert(1))"
    at.session_state["_lsn"]["lessons"]["quiz"]["reveals"]["q"]["lines"] = [
        [
            "{name}: training accuracy {train}, validation accuracy {val}, gap {gap} points.",
            {"name": evil, "train": "99%", "val": "90%", "gap": "9.0"},
        ]
    ]
    at.run()
    assert not at.exception, at.exception
    line = next(m.value for m in at.markdown if "training accuracy 99%" in m.value)
    # every character that would start bold or a link is escaped: the line reads as the name the student typed
    assert line.startswith("- \\*\\*x\\*\\* \\[a\\](javascript\\:alert(1)): training accuracy 99%"), line
