"""Signing in to a class server: the screen before any page, the cookie that survives a refresh, who you are in
the sidebar, and signing out.

Alone (the default) none of this runs. On a class server (``dlviz.classroom.class_mode()``):
- a visitor first sees a small sign-in screen: a student types the class code and a name, the teacher ticks
  "I am the teacher" and types the key printed when the server started;
- the session then gets a random session id and a random token; the browser keeps the token in a cookie
  (SameSite=Strict, path=/), the server maps it to (person, session id) in ``class/sessions.json``. A refresh
  reads the cookie (``st.context.cookies``) and is the same person in the same session again. Nothing of this
  is ever in the URL, so a projected link opens nothing;
- every page shows who you are and a sign-out button in the sidebar.
"""

from __future__ import annotations

import json

import streamlit as st

from dlviz.classroom import Person, class_mode
from dlviz.classroom.owned import NotYoursError
from dlviz.classroom.roster import MAX_NAME_LENGTH, Roster
from dlviz.errors import RunError
from dlviz.i18n import LANGUAGES
from dlviz.ui import keys as K
from dlviz.ui.classroom import me
from dlviz.ui.plain import plain
from dlviz.ui.state import get_store, t

COOKIE = "dlviz_class"
COOKIE_DAYS = 30


def browser_cookie() -> str:
    """The class cookie the browser sent when this session connected ('' when none)."""
    try:
        return str(st.context.cookies.get(COOKIE) or "")
    except Exception:  # no browser (a bare script run): no cookie
        return ""


def _set_cookie(token: str) -> None:
    """Have the browser keep ``token`` (or forget it: ''); a script in the page, since a cookie can only be set
    by the page (the server's answers travel over the websocket)."""
    age = COOKIE_DAYS * 86400 if token else 0
    value = json.dumps(f"{COOKIE}={token}; Max-Age={age}; Path=/; SameSite=Strict")
    # st.html runs the script in the page itself (no iframe, and none of components.v1.html's deprecation warning
    # in the server log on every rerun); the value is a server-made token, never anything a visitor typed
    st.html(f"<script>document.cookie = {value};</script>", unsafe_allow_javascript=True)


def signed_in() -> bool:
    """Alone: always. In a class: once this session belongs to the teacher or a student, from the sign-in screen
    or from the cookie of an earlier one (a refresh)."""
    ss = st.session_state
    if not class_mode():
        return True
    if isinstance(ss.get(K.PERSON), Person) and me().id:
        return True
    if ss.get(K.CLASS_SIGNED_OUT):
        return False  # signed out in this session: the old cookie is forgotten, whatever the browser sends
    back = Roster().resume(browser_cookie())
    if back is None:
        return False
    person, sid = back
    _begin(person, sid, browser_cookie())
    return True


def _begin(person: Person, sid: str, token: str) -> None:
    ss = st.session_state
    ss[K.PERSON] = person
    ss[K.CLASS_SID] = sid
    ss[K.CLASS_TOKEN] = token
    ss.pop(K.CLASS_SIGNED_OUT, None)


