"""A lesson's question and its reveal: the measured lines show the words filled in (a run's name, typed by the
student) as plain text; in a class (issue 18 with issue 17) the students' guesses reach the teacher as a
histogram, the teacher reveals the answer to everyone, and the teacher can push a lesson at a chosen step."""

from __future__ import annotations

import json

import pytest

from dlviz.classroom import Person
from dlviz.classroom.guesses import Guesses
from dlviz.classroom.pushed import PushBoard

QUIZ = {
    "id": "quiz",
    "order": 50,
    "title": {"en": "A quiz", "zh": "小测验"},
    "summary": {"en": "One question.", "zh": "一个问题。"},
    "steps": [
        {"id": "intro", "page": "home", "text": {"en": "Read this first.", "zh": "先读这个。"}},
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
        },
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
    at.button(key="_lsn_next").click().run()
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


ANN = Person("s-0123456789ab", "Ann", "student")
BOB = Person("s-bbbbbbbbbbbb", "Bob", "student")
TEACHER = Person("teacher", "Teacher", "teacher")


def _session(app, person):
    at = app()
    at.session_state["person"] = person
    at.run()
    assert not at.exception, at.exception
    return at


def _texts(at) -> str:
    return "\n".join([m.value for m in at.markdown] + [i.value for i in at.info] + [c.value for c in at.caption])


def _next_enabled(at) -> bool:
    return not at.button(key="_lsn_next").disabled


def test_the_teacher_pushes_a_lesson_at_a_step(app, quiz):
    teacher = _session(app, TEACHER)
    teacher.switch_page("pages/classroom.py").run()  # the Class page holds the teacher's push panel
    teacher.session_state["_push_lesson"] = "quiz"
    teacher.run()
    teacher.number_input(key="_push_step").set_value(2).run()
    teacher.button(key="_push_btn").click().run()
    assert not teacher.exception, teacher.exception
    ann = _session(app, ANN)
    assert ann.session_state["_lsn"]["active"] == "quiz"
    assert ann.session_state["_lsn"]["lessons"]["quiz"]["step"] == 1  # step 2, the question
    assert "Which one?" in _texts(ann)
    assert "Lesson: A quiz, step 2" in _texts(ann)  # the banner says what the teacher set
    # the teacher follows the lesson at the same step, and paces the class from there
    assert teacher.session_state["_lsn"]["active"] == "quiz"
    assert teacher.session_state["_lsn"]["lessons"]["quiz"]["step"] == 1
    teacher.button(key="_lsn_back").click().run()
    teacher.button(key="_lsn_class_here").click().run()
    assert not teacher.exception, teacher.exception
    ann.run()
    assert ann.session_state["_lsn"]["lessons"]["quiz"]["step"] == 0 and "Read this first." in _texts(ann)


def test_guesses_reach_the_teachers_histogram_and_the_reveal_reaches_students(app, quiz):
    PushBoard().push(lesson={"id": "quiz", "step": 1})
    students = {ANN: 1, BOB: 0}
    sessions = {}
    for person, choice in students.items():
        at = _session(app, person)
        at.radio(key="_lsn_choice_quiz_q_en").set_value(choice).run()
        at.button(key="_lsn_guess_quiz_q").click().run()
        assert not at.exception, at.exception
        # the answer waits for the teacher in a lesson the teacher leads
        assert "Your guess is in. The teacher reveals the answer" in _texts(at)
        assert "Right it was." not in _texts(at) and not _next_enabled(at)
        sessions[person] = at
    assert Guesses().counts("quiz", "q", 3) == [1, 1, 0]

    teacher = _session(app, TEACHER)
    teacher.button(key="_lsn_start_quiz").click().run()
    teacher.button(key="_lsn_next").click().run()
    assert "The class guessed" in _texts(teacher) and "2 guesses" in _texts(teacher)
    chart = teacher.get("plotly_chart")[-1].proto.spec
    assert '"x":[1,1,0]' in chart.replace(" ", "")
    assert not _next_enabled(teacher)  # the teacher reveals (or guesses) first
    teacher.button(key="_lsn_class_reveal").click().run()
    assert not teacher.exception, teacher.exception
    assert Guesses().revealed("quiz", "q")
    assert "Right it was." in _texts(teacher) and "The answer: Right" in _texts(teacher)
    assert _next_enabled(teacher)

    ann, bob = sessions[ANN], sessions[BOB]
    ann.run()
    bob.run()
    assert "Right it was." in _texts(ann) and "Right: Right" in _texts(ann) and _next_enabled(ann)
    assert '"x":[1,1,0]' in ann.get("plotly_chart")[-1].proto.spec.replace(" ", "")  # how the class guessed
    assert "Not quite: the answer is Right" in _texts(bob)
    # the next class: the teacher clears the question
    teacher.button(key="_lsn_class_clear").click().run()
    assert Guesses().counts("quiz", "q", 3) == [0, 0, 0] and not Guesses().revealed("quiz", "q")


def test_a_student_alone_in_a_lesson_the_teacher_does_not_lead_is_not_held(app, quiz):
    """In a class, a lesson a student opens by themselves (the teacher pushed none) reveals as it does alone; the
    guess still reaches the teacher's histogram."""
    ann = _session(app, ANN)
    ann.button(key="_lsn_start_quiz").click().run()
    ann.button(key="_lsn_next").click().run()
    ann.radio(key="_lsn_choice_quiz_q_en").set_value(2).run()
    ann.button(key="_lsn_guess_quiz_q").click().run()
    assert "Right it was." in _texts(ann) and _next_enabled(ann)
    assert Guesses().counts("quiz", "q", 3) == [0, 0, 1]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_class_words_in_both_languages(app, quiz, lang, monkeypatch):
    from dlviz.i18n import translate
    from dlviz.ui import state

    # as in test_page_lessons' walk: AppTest formats widget options in the test's thread, give it the language
    monkeypatch.setattr(state, "translate", lambda text, _lang=None, /, **kw: translate(text, lang, **kw))
    PushBoard().push(lesson={"id": "quiz", "step": 1})
    ann = _session(app, ANN)
    ann.session_state["lang"] = lang
    ann.run()
    ann.radio(key=f"_lsn_choice_quiz_q_{lang}").set_value(0).run()
    ann.button(key="_lsn_guess_quiz_q").click().run()
    waiting = translate("Your guess is in. The teacher reveals the answer to the whole class.", lang)
    assert waiting in _texts(ann) and (lang == "en" or "老师会向全班揭晓答案" in waiting)
