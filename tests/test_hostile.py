"""What a clumsy or hostile user can try (issue 14), one case per test function, read in one place."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from dlviz.errors import SpecError
from dlviz.models import LAYER_TYPES, PRESETS, normalize, to_pytorch
from dlviz.models.codegen import to_script

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
            assert isinstance(call, ast.Call) and ast.unparse(call.func) in ("torch.manual_seed", "glorot_init"), \
                ast.unparse(node)
        elif isinstance(node, ast.Assign):
            targets = {ast.unparse(t) for t in node.targets}
            assert targets <= {"MODEL_NAME", "model", "RECIPE", "WARMUP_FRACTION", "SPLIT_SEED", "INPUT_SHAPE",
                               "FILES"}, ast.unparse(node)
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


@pytest.mark.parametrize("setting,value", [("units", "10); import os; (1"), ("units", 1e400), ("units", True),
                                           ("bias", "True); import os; (1")])
def test_hostile_number_in_a_layer_setting_is_refused_before_export(setting, value):
    with pytest.raises(SpecError):
        to_pytorch({"name": "m", "layers": [{"type": "flatten"}, {"type": "dense", setting: value}]})


@pytest.mark.parametrize("field,value", [("optimizer", "adam'); import os; ('"), ("schedule", "onecycle\nimport os"),
                                         ("lr", float("nan")), ("lr", "1e-3); import os; (1")])
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
