"""A whole class on one server (issue 17): who is looking (``Person``), the class's people and their presence,
the teacher's pushed state and locks, and the fair training queue.

Alone (the default of ``streamlit run app.py``) everyone is ``ALONE``, who owns and sees everything, exactly as
before. As a class server (``streamlit run app.py -- --class`` or ``DLVIZ_CLASS=1``) every session signs in as
the teacher or as a student, and every run, upload, draft and session belongs to its owner.
"""

from dlviz.classroom.people import ALONE, TEACHER_ID, Person, class_mode

__all__ = ["ALONE", "TEACHER_ID", "Person", "class_mode"]
