from dlviz.classroom import ALONE, TEACHER_ID, Person, class_mode


def test_alone_and_the_teacher_own_everything_a_student_only_their_own():
    teacher = Person(TEACHER_ID, "Ms Li", "teacher")
    ana = Person("s-1a2b", "Ana", "student")
    assert ALONE.owns("") and ALONE.owns("s-1a2b") and ALONE.sees_all
    assert teacher.owns("s-1a2b") and teacher.owns("") and teacher.teacher
    assert ana.owns("s-1a2b")
    assert not ana.owns("s-ffff") and not ana.owns("") and not ana.owns(TEACHER_ID) and not ana.sees_all
    assert not Person("", "", "student").owns("")  # a student without an id owns nothing


def test_class_mode_from_the_command_line_or_the_environment(monkeypatch):
    monkeypatch.delenv("DLVIZ_CLASS", raising=False)
    assert not class_mode([])
    assert class_mode(["--class"])
    monkeypatch.setenv("DLVIZ_CLASS", "yes")
    assert class_mode([])
    monkeypatch.setenv("DLVIZ_CLASS", "0")
    assert not class_mode([])


def test_nobody_changes_what_is_not_theirs():
    teacher = Person(TEACHER_ID, "Ms Li", "teacher")
    ana = Person("s-1a2b", "Ana", "student")
    assert ALONE.changes("") and ALONE.changes("s-1a2b")
    assert teacher.changes(TEACHER_ID) and teacher.changes("")  # their own, and the class material
    assert not teacher.changes("s-1a2b")  # sees it, opens it, never renames or deletes it
    assert ana.changes("s-1a2b") and not ana.changes("") and not ana.changes(TEACHER_ID)
