"""The pages' one question about the class: who is looking (``me()``)."""

from __future__ import annotations

import streamlit as st

from dlviz.classroom import ALONE, Person
from dlviz.ui import keys as K


def me() -> Person:
    """The person this session belongs to: ``ALONE`` unless a class server signed them in."""
    person = st.session_state.get(K.PERSON)
    return person if isinstance(person, Person) else ALONE
