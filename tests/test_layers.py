"""Imports run one way: pages -> ui -> features -> core -> base, and no two modules (or two packages of one layer)
import each other, directly or round a loop.

The walk reads every module's source (AST, not an import), so it sees every import: at the top, inside
functions, under ``if TYPE_CHECKING``. A module may import its own layer and the layers below it. Within a
layer, imports between packages are allowed as long as they form no loop (``plots`` -> ``explain`` and
``explain`` -> ``plots`` is a loop), and no modules anywhere form one (``ui/nav`` -> ``ui/state`` -> ``ui/nav``).

A new package or top-level module of dlviz fails ``test_every_package_has_a_layer`` until LAYERS names its
layer: adding one is a decision, not an accident.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Top to bottom. A unit is a package of dlviz (``dlviz.train``), a top-level module (``dlviz.errors``), the
# package itself (``dlviz``: its __init__), or the Streamlit entry points (``app``, ``pages``).
LAYERS: dict[str, tuple[str, ...]] = {
    "pages": ("app", "pages"),
    "ui": ("dlviz.ui",),
    "features": (
        "dlviz.__main__",
        "dlviz.bench",
        "dlviz.classroom",
        "dlviz.cli",
        "dlviz.compress",
        "dlviz.explain",
        "dlviz.inspect",
        "dlviz.lessons",
        "dlviz.plots",
        "dlviz.train",
    ),
    "core": ("dlviz.data", "dlviz.modality", "dlviz.models", "dlviz.runs", "dlviz.tasks"),
    "base": (
        "dlviz",
        "dlviz.defaults",
        "dlviz.errors",
        "dlviz.glossary",
        "dlviz.i18n",
        "dlviz.limits",
        "dlviz.locks",
        "dlviz.paths",
        "dlviz.setting",
        "dlviz.timing",
    ),
}

# Only these layers may import streamlit (the rest runs in the CLI, in tests and in training processes).
STREAMLIT_LAYERS = {"pages", "ui"}

# KNOWN violations, each being removed by the reshape of issue 15 at the time of writing. These lists must
# shrink to empty: the tests fail on a violation that is not listed AND on a listed one that no longer occurs,
# so fixing one means deleting its line here, and a new one cannot hide behind the list.
KNOWN_UPWARD: set[tuple[str, str]] = set()  # (importer, imported): a module importing a layer above its own
KNOWN_MODULE_CYCLES: set[tuple[str, ...]] = set()
KNOWN_PACKAGE_CYCLES: set[tuple[str, ...]] = set()


# ---- the walk ----------------------------------------------------------------------------------------------


def module_files(root: Path = ROOT) -> dict[str, Path]:
    """Every module of dlviz, app.py and pages/ by its dotted name (a package by its own name)."""
    paths = [root / "app.py", *sorted((root / "pages").glob("*.py")), *sorted((root / "dlviz").rglob("*.py"))]
    out = {}
    for path in paths:
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def imports_of(source: str, module: str, is_package: bool, known: set[str]) -> set[str]:
    """The modules of ``known`` that ``source`` imports anywhere (``from pkg import submodule`` names the
    submodule; ``from pkg import name`` names pkg), resolving relative imports."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = module.split(".") if is_package else module.split(".")[:-1]
                here = here[: len(here) - (node.level - 1)]
                base = ".".join(here + ([node.module] if node.module else []))
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module:
                found.add(name)
    return found


