import json

from tests.cli_util import run_cli


def test_class_prints_the_code_and_key_the_server_uses_and_can_make_a_new_key(tmp_path):
    from dlviz.classroom.roster import Roster

    env = {"DLVIZ_HOME": str(tmp_path)}
    first = run_cli("class", "--json", env=env, unset=("DLVIZ_TEACHER_KEY", "DLVIZ_CLASS_CODE"))
    assert first.returncode == 0, first.stderr
    out = json.loads(first.stdout)
    roster = Roster(tmp_path)
    assert roster.sign_in_teacher(out["teacher_key"]) is not None  # the key printed is the key the server takes
    assert out["class_code"] == roster.class_code()
    again = json.loads(run_cli("class", "--json", env=env, unset=("DLVIZ_TEACHER_KEY",)).stdout)
    assert again["teacher_key"] == out["teacher_key"]  # kept, not made anew each time
    new = json.loads(run_cli("class", "--json", "--new-key", env=env, unset=("DLVIZ_TEACHER_KEY",)).stdout)
    assert new["teacher_key"] != out["teacher_key"] and new["class_code"] == out["class_code"]
    assert roster.sign_in_teacher(out["teacher_key"]) is None  # the old key no longer works


def test_a_key_from_the_environment_is_not_replaced(tmp_path):
    res = run_cli("class", "--new-key", env={"DLVIZ_HOME": str(tmp_path), "DLVIZ_TEACHER_KEY": "k" * 20})
    assert res.returncode == 2 and "DLVIZ_TEACHER_KEY" in res.stdout