def sign_in_page() -> None:
    """The screen before any page on a class server: join with the class code and a name, or the teacher's key."""
    import secrets

    ss = st.session_state
    roster = Roster()
    roster.announce()  # the first visitor of a new server prints the key in its terminal
    if ss.get(K.CLASS_SIGNED_OUT):
        _set_cookie("")
    langs = list(LANGUAGES)
    lang = st.selectbox(
        ":material/translate: Language / 语言",
        langs,
        index=langs.index(ss.get(K.LANG, "en")) if ss.get(K.LANG, "en") in langs else 0,
        format_func=LANGUAGES.get,
        key=K.SIGNIN_LANG,
    )
    if lang != ss.get(K.LANG):
        ss[K.LANG] = lang
        st.rerun()
    st.title(t("Join the class"))
    st.caption(t("This dlviz server runs a class: everyone signs in, and each student sees only their own runs."))
    teacher = st.toggle(t("I am the teacher"), key="_signin_teacher")
    with st.form("_signin_form", border=True):
        if teacher:
            key = st.text_input(
                t("Teacher's key"),
                type="password",
                key=K.SIGNIN_KEY,
                help=t("The key printed in the terminal where the server was started (or DLVIZ_TEACHER_KEY)."),
            )
        else:
            code = st.text_input(
                t("Class code"), key=K.SIGNIN_CODE, max_chars=20, help=t("On the board or the screen.")
            )
            name = st.text_input(
                t("Your name"),
                key=K.SIGNIN_NAME,
                max_chars=MAX_NAME_LENGTH,  # the roster keeps no more: the box says so as the student types
                help=t("What your teacher sees beside your runs. No account, no password."),
            )
        go = st.form_submit_button(t("Sign in") if teacher else t("Join"), type="primary", icon=":material/login:")
    if not go:
        return
    if teacher:
        person = roster.sign_in_teacher(key)
        if person is None:
            st.error(
                t("That is not the teacher's key. It was printed in the terminal where the server was started."),
                icon=":material/error:",
            )
            return
    else:
        from dlviz.classroom.roster import clean_name

        if not clean_name(name):
            st.error(t("Type your name: it is what your teacher sees beside your runs."), icon=":material/error:")
            return
        person = roster.join(code, name)
        if person is None:
            st.error(
                t("That class code is not right. Ask your teacher for the code on the board."), icon=":material/error:"
            )
            return
    sid = secrets.token_hex(8)
    _begin(person, sid, roster.open_session(person, sid))
    st.rerun()


def who_i_am() -> None:
    """In the sidebar of every page on a class server: who you are, the cookie kept up to date, and sign-out."""
    if not class_mode():
        return
    ss = st.session_state
    person = me()
    token = ss.get(K.CLASS_TOKEN) or ""
    if token and browser_cookie() != token:
        _set_cookie(token)  # until the browser sends it back (after the next refresh), keep it set
    if person.teacher:
        st.caption(t("Signed in as the teacher"))
    else:
        st.caption(t("Signed in as {name} (student)", name=person.name))
    if st.button(t("Sign out"), icon=":material/logout:", key=K.SIGN_OUT):
        sign_out()


def sign_out() -> None:
    """Forget this session's token (its cookie signs nobody in any more), clear the session, show the sign-in."""
    ss = st.session_state
    roster = Roster()
    roster.sign_out(ss.get(K.CLASS_TOKEN))
    roster.sign_out(browser_cookie())
    roster.leave(me())
    lang = ss.get(K.LANG, "en")
    for key in list(ss.keys()):
        del ss[key]
    ss[K.LANG] = lang
    ss[K.CLASS_SIGNED_OUT] = True
    st.rerun()


def guard_open_run() -> None:
    """A class: the open run kept in the session (or crafted into it) that is not this person's opens nothing,
    and the page says so in a sentence."""
    ss = st.session_state
    rid = ss.get(K.RUN_ID)
    if not class_mode() or not rid:
        return
    try:
        get_store().get(rid)
    except NotYoursError as e:
        ss[K.RUN_ID] = None
        st.error(e.message(ss.get(K.LANG, "en"), escape=plain), icon=":material/block:")
    except RunError:
        pass  # deleted or damaged: each page says so its own way


def touch(page: str = "") -> None:
    """This person is here now (the teacher's view of who is connected), with their model's parameter count."""
    person = me()
    if not person.id:
        return
    ss = st.session_state
    try:
        params = _params_of(json.dumps(ss.get(K.SPEC) or {}, sort_keys=True), str(ss.get(K.DATASET) or "mnist"))
    except (TypeError, ValueError):
        params = 0
    Roster().touch(person, page=page, params=params)


@st.cache_data(show_spinner=False, max_entries=512)
def _params_of(spec_json: str, dataset: str) -> int:
    """The parameter count of a model spec on a dataset (0 when it does not build); once per spec."""
    from dlviz.data import get_info
    from dlviz.models import build

    try:
        info = get_info(dataset)
        return int(build(json.loads(spec_json), info.input_shape, info.num_classes).params)
    except Exception:  # a spec being edited may not build; presence still counts
        return 0


__all__ = ["COOKIE", "browser_cookie", "sign_in_page", "sign_out", "signed_in", "touch", "who_i_am"]