def third_party_of(source: str) -> set[str]:
    """The top-level names of every absolute import in ``source``."""
    out = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out |= {a.name.partition(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            out.add(node.module.partition(".")[0])
    return out


def unit_of(module: str) -> str:
    """The package (or top-level module) a module belongs to: dlviz.train.runner -> dlviz.train."""
    parts = module.split(".")
    if parts[0] == "dlviz":
        return ".".join(parts[:2])
    return parts[0]


LAYER_OF = {unit: layer for layer, units in LAYERS.items() for unit in units}
RANK = {layer: i for i, layer in enumerate(reversed(list(LAYERS)))}  # base 0 ... pages 4


def layer_of(module: str) -> str:
    unit = unit_of(module)
    assert unit in LAYER_OF, f"no layer for {unit}: add it to LAYERS in tests/test_layers.py"
    return LAYER_OF[unit]


def graph(root: Path = ROOT) -> dict[str, set[str]]:
    files = module_files(root)
    known = set(files)
    return {m: imports_of(p.read_text(encoding="utf-8"), m, p.name == "__init__.py", known) for m, p in files.items()}


def upward(g: dict[str, set[str]]) -> set[tuple[str, str]]:
    return {(a, b) for a, bs in g.items() for b in bs if RANK[layer_of(b)] > RANK[layer_of(a)]}


def cycles(g: dict[str, set[str]]) -> set[tuple[str, ...]]:
    """The strongly connected components with more than one member (Tarjan, iterative), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: set[tuple[str, ...]] = set()
    for start in sorted(g):
        if start in index:
            continue
        work = [(start, iter(sorted(g.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            v, children = work[-1]
            w = next(children, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(g.get(w, ())))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.add(tuple(sorted(comp)))
    return out


def downward_only(g: dict[str, set[str]]) -> dict[str, set[str]]:
    """``g`` without the upward edges (those are reported once, as direction violations)."""
    up = upward(g)
    return {a: {b for b in bs if (a, b) not in up} for a, bs in g.items()}


def package_graph(g: dict[str, set[str]]) -> dict[str, set[str]]:
    """Edges between different packages of one layer."""
    out: dict[str, set[str]] = {}
    for a, bs in downward_only(g).items():
        for b in bs:
            if unit_of(a) != unit_of(b) and layer_of(a) == layer_of(b):
                out.setdefault(unit_of(a), set()).add(unit_of(b))
    return out


def _edges_within(g: dict[str, set[str]], members: tuple[str, ...]) -> list[str]:
    inside = set(members)
    return [f"    {a} -> {b}" for a in sorted(inside) for b in sorted(g.get(a, ())) if b in inside]


def _compare(found: set, known: set, what: str, explain) -> None:
    new, gone = found - known, known - found
    lines = []
    if new:
        lines.append(f"{len(new)} {what} not in the KNOWN list (fix it; do not list it):")
        for item in sorted(new):
            lines.append(f"  {item}")
            lines += explain(item)
    if gone:
        lines.append(f"{len(gone)} KNOWN {what} no longer occur: delete them from tests/test_layers.py:")
        lines += [f"  {item}" for item in sorted(gone)]
    assert not lines, "\n".join(lines)


# ---- the checks on dlviz -----------------------------------------------------------------------------------

GRAPH = graph()


def test_every_package_has_a_layer():
    units = {unit_of(m) for m in GRAPH}
    missing = sorted(units - set(LAYER_OF))
    assert not missing, f"no layer for {missing}: add each to LAYERS in tests/test_layers.py"
    gone = sorted(set(LAYER_OF) - units)
    assert not gone, f"LAYERS names {gone}, which no longer exist: delete them"
    assert len(LAYER_OF) == sum(len(u) for u in LAYERS.values()), "a unit is in two layers"


def test_imports_run_one_way():
    def why(edge):
        a, b = edge
        return [f"    {layer_of(a)} may not import {layer_of(b)}"]

    _compare(upward(GRAPH), KNOWN_UPWARD, "imports that go up a layer", why)


def test_no_two_modules_import_each_other():
    g = downward_only(GRAPH)
    _compare(cycles(g), KNOWN_MODULE_CYCLES, "module import loops", lambda c: _edges_within(g, c))


def test_no_two_packages_of_a_layer_import_each_other():
    pg, g = package_graph(GRAPH), downward_only(GRAPH)

    def edges(c):
        pairs = [(a, b) for a in sorted(g) for b in sorted(g[a]) if unit_of(a) != unit_of(b)]
        return [f"    {a} -> {b}" for a, b in pairs if unit_of(a) in c and unit_of(b) in c]

    _compare(cycles(pg), KNOWN_PACKAGE_CYCLES, "package import loops", edges)


def test_only_the_ui_and_the_pages_import_streamlit():
    bad = [
        m
        for m, p in module_files().items()
        if layer_of(m) not in STREAMLIT_LAYERS and "streamlit" in third_party_of(p.read_text(encoding="utf-8"))
    ]
    assert not bad, bad


# ---- the checks can fail -----------------------------------------------------------------------------------


def _tree(tmp_path: Path, files: dict[str, str]) -> dict[str, set[str]]:
    for name, text in {"app.py": "", "pages/home.py": "", "dlviz/__init__.py": "", **files}.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    return graph(tmp_path)


def test_the_walk_sees_imports_in_functions_relative_ones_and_submodules(tmp_path):
    g = _tree(
        tmp_path,
        {
            "dlviz/errors.py": "",
            "dlviz/data/__init__.py": "from .loader import load\n",
            "dlviz/data/loader.py": "def load():\n    from dlviz.train import fit\n",
            "dlviz/train/__init__.py": "from dlviz.train.engine import fit\n",
            "dlviz/train/engine.py": "from .. import errors\nimport dlviz.data.loader as L\n",
            "dlviz/ui/state.py": "from dlviz.train import engine\n",
        },
    )
    assert g["dlviz.data"] == {"dlviz.data.loader"}
    assert g["dlviz.data.loader"] == {"dlviz.train"}  # inside a function
    assert g["dlviz.train.engine"] == {"dlviz.errors", "dlviz.data.loader"}  # relative; `import a.b as c`
    assert g["dlviz.ui.state"] == {"dlviz.train.engine"}  # `from pkg import submodule` names the submodule
    assert upward(g) == {("dlviz.data.loader", "dlviz.train")}
    assert cycles(g) == {("dlviz.data.loader", "dlviz.train", "dlviz.train.engine")}
    assert cycles(downward_only(g)) == set()  # the loop goes through the upward import, reported once


def test_a_loop_between_packages_of_one_layer_is_found(tmp_path):
    g = _tree(
        tmp_path,
        {
            "dlviz/plots/__init__.py": "",
            "dlviz/plots/card.py": "from dlviz.explain.checks import X\n",
            "dlviz/explain/__init__.py": "",
            "dlviz/explain/checks.py": "X = 1\n",
            "dlviz/explain/handout.py": "def f():\n    from dlviz.plots import card\n",
        },
    )
    assert cycles(g) == set()  # no two modules import each other ...
    assert cycles(package_graph(g)) == {("dlviz.explain", "dlviz.plots")}  # ... but the two packages do
