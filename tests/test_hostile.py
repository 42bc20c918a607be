"""What a clumsy or hostile user can try (issue 14), one case per test function, read in one place."""

from __future__ import annotations

import ast
import json
import subprocess
import sys

import numpy as np
import pytest

from dlviz.errors import SpecError
from dlviz.i18n import translate
from dlviz.limits import limits
from dlviz.models import LAYER_TYPES, PRESETS, normalize, to_pytorch
from dlviz.models.builder import build, check_budget, estimate
from dlviz.train.script import to_script

# ---------------------------------------------------------------------------------------------------
# 1. Code injection through "Download PyTorch code" (dlviz/models/codegen.py)

HOSTILE = [
    "Nice model\nimport os; os.system('touch PWNED')\n#",
    "x'); import os; os.system('touch PWNED'); ('",
    'x"""\nimport os; os.system("touch PWNED")\n"""',
    "\\\nimport os; os.system('touch PWNED')",
    "x\r\nimport os\r\nos.system('touch PWNED')",
    "x\u2028import os; os.system('touch PWNED')",
    "x\x00\x0b\x0c\u0085import os",
    "{__import__('os').system('touch PWNED')}",
]
SIMPLE = {"name": "Nice model", "layers": [{"type": "flatten"}, {"type": "dense", "units": 10}]}


def _shape_of(src: str) -> str:
    """The AST of ``src`` with every string constant blanked: two exports that differ only in the
    model's name have the same shape; one whose name became code does not."""
    tree = ast.parse(src)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            node.value = ""
    return ast.dump(tree)


def _run_module_level(src: str, tmp_path) -> None:
    """Run the file's module level (what importing or exec'ing it does) in ``tmp_path``."""
    path = tmp_path / "exported.py"
    path.write_text(src)
    code = f"import runpy; runpy.run_path({str(path)!r}, run_name='exported')"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_model_name_stays_a_string_in_the_exported_model(name):
    src = to_pytorch({**SIMPLE, "name": name})
    assert _shape_of(src) == _shape_of(to_pytorch(SIMPLE))
    ns: dict = {}
    exec(compile(src, "exported.py", "exec"), ns)
    assert ns["MODEL_NAME"] == name  # kept as it was typed, as a literal


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_model_name_stays_a_string_in_the_training_script(name):
    src = to_script({**SIMPLE, "name": name})
    assert _shape_of(src) == _shape_of(to_script(SIMPLE))
    ns: dict = {"__name__": "exported"}
    exec(compile(src, "exported.py", "exec"), ns)
    assert ns["MODEL_NAME"] == name


@pytest.mark.slow  # runs both exports in fresh Pythons; the export's statements are checked in the fast tier below
def test_issue_14s_spec_runs_no_command_when_its_export_is_run(tmp_path):
    spec = {"name": "Nice model\nimport os; os.system('touch PWNED')\n#", "layers": SIMPLE["layers"]}
    for src in (to_pytorch(spec), to_script(spec)):
        assert not any(line.startswith("import os") for line in src.splitlines())
        _run_module_level(src, tmp_path)
        assert not (tmp_path / "PWNED").exists()


def test_export_holds_no_statement_beyond_the_models_own():
    """Every top-level statement of the export is one the generator writes: the imports of torch and the
    standard library, the name, the layer classes, the model, glorot_init, the recipe and the training
    functions; no call at the top level but the seed, the model and its init (and main under __main__)."""
    src = to_script({**SIMPLE, "name": HOSTILE[0]})
    tree = ast.parse(src)
    allowed_imports = {"argparse", "gzip", "math", "sys", "collections", "pathlib", "torch", "torch.nn.functional"}
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            assert set(mods) <= allowed_imports, ast.unparse(node)
        elif isinstance(node, ast.Expr):
            call = node.value
            if isinstance(call, ast.Constant):  # the docstring
                continue
            assert isinstance(call, ast.Call) and ast.unparse(call.func) in ("torch.manual_seed", "glorot_init"), (
                ast.unparse(node)
            )
        elif isinstance(node, ast.Assign):
            targets = {ast.unparse(t) for t in node.targets}
            assert targets <= {
                "MODEL_NAME",
                "model",
                "RECIPE",
                "WARMUP_FRACTION",
                "SPLIT_SEED",
                "INPUT_SHAPE",
                "FILES",
            }, ast.unparse(node)
        elif isinstance(node, ast.If):
            assert ast.unparse(node) == "if __name__ == '__main__':\n    main()"
        else:
            assert isinstance(node, (ast.FunctionDef, ast.ClassDef)), ast.unparse(node)


def _string_settings():
    for key, lt in LAYER_TYPES.items():
        for p in lt.params:
            if p.kind == "choice" and any(isinstance(c, str) for c in p.choices):
                yield key, p.name


@pytest.mark.parametrize("key,setting", list(_string_settings()))
def test_hostile_string_in_a_layer_setting_is_refused_before_export(key, setting):
    """Every string field of a layer is a choice: anything else is a SpecError, never code in the export."""
    layer = {"type": key, setting: "x')); import os; os.system('touch PWNED'); (('"}
    with pytest.raises(SpecError):
        to_pytorch({"name": "m", "layers": [layer]})


@pytest.mark.parametrize(
    "setting,value",
    [("units", "10); import os; (1"), ("units", 1e400), ("units", True), ("bias", "True); import os; (1")],
)
def test_hostile_number_in_a_layer_setting_is_refused_before_export(setting, value):
    with pytest.raises(SpecError):
        to_pytorch({"name": "m", "layers": [{"type": "flatten"}, {"type": "dense", setting: value}]})


@pytest.mark.parametrize(
    "field,value",
    [
        ("optimizer", "adam'); import os; ('"),
        ("schedule", "onecycle\nimport os"),
        ("lr", float("nan")),
        ("lr", "1e-3); import os; (1"),
    ],
)
def test_hostile_recipe_is_refused_before_export(field, value):
    from dlviz.errors import TrainError

    with pytest.raises((TrainError, SpecError)):
        to_script(SIMPLE, recipe={field: value})


def test_hostile_type_is_refused_before_export():
    with pytest.raises(SpecError):
        to_pytorch({"name": "m", "layers": [{"type": "flatten\nimport os"}, {"type": "dense", "units": 10}]})


def test_text_model_export_keeps_a_hostile_name_a_string():
    spec = {**PRESETS["lstm"].copy_spec(), "name": HOSTILE[0]}
    spec = normalize(spec)
    for layer in spec["layers"]:
        if layer["type"] == "embedding":
            layer["vocab"] = 50
    src = to_pytorch(spec, (20,), 2)
    benign = to_pytorch({**spec, "name": "lstm"}, (20,), 2)
    assert _shape_of(src) == _shape_of(benign)


# ===================================================================================================
# Lifecycle: runs, training processes, the run index, the disk (items 8-13; dlviz/train/process.py,
# dlviz/runs/store.py)
import os  # noqa: E402
import re  # noqa: E402
import signal  # noqa: E402
import textwrap  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------- helpers (lifecycle cases)
def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting for a parent to reap it counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


def _wait_until(cond, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not cond():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def _python(script: str, home: Path, log: Path, main_file: Path | None = None) -> subprocess.Popen:
    """Run ``script`` in a fresh interpreter (as its __main__ file, like Streamlit runs app.py), from the repo."""
    main_file = main_file or home.parent / "server_main.py"
    main_file.write_text(textwrap.dedent(script))
    env = {**os.environ, "DLVIZ_HOME": str(home), "DLVIZ_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    env.pop("DLVIZ_EXECUTOR", None)
    return subprocess.Popen(
        [sys.executable, str(main_file)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=open(log, "wb"), text=True
    )


def _read_json_line(proc: subprocess.Popen, log: Path) -> dict:
    line = proc.stdout.readline()
    assert line, f"the server process printed nothing:\n{log.read_text(errors='replace')[-3000:]}"
    return json.loads(line)


# ------------------------------------------------------------------ 10. server killed mid-training
SERVER_KILLED = """
import json, sys, time
from multiprocessing import forkserver, resource_tracker
from dlviz.models import PRESETS
from dlviz.train import TrainConfig, TrainJob
from dlviz.train.process import ProcessExecutor

if __name__ == "__main__":
    ex = ProcessExecutor()
    job = ex.submit(TrainJob("mnist", PRESETS["mlp"].copy_spec(), TrainConfig(epochs=200, batch_size=16, limit=2000),
                             data_dir=sys.argv[1] if len(sys.argv) > 1 else {data!r}))
    while ex.snapshot(job).progress is None or not ex.snapshot(job).val:
        assert not ex.snapshot(job).done, ex.snapshot(job)
        time.sleep(0.05)
    print(json.dumps({{"child": ex._state(job).proc.pid, "forkserver": forkserver._forkserver._forkserver_pid,
                      "tracker": resource_tracker._resource_tracker._pid, "run_id": ex.snapshot(job).run_id}}),
          flush=True)
    time.sleep(600)
"""


@pytest.mark.slow
def test_a_killed_server_takes_its_training_process_with_it(home, mnist_dir, tmp_path):
    """Issue 14, item 10: SIGKILL the process that started a training job: the child, the fork server and the
    resource tracker end within seconds; the run ends "interrupted" once, and stays so after a restart."""
    from dlviz.runs import INTERRUPTED_MESSAGE, RunStore

    log = tmp_path / "server.log"
    server = _python(SERVER_KILLED.format(data=str(mnist_dir)), home, log)
    try:
        pids = _read_json_line(server, log)
        assert all(_alive(pids[k]) for k in ("child", "forkserver", "tracker")), pids
        store = RunStore(home)
        assert store.get(pids["run_id"]).status == "running"
        # the first epoch's end is reported before its weights are written: kill only once they are on disk
        _wait_until(lambda: store.has_weights(pids["run_id"]), 60, "the first epoch's weights were never written")
        os.kill(server.pid, signal.SIGKILL)
        server.wait(10)
        for what in ("child", "forkserver", "tracker"):
            _wait_until(
                lambda: not _alive(pids[what]),  # noqa: B023 (called at once)
                15,
                f"the {what} (pid {pids[what]}) outlived the killed server:\n{log.read_text()[-3000:]}",
            )
    finally:
        if server.poll() is None:
            server.kill()
    run = store.get(pids["run_id"])
    assert run.status == "interrupted" and run.message == INTERRUPTED_MESSAGE
    assert store.load_weights(run.id)  # its last finished epoch was kept
    # a restarted app finds nothing left to mark, and a late writer cannot flip the run's end
    assert store.mark_interrupted(set()) == []
    assert store.update(run.id, status="finished", test_accuracy=0.9) is False
    assert store.get(run.id).status == "interrupted" and store.get(run.id).test_accuracy is None


def test_a_runs_end_is_written_once():
    """Issue 14, item 10: the first final status wins (the trainer's, or a restart's "interrupted")."""
    pytest.importorskip("torch")
    import tempfile

    from dlviz.runs import RunStore

    with tempfile.TemporaryDirectory() as d:
        store = RunStore(d)
        run = store.create(name="a", dataset="mnist", spec={"layers": []}, settings={}, device="cpu")
        assert store.update(run.id, status="paused") is True
        assert store.mark_interrupted(set(), only="someone-else") == []
        assert store.mark_interrupted(set()) == [run.id]
        assert store.update(run.id, status="finished") is False
        assert store.update(run.id, status="running") is False
        assert store.get(run.id).status == "interrupted"
        assert store.update(run.id, name="renamed") is True  # other fields still change


# --------------------------------------------------- 13. a training child must not run the app again
FAKE_APP = """
# Stands for app.py under Streamlit: the module multiprocessing would re-run in every child. Its start-up
# marks orphaned runs "interrupted" and leaves a trace, as the app's start-up did.
import json, os, sys, time
from pathlib import Path

from dlviz.runs import RunStore

RunStore().mark_interrupted(set())
Path(os.environ["DLVIZ_HOME"], "app-ran-in-" + str(os.getpid())).touch()

if __name__ == "__main__":
    from dlviz.models import PRESETS
    from dlviz.train import TrainConfig, TrainJob
    from dlviz.train.process import ProcessExecutor

    ex = ProcessExecutor()
    spec = PRESETS["mlp"].copy_spec()
    a = ex.submit(TrainJob("mnist", spec, TrainConfig(epochs=200, batch_size=16, limit=2000), data_dir={data!r}))
    while ex.snapshot(a).progress is None:
        time.sleep(0.05)
    run_a = ex.snapshot(a).run_id
    b = ex.submit(TrainJob("mnist", spec, TrainConfig(epochs=1, limit=500), data_dir={data!r}))   # user B
    seen = set()
    while not ex.snapshot(b).done:
        seen.add(RunStore().get(run_a).status)
        time.sleep(0.02)
    for _ in range(20):   # and a moment after B ended
        seen.add(RunStore().get(run_a).status)
        time.sleep(0.05)
    ex.stop(a)
    ex.wait(a, 60)
    print(json.dumps({{"seen": sorted(seen), "a": ex.snapshot(a).status, "b": ex.snapshot(b).status,
                      "server": os.getpid()}}), flush=True)
"""


@pytest.mark.slow
def test_another_users_train_never_marks_a_running_run_interrupted(home, mnist_dir, tmp_path):
    """Issue 14, item 13: user B pressing Train must not mark user A's run "interrupted": a training child runs
    none of the app that started it (Streamlit makes app.py __main__, which multiprocessing re-ran in children)."""
    log = tmp_path / "server.log"
    server = _python(FAKE_APP.format(data=str(mnist_dir)), home, log, main_file=tmp_path / "fake_app.py")
    try:
        out = _read_json_line(server, log)
        server.wait(60)
    finally:
        if server.poll() is None:
            server.kill()
    assert out["b"] == "finished" and out["a"] == "stopped", out
    assert out["seen"] == ["running"], f"user A's run went through {out['seen']} while it trained"
    ran = sorted(p.name for p in home.glob("app-ran-in-*"))
    assert ran == [f"app-ran-in-{out['server']}"], f"the app's start-up ran in the training children too: {ran}"
    assert "ScriptRunContext" not in log.read_text(errors="replace")


# ------------------------------------------------------------------------------ 12. a full disk
def test_a_full_disk_says_so_and_keeps_the_last_good_checkpoint(home, mnist_dir, monkeypatch):
    """Issue 14, item 12: the disk fills up at the second epoch's checkpoint: the run fails with "The disk is
    full: free some space" (en and zh), not "Something unexpected went wrong ... please report this", and the
    first epoch's weights are still there, whole."""
    import errno

    import torch

    import dlviz.runs.store as store_module
    from dlviz.i18n import translate
    from dlviz.models import PRESETS
    from dlviz.runs import DISK_FULL_MESSAGE, RunStore
    from dlviz.train import TrainConfig, TrainJob, run_job

    real_write = store_module._write_all
    checkpoints: list[bytes] = []
    full = {"now": False}

    def write(fh, data):
        if Path(fh.name).name.startswith(".weights.safetensors."):
            checkpoints.append(data)
            full["now"] = len(checkpoints) >= 2  # the second epoch's checkpoint finds the disk full
        if full["now"]:
            fh.write(data[: len(data) // 3])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_write(fh, data)

    monkeypatch.setattr(store_module, "_write_all", write)
    cfg = TrainConfig(epochs=3, limit=600, record_gradients=False)
    res = run_job(TrainJob("mnist", PRESETS["mlp"].copy_spec(), cfg, data_dir=str(mnist_dir)), RunStore())
    assert res.status == "failed"
    assert res.message == DISK_FULL_MESSAGE and "unexpected" not in res.message
    assert res.message.startswith("The disk is full: free some space")
    assert "磁盘" in translate(res.message, "zh")
    run = RunStore().get(res.run_id)
    assert run.status == "failed" and run.message == DISK_FULL_MESSAGE
    from safetensors.torch import load as from_bytes

    kept = RunStore().load_weights(run.id)
    expected = from_bytes(checkpoints[0])
    assert kept.keys() == expected.keys() and all(torch.equal(kept[k], expected[k]) for k in kept)
    assert not [p for p in run.folder.rglob("*.tmp")], "a half-written file was left behind"


# ------------------------------------------------------------------- 8. a CSV with three classes
THREE_CLASSES = "text,label\n" + "\n".join(
    [f"a truly great film {i},pos" for i in range(100)]
    + [f"an awful boring film {i},neg" for i in range(100)]
    + [f"a film that was just okay {i},meh" for i in range(100)]
)


def test_a_three_class_csv_trains_end_to_end_with_its_baseline(home):
    """Issue 14, item 8: a CSV with 3 classes was refused by the TF-IDF baseline (scikit-learn 1.8+ has no
    liblinear for 3+ classes) and the run failed. Upload (parse and keep), train a tiny text model one epoch,
    and the baseline's accuracy is there."""
    from dlviz.data import get_info
    from dlviz.data.user_csv import add_csv
    from dlviz.models import PRESETS
    from dlviz.runs import RunStore
    from dlviz.train import TrainConfig, TrainJob, run_job

    name = add_csv(THREE_CLASSES.encode(), "three.csv")
    assert get_info(name).num_classes == 3
    store = RunStore()
    spec = PRESETS["bag"].copy_spec()
    spec["layers"][-1]["units"] = 3  # as the Build page asks: one output per class
    res = run_job(TrainJob(name, spec, TrainConfig(epochs=1, batch_size=32, lr=1e-2)), store)
    assert res.status == "finished", (res.message, res.message_args)
    assert res.baseline is not None and res.baseline["test_accuracy"] > 0.9, res.baseline
    rec = store.get(res.run_id)
    assert rec.settings["classes"] == ["meh", "neg", "pos"]
    assert rec.metrics["baseline"]["test_accuracy"] == res.baseline["test_accuracy"]


def test_a_preset_used_unchanged_trains_on_a_three_class_csv(home):
    """Issue 14, item 8: the course's text presets end in 2 units (positive, negative); a 3-class CSV with the
    preset as it is was refused ("the last layer outputs (2)"). A preset used unchanged gives one score per
    class of the dataset; a model the user changed is left as it is, and the builder says which layer to fix."""
    from dlviz.data.user_csv import add_csv
    from dlviz.models import PRESETS
    from dlviz.models.presets import fit_classes
    from dlviz.runs import RunStore
    from dlviz.train import TrainConfig, TrainJob, run_job

    name = add_csv(THREE_CLASSES.encode(), "three.csv")
    store = RunStore()
    res = run_job(TrainJob(name, PRESETS["bag"].copy_spec(), TrainConfig(epochs=1, batch_size=32, lr=1e-2)), store)
    assert res.status == "finished", (res.message, res.message_args)
    assert store.get(res.run_id).spec["layers"][-1]["units"] == 3
    assert fit_classes(PRESETS["cnn"].copy_spec(), 5)["layers"][-1]["units"] == 5
    changed = PRESETS["bag"].copy_spec()
    changed["layers"][0]["dim"] = 7
    assert fit_classes(changed, 3) == changed  # not a preset any more: the user's own last layer stays


def test_requirements_pin_what_the_tests_ran_with():
    """Issue 14, item 8: every dependency in requirements.txt is pinned to one version (a '>=' let a new
    scikit-learn in, which broke the baseline), and the pinned versions are the ones installed here."""
    from importlib.metadata import PackageNotFoundError, version

    lines = [ln.split("#")[0].strip() for ln in (ROOT / "requirements.txt").read_text().splitlines()]
    pins = [ln for ln in lines if ln]
    assert pins and all("==" in ln and not any(op in ln for op in (">", "<", "~", "!")) for ln in pins), pins
    for ln in pins:
        pkg, want = ln.split("==")
        try:
            got = version(pkg)
        except PackageNotFoundError:
            continue  # an optional one not installed here
        assert got.split("+")[0] == want, f"{pkg}: requirements.txt pins {want}, the tests ran with {got}"


def _browser_or_skip():
    import importlib.util

    sys.path.insert(0, str(ROOT / "tests"))
    from browser_util import CHROMIUM, MNIST_DIR

    if not Path(CHROMIUM).exists() or importlib.util.find_spec("playwright") is None:
        pytest.skip("chromium or playwright is not installed")
    if not (MNIST_DIR / "train-images-idx3-ubyte.gz").exists():
        pytest.skip(f"{MNIST_DIR} is not present")


@pytest.mark.browser
@pytest.mark.slow
def test_a_csv_uploaded_on_the_data_page_becomes_the_dataset(tmp_path):
    """Issue 14, item 8: after a CSV upload on the Data page the dataset is the upload (it stayed on
    rt-polarity, and nothing said why)."""
    _browser_or_skip()
    from browser_util import TITLES, goto, launch, settled, start_server
    from playwright.sync_api import expect, sync_playwright

    rt = ROOT.parent / "shared" / "data" / "rt-polarity"
    if not (rt / "rt-polarity.pos").exists():
        pytest.skip(f"{rt} is not present")
    home = tmp_path / "home"
    sid = "0123456789abcdef"
    (home / "sessions").mkdir(parents=True)
    (home / "sessions" / f"{sid}.json").write_text(json.dumps({"dataset": "rt-polarity", "data_dir": str(rt)}))
    csv = tmp_path / "three.csv"
    csv.write_text(THREE_CLASSES)
    server = start_server(home)
    try:
        with sync_playwright() as pw:
            browser = launch(pw)
            page = browser.new_page(viewport={"width": 1400, "height": 2400})
            goto(page, f"{server.url}/data?s={sid}", TITLES["Data"])
            settled(page)
            box = page.get_by_test_id("stSidebar").get_by_role("combobox", name="Dataset")
            expect(box).to_have_value(re.compile("rt-polarity"), timeout=30_000)
            page.get_by_text("Use your own sentences (CSV)").click()
            page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(csv))
            expect(box).to_have_value("Your CSV: three.csv", timeout=60_000)
            settled(page)
            expect(box).to_have_value("Your CSV: three.csv")
            expect(page.get_by_text("Your CSV three.csv is now the dataset", exact=False)).to_be_visible()
            expect(page.get_by_text("meh, neg, pos", exact=False).first).to_be_visible(timeout=30_000)
            assert json.loads((home / "sessions" / f"{sid}.json").read_text())["dataset"].startswith("csv-")
            browser.close()
    finally:
        server.stop()


# ------------------------------------------------------------ 9. failed runs: kept, finite, open
def _poisoned_run(mnist_dir, monkeypatch, at_step: int, epochs: int = 2):
    """A real run whose weights become NaN at training step ``at_step`` (as a diverging run's do)."""
    import torch

    import dlviz.train.runner as runner
    from dlviz.models import PRESETS
    from dlviz.runs import RunStore
    from dlviz.train import TrainConfig, TrainJob, run_job

    real_build = runner.build

    def build(*a, **k):
        built = real_build(*a, **k)
        steps = {"n": 0}

        def poison(module, args):
            if module.training:
                steps["n"] += 1
                if steps["n"] == at_step:
                    with torch.no_grad():
                        for p in module.parameters():
                            p.fill_(float("nan"))

        built.module.register_forward_pre_hook(poison)
        return built

    monkeypatch.setattr(runner, "build", build)
    cfg = TrainConfig(epochs=epochs, limit=800, batch_size=16, record_gradients=False)  # 50 steps an epoch
    res = run_job(TrainJob("mnist", PRESETS["mlp"].copy_spec(), cfg, data_dir=str(mnist_dir)), RunStore())
    monkeypatch.setattr(runner, "build", real_build)
    assert res.status == "failed" and "NaN" in str(res.message_args.get("what")), (res.message, res.message_args)
    return res


def test_a_snapshot_of_weights_that_are_not_finite_is_never_kept(home, mnist_dir, monkeypatch):
    """Issue 14, item 9: a NaN run's step-10 snapshot held NaN weights; it is not kept (nor any NaN weights)."""
    import torch

    from dlviz.runs import RunStore

    res = _poisoned_run(mnist_dir, monkeypatch, at_step=5)
    store = RunStore()
    assert store.list_snapshots(res.run_id) == ["step-0"]  # before training: finite; step 10 and 50: NaN
    assert not store.has_weights(res.run_id)
    run = store.get(res.run_id)
    assert store.save_snapshot(run.id, "step-99", {"w": torch.tensor([1.0, float("nan")])}) is None
    assert store.save_weights(run.id, {"w": torch.tensor([float("inf")])}) is None
    assert store.list_snapshots(run.id) == ["step-0"] and not store.has_weights(run.id)


def test_a_failed_run_opens_on_the_look_inside_pages_with_how_it_ended(app, mnist_dir, monkeypatch):
    """Issue 14, item 9: a run that failed (NaN in epoch 2) kept its first epoch; the look-inside pages open it,
    with a banner saying how it ended (they listed finished, stopped and interrupted runs only)."""
    import torch

    from dlviz.runs import RunStore

    res = _poisoned_run(mnist_dir, monkeypatch, at_step=60)
    store = RunStore()
    run = store.get(res.run_id)
    assert run.status == "failed" and store.has_weights(run.id)
    assert all(bool(torch.isfinite(v).all()) for v in store.load_weights(run.id).values())
    for page in ("pages/inspect.py", "pages/filters.py"):
        at = app(timeout=120)
        at.run()
        at.session_state["run_id"] = run.id
        at.switch_page(page)
        at.run()
        assert not at.exception, at.exception
        assert at.selectbox(key="_insp_run").value == run.id
        banners = [e.value for e in at.error]
        assert any(
            b.startswith("This run failed.")
            and "The loss became NaN" in b
            and "weights of its last finished epoch" in b
            for b in banners
        ), banners


# ------------------------------------------------------------------------ 11. a truncated runs.db
def _truncated_index(n: int = 3) -> list[str]:
    """``n`` saved runs, then runs.db cut to half its size (as a crash or a full disk can leave it)."""
    import torch

    from dlviz.runs import RunStore

    store = RunStore()
    ids = []
    for i in range(n):
        rec = store.create(
            name=f"run {i}",
            dataset="mnist",
            spec={"layers": [{"type": "flatten"}]},
            settings={"epochs": 1},
            device="cpu",
        )
        store.save_weights(rec.id, {"w": torch.full((2,), float(i))})
        store.update(rec.id, status="finished", test_accuracy=0.5 + i / 10)
        ids.append(rec.id)
    size = store.db_path.stat().st_size
    with open(store.db_path, "r+b") as fh:
        fh.truncate(size // 2)
    return ids


@pytest.mark.slow
def test_a_damaged_run_index_keeps_the_app_usable_and_is_rebuilt_from_the_run_folders(app):
    """Issue 14, item 11: a truncated runs.db made every page a RunError traceback and the menu disappear. The app
    says the index is damaged, keeps a copy of it, and rebuilds it from the run folders with one button."""
    from dlviz.runs import RunStore

    ids = _truncated_index()
    home = RunStore().home
    at = app()
    at.run()
    assert not at.exception, at.exception
    assert any("is damaged" in e.value for e in at.error), [e.value for e in at.error]
    backups = list(home.glob("runs.db.damaged-*"))
    assert len(backups) == 1 and any(str(backups[0]) in c.value for c in at.caption)
    for page in ("pages/runs.py", "pages/train.py", "pages/inspect.py"):  # every page still draws, no traceback
        at.switch_page(page)
        at.run()
        assert not at.exception, (page, at.exception)
    at.button(key="_rebuild_index").click()
    at.run()
    assert not at.exception, at.exception
    assert not any("is damaged" in e.value for e in at.error)
    assert any("rebuilt" in s.value and "3 runs" in s.value for s in at.success), [s.value for s in at.success]
    runs = RunStore().list()
    assert sorted(r.id for r in runs) == sorted(ids)
    assert {r.status for r in runs} == {"finished"} and sorted(r.test_accuracy for r in runs) == [0.5, 0.6, 0.7]
    assert RunStore().load_weights(ids[2])["w"].tolist() == [2.0, 2.0]


def test_the_cli_says_the_index_is_damaged_and_rebuilds_it(home):
    """Issue 14, item 11, the command line: one sentence and exit 2, then ``runs --rebuild``."""
    from cli_util import run_cli

    ids = _truncated_index(2)

    def cli(*args):
        return run_cli("runs", *args, env={"DLVIZ_HOME": str(home)})

    out = cli()
    assert out.returncode == 2 and "is damaged" in out.stderr + out.stdout and "Traceback" not in out.stderr
    out = cli("--rebuild")
    assert out.returncode == 0, out.stderr
    assert "2 runs" in out.stdout and "runs.db.damaged-" in out.stdout
    out = cli("--json")
    assert out.returncode == 0 and sorted(r["run_id"] for r in json.loads(out.stdout)) == sorted(ids)


@pytest.mark.browser
@pytest.mark.slow
def test_two_users_train_on_a_real_server_and_the_first_run_stays_running(tmp_path):
    """Issue 14, item 13 on the real app (Streamlit makes app.py __main__): user A trains, user B presses Train;
    A's run never shows "interrupted" while it trains, and the training children print no "missing
    ScriptRunContext" warnings (about 94 per child came from the app re-run in each child)."""
    _browser_or_skip()
    import threading

    from browser_util import TITLES, button, goto, launch, metric_value, nav, set_recipe, start_server
    from playwright.sync_api import expect, sync_playwright

    from dlviz.runs import RunStore

    home = tmp_path / "home"
    server = start_server(home)
    seen: dict[str, set] = {}
    done = threading.Event()

    def watch():  # what every page would read: the runs' statuses in the store, 20 times a second
        store = RunStore(home)
        while not done.is_set():
            try:
                for r in store.list():
                    seen.setdefault(r.id, set()).add(r.status)
            except Exception:  # noqa: BLE001 - the index being made
                pass
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    try:
        with sync_playwright() as pw:
            browser = launch(pw)
            a, b = (browser.new_context(viewport={"width": 1400, "height": 2400}).new_page() for _ in range(2))
            for page in (a, b):
                goto(page, server.url + "/", TITLES["Start"], timeout=60_000)
                nav(page, "Train")
            set_recipe(a, epochs=20, batch_size=1)  # far too long to end during the test
            set_recipe(b, epochs=1, batch_size=64)
            watcher.start()
            button(a, "Train").click()
            expect(metric_value(a, "Training loss")).to_be_visible(timeout=60_000)
            button(b, "Train").click()
            expect(b.get_by_text("Training finished.", exact=True)).to_be_visible(timeout=120_000)
            expect(metric_value(a, "Training loss")).to_be_visible()
            button(a, "Stop").click()
            expect(a.get_by_text(re.compile(r"Stopped at step [\d,]+ of [\d,]+"))).to_be_visible(timeout=60_000)
            browser.close()
    finally:
        done.set()
        server.stop()
    runs = sorted(RunStore(home).list(), key=lambda r: r.created)
    assert [r.status for r in runs] == ["stopped", "finished"], [(r.name, r.status) for r in runs]
    assert seen[runs[0].id] == {"running", "stopped"}, f"user A's run went through {seen[runs[0].id]}"
    warnings = server.log_path.read_text(errors="replace").count("missing ScriptRunContext")
    assert warnings == 0, f"{warnings} 'missing ScriptRunContext' warnings in the server's log"


# ---------------------------------------------------------------------------------------------------
# 3. Resource budget: a model's cost is estimated from shapes and refused past the server's limits
#    (dlviz/limits.py, dlviz/models/builder.py estimate / check_budget)

DENSE_8192_X4 = {
    "layers": [{"type": "flatten"}] + [{"type": "dense", "units": 8192}] * 4 + [{"type": "dense", "units": 10}]
}
CONV_1024_K15 = {
    "layers": [{"type": "conv2d", "out": 1024, "kernel": 15, "padding": 8}] * 2
    + [{"type": "flatten"}, {"type": "dense", "units": 10}]
}


def _peak_rss_mb_after(code: str) -> tuple[float, str]:
    """(peak resident memory in MB, the output) of a fresh interpreter that imports torch and runs ``code``."""
    prog = (
        "import resource, torch\nfrom dlviz.models import build\n"
        + code
        + "\nprint('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
    )
    out = subprocess.run(
        [sys.executable, "-c", prog],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=str(__import__("pathlib").Path(__file__).resolve().parents[1]),
    )
    assert out.returncode == 0, out.stderr[-2000:]
    peak = float(out.stdout.split("PEAK")[-1])
    return peak, out.stdout


def test_dense_8192_four_times_is_refused_in_one_sentence():
    """The refusal itself, in this process (the fast tier); the next test measures that nothing was allocated."""
    with pytest.raises(SpecError) as e:
        build(DENSE_8192_X4)
    assert "The model has 207,863,818 parameters" in str(e.value) and "Layer 3 (Dense)" in str(e.value)


@pytest.mark.slow  # two fresh Pythons, to read the peak memory of a build from a clean start
def test_dense_8192_four_times_is_refused_before_anything_is_allocated():
    # the 200-byte spec of issue 14 (207 million parameters, 830 MB of weights): refused from its shapes
    assert len(json.dumps(DENSE_8192_X4)) < 210
    base, _ = _peak_rss_mb_after("x = 1")
    peak, out = _peak_rss_mb_after(
        f"try:\n    build({DENSE_8192_X4!r})\nexcept Exception as e:\n    print('REFUSED', e)"
    )
    assert "REFUSED The model has 207,863,818 parameters" in out and "Layer 3 (Dense)" in out
    assert peak - base < 150, f"building the refused model took {peak - base:.0f} MB"


def test_two_wide_15x15_convolutions_are_refused_naming_the_layer():
    with pytest.raises(SpecError) as e:
        build(CONV_1024_K15)
    assert e.value.layer == 1 and "Layer 2 (Conv2d)" in str(e.value) and "20,000,000" in str(e.value)


def test_estimate_costs_no_memory_and_matches_the_built_model():
    for key in ("mlp", "cnn", "resnet"):
        est = estimate(PRESETS[key].spec)
        assert est.complete and est.params == build(PRESETS[key].spec).params
    for key in ("lstm", "transformer", "kim-cnn"):
        est = estimate(PRESETS[key].spec, (64,))
        assert est.complete and est.params == build(PRESETS[key].spec, (64,), 2).params
    huge = estimate(CONV_1024_K15)  # on the meta device: 246 million parameters, nothing allocated
    assert huge.params == 246_647_818 and huge.flops > 100e9


def test_flops_past_the_limit_are_refused_naming_the_layer(monkeypatch):
    monkeypatch.setenv("DLVIZ_MAX_MFLOPS", "100")
    spec = {
        "layers": [
            {"type": "conv2d", "out": 64, "kernel": 3, "padding": 1},
            {"type": "conv2d", "out": 256, "kernel": 9, "padding": 4},
            {"type": "gap"},
            {"type": "dense", "units": 10},
        ]
    }
    with pytest.raises(SpecError) as e:
        build(spec)
    assert e.value.layer == 1 and "million operations" in str(e.value) and "100 million" in str(e.value)


@pytest.mark.parametrize("batch", [65_536, 4_800])
def test_a_huge_batch_is_refused_against_the_same_budget(batch):
    with pytest.raises(SpecError) as e:
        check_budget(estimate(PRESETS["cnn"].spec), batch)
    assert f"{batch:,}" in str(e.value)


def test_a_huge_batch_fails_the_training_job_before_its_data_is_loaded(home, tmp_path):
    from dlviz.runs import RunStore
    from dlviz.train import TrainConfig, TrainJob, run_job

    job = TrainJob(
        "mnist",
        PRESETS["cnn"].copy_spec(),
        TrainConfig(batch_size=65_536, epochs=1),
        data_dir=str(tmp_path / "no-data-here"),
    )
    res = run_job(job, RunStore())
    assert res.status == "failed" and res.run_id is None
    assert "Batch size 65,536" in translate(res.message, "en", **res.message_args)


def test_every_preset_trains_within_the_default_limits():
    from dlviz.train import recipe_for

    for key, preset in PRESETS.items():
        shape = (256,) if preset.kind == "text" else (1, 28, 28)
        batch = recipe_for(key, "rt-polarity" if preset.kind == "text" else "mnist").get("batch_size", 128)
        check_budget(estimate(preset.spec, shape, vocab_size=20_000 if preset.kind == "text" else None), batch)


def test_limits_are_server_settings(monkeypatch):
    monkeypatch.setenv("DLVIZ_MAX_PARAMS", "300000000")
    check_budget(estimate(DENSE_8192_X4))  # a teacher raised the limit
    monkeypatch.setenv("DLVIZ_MAX_PARAMS", "50000")
    with pytest.raises(SpecError):
        check_budget(estimate(PRESETS["mlp"].spec))
    monkeypatch.setenv("DLVIZ_MAX_PARAMS", "not a number")  # a typo keeps the default, never stops the server
    assert limits().params == 20_000_000
    monkeypatch.setenv("DLVIZ_NO_LIMITS", "1")
    check_budget(estimate(CONV_1024_K15), 65_536)


def _cli(*args, env=None):
    """``python -m dlviz ARGS`` in this process (tests/cli_util.py)."""
    from cli_util import run_cli

    return run_cli(*args, env=env)


def test_cli_refuses_a_model_past_the_limits_in_one_sentence(tmp_path):
    spec = tmp_path / "big.json"
    spec.write_text(json.dumps(DENSE_8192_X4))
    out = _cli(
        "train",
        "--model",
        str(spec),
        "--data-dir",
        str(tmp_path / "none"),
        env={"DLVIZ_HOME": str(tmp_path / "home"), "DLVIZ_OFFLINE": "1"},
    )
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "207,863,818 parameters" in out.stderr and "20,000,000" in out.stderr
    # --no-limits, on a machine of one's own: the budget passes and the next problem is the missing data
    out = _cli(
        "train",
        "--no-limits",
        "--model",
        str(spec),
        "--data-dir",
        str(tmp_path / "none"),
        env={"DLVIZ_HOME": str(tmp_path / "home"), "DLVIZ_OFFLINE": "1"},
    )
    assert out.returncode == 2 and "Traceback" not in out.stderr and "parameters" not in out.stderr


# ---------------------------------------------------------------------------------------------------
# 6. JSON bounded before it is parsed (dlviz/models/builder.py parse_json)

DEEP_JSON = "[" * 100_000 + "]" * 100_000
LONG_INT_JSON = '{"layers": [{"type": "dense", "units": ' + "9" * 5000 + "}]}"


def test_json_nested_100000_deep_is_one_sentence():
    with pytest.raises(SpecError) as e:
        normalize(DEEP_JSON)
    assert "nested 100,000 levels deep" in str(e.value)


def test_json_with_a_5000_digit_integer_is_one_sentence():
    with pytest.raises(SpecError) as e:
        normalize(LONG_INT_JSON)
    assert "too long to read" in str(e.value)


def test_json_past_the_size_limit_is_refused_unread(monkeypatch):
    monkeypatch.setenv("DLVIZ_MAX_JSON_KB", "1")
    with pytest.raises(SpecError) as e:
        normalize(json.dumps({"name": "x" * 2000, "layers": [{"type": "flatten"}]}))
    assert "1.0 KB" in str(e.value)
    # brackets inside strings are text, not nesting
    assert normalize(json.dumps({"name": "[" * 500, "layers": [{"type": "flatten"}]}))["name"] == "[" * 500


@pytest.mark.parametrize("text", [DEEP_JSON, LONG_INT_JSON])
def test_cli_hostile_json_is_one_sentence_and_exit_2(tmp_path, text):
    spec = tmp_path / "hostile.json"
    spec.write_text(text)
    out = _cli("train", "--model", str(spec), env={"DLVIZ_HOME": str(tmp_path / "home"), "DLVIZ_OFFLINE": "1"})
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr


@pytest.mark.parametrize("text", [DEEP_JSON, LONG_INT_JSON])
def test_build_page_import_of_hostile_json_is_a_message(app, text):
    at = app()
    at.run()
    at.switch_page("pages/build.py")
    at.run()
    before = at.session_state["spec"]
    at.text_area(key="build_import_text").input(text).run()
    next(b for b in at.button if b.key == "build_import_btn").click().run()
    assert not at.exception
    assert any("Not imported" in e.value for e in at.error)
    assert at.session_state["spec"] == before


# ---------------------------------------------------------------------------------------------------
# 5. IDX files: the header's declared size is checked before decompressing, and a gzip is read as a
#    stream that stops at what the header announces (dlviz/data/idx.py)


def _idx_gzip_bomb(path, images: int, trailing: int = 0) -> None:
    """A gzip IDX whose header announces ``images`` 28x28 images (all zeros), plus ``trailing`` extra zeros."""
    import gzip

    header = bytes([0, 0, 8, 3]) + np.asarray([images, 28, 28], dtype=">u4").tobytes()
    zeros = bytes(1 << 20)
    with gzip.open(path, "wb", compresslevel=1) as fh:
        fh.write(header)
        left = images * 784 + trailing
        while left > 0:
            fh.write(zeros[: min(left, len(zeros))])
            left -= len(zeros)


class _CountingGzip:
    """Counts the bytes gzip hands out (what was decompressed and read)."""

    def __init__(self, monkeypatch):
        import gzip

        self.total = 0
        real = gzip.GzipFile.read

        def read(this, *args):
            block = real(this, *args)
            self.total += len(block)
            return block

        monkeypatch.setattr(gzip.GzipFile, "read", read)


def test_idx_gzip_bomb_is_refused_from_its_header_before_decompressing(tmp_path, monkeypatch):
    from dlviz.data import read_idx
    from dlviz.errors import DataError

    path = tmp_path / "train-images-idx3-ubyte.gz"
    _idx_gzip_bomb(path, images=40_000)  # 31 MB inside, 31 KB on disk
    monkeypatch.setenv("DLVIZ_MAX_IDX_MB", "8")
    counted = _CountingGzip(monkeypatch)
    with pytest.raises(DataError) as e:
        read_idx(path)
    assert "announces 29.9 MB" in str(e.value) and "8.0 MB" in str(e.value)
    assert counted.total < 4096, f"{counted.total} bytes decompressed before refusing"


def test_idx_gzip_with_a_bomb_after_a_valid_header_stops_decompressing(tmp_path, monkeypatch):
    from dlviz.data import read_idx
    from dlviz.errors import DataError

    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    _idx_gzip_bomb(path, images=10, trailing=64 << 20)  # a small array, then 64 MB of zeros
    monkeypatch.setenv("DLVIZ_MAX_IDX_MB", "8")
    import tracemalloc

    tracemalloc.start()
    try:
        with pytest.raises(DataError) as e:
            read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "bytes more than its header announces" in str(e.value)
    assert peak < 8 << 20, f"{peak / 2**20:.0f} MB held while reading"


def test_idx_default_limit_reads_mnist_and_refuses_2_gb(tmp_path):
    from dlviz.data import read_idx
    from dlviz.errors import DataError

    assert limits().idx_bytes >= 60_000 * 784  # full MNIST fits
    path = tmp_path / "forged-idx3-ubyte"
    path.write_bytes(bytes([0, 0, 8, 3]) + np.asarray([3_000_000, 28, 28], dtype=">u4").tobytes() + bytes(100))
    with pytest.raises(DataError, match="announces 2.2 GB"):
        read_idx(path)


# ---------------------------------------------------------------------------------------------------
# 4. Uploads budgeted by decoded bytes from the header, decoded in a bounded way (dlviz/modality/preprocess.py)


@pytest.fixture(scope="module")
def hostile_images(tmp_path_factory):
    """The two small files of issue 14 that decode to hundreds of megabytes, and an ordinary big photo."""
    from PIL import Image, ImageDraw

    folder = tmp_path_factory.mktemp("hostile-images")
    Image.MAX_IMAGE_PIXELS = None
    a = np.zeros((6000, 6000), np.int32)
    a[2000:4000, 2800:3200] = 200_000
    Image.fromarray(a, "I").save(folder / "int32.tif", compression="tiff_deflate")
    b = Image.new("RGBA", (6320, 6320), (255, 255, 255, 0))
    ImageDraw.Draw(b).ellipse((2000, 1500, 4300, 4800), outline=(0, 0, 0, 255), width=300)
    b.save(folder / "rgba.png")
    c = Image.new("RGB", (6000, 4000), (250, 250, 250))
    ImageDraw.Draw(c).ellipse((2000, 800, 4000, 3200), outline=(0, 0, 0), width=250)
    c.save(folder / "photo.jpg", quality=90)
    return folder


_OPEN_EACH = """
import resource, sys
from dlviz.errors import DataError
from dlviz.modality.preprocess import open_image, to_mnist
for path in sys.argv[1:]:
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    try:
        img, _ = open_image(open(path, "rb").read())
        to_mnist(img)
        print(path, "ACCEPTED", max(img.size))
    except DataError as e:
        print(path, "REFUSED", e)
    print(path, "GROWTH", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - base)
"""


@pytest.fixture(scope="module")
def opened(hostile_images):
    """{file name: (what open_image said, the growth of the peak memory in MB)}, all opened in one fresh process."""
    names = ["int32.tif", "rgba.png", "photo.jpg"]  # the refusals first: the peak only grows
    out = subprocess.run(
        [sys.executable, "-c", _OPEN_EACH, *(str(hostile_images / n) for n in names)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=str(__import__("pathlib").Path(__file__).resolve().parents[1]),
    )
    assert out.returncode == 0, out.stderr[-2000:]
    res = {}
    for n in names:
        lines = [ln.split(" ", 1)[1] for ln in out.stdout.splitlines() if ln.startswith(str(hostile_images / n))]
        res[n] = (lines[0], float(lines[1].split()[-1]))
    return res


@pytest.mark.slow  # makes three pictures of 24 to 40 megapixels, opens them in a fresh process
@pytest.mark.parametrize("name,size", [("int32.tif", "137.3 MB"), ("rgba.png", "304.7 MB")])
def test_small_image_that_decodes_to_hundreds_of_mb_is_refused_from_its_header(hostile_images, opened, name, size):
    assert (hostile_images / name).stat().st_size < 300_000
    said, growth = opened[name]
    assert said.startswith(f"REFUSED This picture would take {size} of memory"), said
    assert growth < 40, f"{growth:.0f} MB decoded before refusing"


@pytest.mark.slow
def test_big_photo_is_decoded_at_a_reduced_scale_and_freed(opened):
    said, growth = opened["photo.jpg"]  # 24 megapixels: 96 MB decoded in full
    assert said == "ACCEPTED 1024"
    assert growth < 70, f"{growth:.0f} MB to open a JPEG photo"


def test_opened_image_is_at_most_the_work_size(tmp_path):
    import io

    from PIL import Image

    from dlviz.modality.preprocess import WORK_SIZE, open_image

    buf = io.BytesIO()
    Image.new("L", (3000, 1500), 255).save(buf, "PNG")
    img, _ = open_image(buf.getvalue())
    assert img.size == (WORK_SIZE, WORK_SIZE // 2)


def test_upload_bytes_and_decoded_bytes_are_server_settings(monkeypatch):
    import io

    from PIL import Image

    from dlviz.errors import DataError
    from dlviz.modality.preprocess import open_image

    buf = io.BytesIO()
    Image.effect_noise((1200, 1200), 60).save(buf, "PNG")  # about 1.2 MB of noise
    monkeypatch.setenv("DLVIZ_MAX_UPLOAD_MB", "1")
    with pytest.raises(DataError, match="pictures up to 1.0 MB"):
        open_image(buf.getvalue())
    monkeypatch.delenv("DLVIZ_MAX_UPLOAD_MB")
    monkeypatch.setenv("DLVIZ_MAX_IMAGE_MB", "1")
    with pytest.raises(DataError, match="1.4 MB of memory once opened"):
        open_image(buf.getvalue())


# ---------------------------------------------------------------------------------------------------
# 6 (CSV). A user's CSV bounded by bytes and rows before it is parsed (dlviz/data/user_csv.py)


def test_csv_of_50_mb_is_refused_unparsed(home, monkeypatch):
    from dlviz.data.user_csv import add_csv
    from dlviz.errors import DataError

    line = b"a clever and pleasant surprise of a film %d,positive\n"
    raw = b"text,label\n" + b"".join(line % i for i in range(1_000_000))  # 50 MB of distinct rows
    assert len(raw) > 50_000_000
    calls = []
    monkeypatch.setattr("dlviz.data.user_csv._decode_csv", lambda *a: calls.append(a) or "")
    with pytest.raises(DataError, match=r"is 5\d MB; dlviz reads CSV files up to 10 MB"):
        add_csv(raw, "big.csv")
    assert not calls, "the file was decoded before it was refused"
    assert not list((home / "data" / "csv").glob("*.csv")) if (home / "data" / "csv").exists() else True


def test_csv_of_a_million_labels_is_refused_from_its_line_count(home, monkeypatch):
    from dlviz.data.user_csv import add_csv
    from dlviz.errors import DataError

    raw = b"text,label\n" + b"".join(b"w%d,%d\n" % (i, i) for i in range(1_000_000))  # 15 MB, a label per row
    calls = []
    monkeypatch.setattr("dlviz.data.user_csv._decode_csv", lambda *a: calls.append(a) or "")
    monkeypatch.setenv("DLVIZ_MAX_CSV_MB", "50")  # past the bytes limit: the rows limit refuses it
    with pytest.raises(DataError, match=r"1,000,001 lines; dlviz reads CSV files of up to 100,000 rows"):
        add_csv(raw, "labels.csv")
    assert not calls


def test_csv_limits_are_server_settings(home, monkeypatch):
    from dlviz.data.user_csv import add_csv
    from dlviz.errors import DataError

    raw = b"text,label\n" + b"".join(
        b"sentence number %d is %s,%s\n" % (i, w, w) for i in range(300) for w in (b"good", b"bad")
    )
    assert add_csv(raw, "ok.csv").startswith("csv-")
    monkeypatch.setenv("DLVIZ_MAX_CSV_ROWS", "100")
    with pytest.raises(DataError, match="up to 100 rows"):
        add_csv(raw, "ok.csv")


# ---------------------------------------------------------------------------------------------------
# 2. User strings shown as text, never as Markdown (dlviz/ui/plain.py)

MARKDOWN_NAMES = [
    "![x](http://127.0.0.1:8999/p.png)",
    "[click](http://127.0.0.1:8999/l)",
    "**bold** _it_ `code`",
    ":red[red] :material/home: :smile:",
    "$x^2$",
    "# heading\n- item\n1. one",
    "<img src=x>",
    "www.example.com http://127.0.0.1:8999/a",
    "a\\*b ~~gone~~ | pipe |",
]


@pytest.mark.parametrize("name", MARKDOWN_NAMES)
def test_plain_leaves_no_markdown_syntax_live(name):
    from dlviz.ui.plain import plain

    md = plain(name)
    assert "\n" not in md
    # every character Markdown could act on is escaped: drop the escapes and the text is the name
    assert re.sub(r"\\(.)", r"\1", md).replace("\u200b", "") == " ".join(name.split())
    for live in ("![", "](", "**", "`", ":red[", ":material/", "$x", "<img", "www.", "://"):
        assert not re.search(r"(?<!\\)" + re.escape(live), md), (live, md)  # each starts with an escaped character


def test_error_messages_escape_the_words_filled_in():
    from dlviz.errors import DataError
    from dlviz.ui.plain import plain

    e = DataError("The file {name} is empty.", name="![x](http://127.0.0.1:8999/p.png).csv")
    assert "![x](" in e.message("en")  # the CLI prints the name as it is
    assert "![x](" not in e.message("en", escape=plain)  # the app shows it as text


def test_hostile_run_name_is_text_on_the_runs_and_start_pages(app):
    from dlviz.runs import RunStore

    name = "![x](http://127.0.0.1:8999/p.png)"
    store = RunStore()
    rec = store.create(name=name, dataset="mnist", spec=PRESETS["mlp"].copy_spec(), settings={}, device="cpu", params=1)
    store.update(rec.id, status="finished", test_accuracy=0.5)
    at = app()
    at.run()
    shown = [m.value for m in at.info] + [m.value for m in at.markdown]
    assert any("127.0.0.1" in v for v in shown), shown
    assert not any("![x](" in v for v in shown), shown
    at.switch_page("pages/runs.py")
    at.run()
    assert not at.exception
    shown = [h.value for h in at.subheader] + [m.value for m in at.markdown]
    assert any("127.0.0.1" in v for v in shown) and not any("![x](" in v for v in shown), shown


@pytest.mark.browser
def test_a_run_renamed_to_a_markdown_image_draws_no_image_and_fetches_nothing(tmp_path):
    _browser_or_skip()
    from browser_util import TITLES, goto, launch, nav, settled, start_server
    from playwright.sync_api import expect, sync_playwright

    home = tmp_path / "home"
    env_home = {"DLVIZ_HOME": str(home)}
    probe = "127.0.0.1:8999"
    name = f"![x](http://{probe}/p.png) **bold** :red[red]"
    code = (
        "from dlviz.runs import RunStore\nfrom dlviz.models import PRESETS\ns = RunStore()\n"
        f"r = s.create(name={name!r}, dataset='mnist', spec=PRESETS['mlp'].copy_spec(), settings={{}}, "
        "device='cpu', params=1)\ns.update(r.id, status='finished', test_accuracy=0.5)\n"
    )
    subprocess.run(
        [sys.executable, "-c", code], check=True, cwd=ROOT, env={**__import__("os").environ, **env_home}, timeout=120
    )
    server = start_server(home)
    try:
        with sync_playwright() as pw:
            browser = launch(pw)
            page = browser.new_page(viewport={"width": 1400, "height": 2400})
            fetched = []
            page.on("request", lambda r: fetched.append(r.url) if probe in r.url else None)
            goto(page, server.url, TITLES["Start"])
            settled(page)
            expect(page.get_by_text(f"![x](http://{probe}/p.png)", exact=False).first).to_be_visible(timeout=30_000)
            nav(page, "Runs")
            settled(page)
            expect(page.get_by_role("heading").filter(has_text=f"![x](http://{probe}/p.png)").first).to_be_visible(
                timeout=30_000
            )
            assert page.locator(f"img[src*='{probe}']").count() == 0
            assert page.locator(f"a[href*='{probe}']").count() == 0
            assert page.locator("strong:text('bold')").count() == 0
            assert not fetched, fetched
            browser.close()
    finally:
        server.stop()


def test_a_rebuild_keeps_runs_from_before_run_json_that_the_old_index_still_gives(home):
    """Issue 14, item 11: runs saved before run folders kept run.json are rebuilt from what the old index still
    reads; each gets its run.json then."""
    import torch

    from dlviz.runs import RunStore

    store = RunStore()
    ids = []
    for i in range(3):
        rec = store.create(name=f"old {i}", dataset="mnist", spec={"layers": []}, settings={}, device="cpu")
        store.save_weights(rec.id, {"w": torch.zeros(1)})
        store.update(rec.id, status="finished", test_accuracy=0.9)
        ids.append(rec.id)
    (store.folder(ids[0]) / "run.json").unlink()
    out = RunStore().rebuild_index()
    assert out["runs"] == 3 and out["skipped"] == [] and out["backup"]
    assert sorted(r.id for r in RunStore().list()) == sorted(ids)
    assert RunStore().get(ids[0]).name == "old 0" and (store.folder(ids[0]) / "run.json").is_file()


def test_a_full_disk_under_the_index_says_so_too(home):
    """Issue 14, item 12: SQLite's "database or disk is full" reads as the same plain sentence."""
    import sqlite3

    from dlviz.runs import DISK_FULL_MESSAGE, RunStore

    err = RunStore()._db_error(sqlite3.OperationalError("database or disk is full"))
    assert err.template == DISK_FULL_MESSAGE


def test_an_interrupted_text_run_opens_on_the_text_pages_with_how_it_ended(app, monkeypatch):
    """Issue 14, item 9, text: a text run whose server was killed mid-training (marked "interrupted", its last
    epoch kept) opens on Attention, under a banner saying how it ended."""
    sys.path.insert(0, str(ROOT / "tests"))
    import text_page_util as tpu

    from dlviz.runs import RunStore

    real_update = RunStore.update

    def no_end(self, run_id, **fields):  # keep the run "running", as a killed server leaves it
        fields.pop("status", None)
        return real_update(self, run_id, **fields)

    monkeypatch.setattr(RunStore, "update", no_end)
    rec = tpu.text_run("transformer")
    monkeypatch.setattr(RunStore, "update", real_update)
    assert RunStore().get(rec.id).status == "running"
    assert RunStore().mark_interrupted(set()) == [rec.id]
    tpu.register_text_pages(monkeypatch)
    at = tpu.open_text_page(app, "pages/attention.py", run_id=rec.id)
    banners = [w.value for w in at.warning]
    assert any(
        b.startswith("This run was interrupted") and "weights of its last finished epoch" in b for b in banners
    ), banners


def test_renaming_a_run_to_a_markdown_image_says_so_as_text(app):
    from dlviz.runs import RunStore

    store = RunStore()
    rec = store.create(
        name="plain", dataset="mnist", spec=PRESETS["mlp"].copy_spec(), settings={}, device="cpu", params=1
    )
    store.update(rec.id, status="finished", test_accuracy=0.5)
    at = app()
    at.run()
    at.switch_page("pages/runs.py")
    at.run()
    hostile = "![x](http://127.0.0.1:8999/p.png)"
    at.text_input(key=f"_runs_name_{rec.id}").input(hostile).run()
    at.button(key="_runs_rename").click().run()
    assert not at.exception and store.get(rec.id).name == hostile
    said = [s.value for s in at.success] + [h.value for h in at.subheader]
    assert any(s.startswith("Renamed to ") and "127.0.0.1" in s for s in said), said
    assert not any("![x](" in s or "http://" in s for s in said), said


def test_a_run_trained_under_the_limits_of_its_day_still_opens_after_they_are_lowered(home, monkeypatch):
    # limits guard what is built to train; a teacher who lowers them must not lock the class out of its runs
    from dlviz.models.builder import build
    from dlviz.runs import RunStore
    from dlviz.train.runner import load_run

    store = RunStore()
    spec = PRESETS["mlp"].copy_spec()
    rec = store.create(name="mlp", dataset="mnist", spec=spec, settings={"epochs": 1}, device="cpu")
    store.save_weights(rec.id, build(spec, (1, 28, 28), 10, seed=0).module.state_dict())
    monkeypatch.setenv("DLVIZ_MAX_PARAMS", "1000")
    with pytest.raises(SpecError):
        build(spec, (1, 28, 28), 10)  # a new model of that size is refused now
    model, _ = load_run(rec.id, store)  # the run trained earlier still opens
    assert sum(p.numel() for p in model.parameters()) == 109_386


# ---------------------------------------------------------------------------------------------------
# 2b. HTML in user strings that reach Plotly figures (titles, legends, ticks, hover and annotations
# render a subset of HTML: <a href>, <b>, <br>, <span style>...). dlviz.plots.as_text escapes them.

HTML_NAME = '<a href="http://127.0.0.1:8999/x">click</a><img src=x>'


def _figure_strings(fig) -> list[str]:
    out = []

    def walk(v):
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(json.loads(fig.to_json()))
    return out


def _assert_shown_as_text(fig, what: str, whole: bool = True) -> None:
    """No raw tag from HTML_NAME in ``fig``'s JSON, and its escaped form is there (token axes shorten
    long tokens: ``whole=False`` looks for the escaped start only)."""
    strings = _figure_strings(fig)
    raw = [s for s in strings if "<a " in s or "<img" in s or "</a>" in s]
    assert not raw, f"{what}: the user's HTML reaches Plotly raw: {raw[:3]}"
    assert any("&lt;a href=" in s and (not whole or "&lt;img src=x&gt;" in s) for s in strings), (
        f"{what}: the user's string is not in the figure (escaped) at all"
    )


def test_html_in_run_class_and_token_names_reaches_plotly_figures_only_as_escaped_text():
    from dlviz.plots import as_text, class_balance, prediction_gallery, probability_bars
    from dlviz.plots.attention import attention_grid, attention_heatmap, head_view
    from dlviz.plots.compare import compare_curves
    from dlviz.plots.embedding import embedding_figure
    from dlviz.plots.errors import confusion_grid
    from dlviz.plots.gradients import depth_profile
    from dlviz.plots.sequence import prediction_over_time, state_heatmap, step_change

    assert as_text('<b>&x</b>') == "&lt;b&gt;&amp;x&lt;/b&gt;"
    rows = [(1, 0.5, 1.0, 0.5), (2, 1.0, 0.8, 0.6)]
    _assert_shown_as_text(compare_curves([(HTML_NAME, rows, rows), ("plain", rows, rows)]), "compare chart")
    _assert_shown_as_text(depth_profile([(HTML_NAME, [HTML_NAME, "fc"], [0.1, 0.2])]), "gradient depth profile")
    classes = [HTML_NAME, "b", "c"]
    _assert_shown_as_text(class_balance([3, 2, 1], classes), "class balance")
    _assert_shown_as_text(probability_bars([0.7, 0.2, 0.1], 0, classes), "probability bars")
    _assert_shown_as_text(
        prediction_gallery(np.zeros((2, 4, 4), np.uint8), np.array([[0.7, 0.2, 0.1]] * 2), [0, 1], classes),
        "prediction gallery",
    )
    _assert_shown_as_text(confusion_grid(np.array([[2, 1, 0], [0, 3, 0], [1, 0, 2]]), classes), "confusion matrix")
    _assert_shown_as_text(
        embedding_figure(np.random.default_rng(0).normal(size=(6, 2)), [0, 0, 1, 1, 2, 2], classes=classes),
        "embedding map",
    )
    tokens = ["good", HTML_NAME, "film"]
    attn = np.full((3, 3), 1 / 3)
    _assert_shown_as_text(attention_heatmap(attn, tokens), "attention map", whole=False)
    _assert_shown_as_text(
        attention_grid(np.full((1, 1, 3, 3), 1 / 3), tokens, layer_names=["block 1"]), "attention grid", whole=False
    )
    _assert_shown_as_text(head_view(np.full((1, 3, 3), 1 / 3), tokens), "head view", whole=False)
    _assert_shown_as_text(state_heatmap(np.ones((3, 4)), tokens), "hidden state map", whole=False)
    _assert_shown_as_text(step_change(np.ones((3, 4)), tokens), "state change bars", whole=False)
    _assert_shown_as_text(
        prediction_over_time(np.full((3, 3), 1 / 3), tokens, classes), "prediction over time", whole=False
    )
