"""The package's layers: imports go downward only, and light layers stay light."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "vaeanomaly"

#: Lower number = lower layer (STYLE.md, section 1). A module may import only
#: modules of a lower layer, or of its own layer without a cycle.
LAYERS = {
    0: {
        "_version",
        "_names",
        "exceptions",
        "_atomic",
        "_state",
        "_memory",
        "_compat",
        "_wide",
    },
    1: {
        "_gpd",
        "_threshold_base",
        "_tail_thresholds",
        "thresholds",
        "_encoding",
        "_values",
        "_kinds",
        "range_metrics",
    },
    2: {"_schema", "windows", "innovations", "levels"},
    3: {"_model", "likelihoods", "scoring", "_gradients", "_training", "_detector"},
    4: {"estimator"},
    5: {"sequence", "dask"},
    6: {"_legacy_files", "io"},
}


def _modules() -> dict[str, set[str]]:
    """Each module of the package and the package modules it imports, anywhere."""
    graph = {}
    for path in PACKAGE.glob("*.py"):
        if path.stem in ("__init__", "__main__"):
            continue
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
                if node.module == "vaeanomaly":
                    names = [f"vaeanomaly.{a.name}" for a in node.names]
            for name in names:
                parts = name.split(".")
                if parts[0] == "vaeanomaly" and len(parts) > 1:
                    imported.add(parts[1])
        graph[path.stem] = imported - {path.stem}
    return graph


def _layer(module: str) -> int:
    for rank, members in LAYERS.items():
        if module in members:
            return rank
    return max(LAYERS) + 1  # new modules sit on top until given a layer


def test_every_module_has_a_layer():
    unplaced = {m for m in _modules() if _layer(m) > max(LAYERS)}
    allowed_on_top = {"report", "_report_plots"}
    assert unplaced <= allowed_on_top, unplaced - allowed_on_top


def test_no_module_imports_a_module_above_it():
    upward = [
        (module, dep)
        for module, deps in _modules().items()
        for dep in deps
        if _layer(dep) > _layer(module)
    ]
    assert not upward, upward


def test_no_import_cycles():
    graph = _modules()
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for dep in graph.get(node, ()):
            if state.get(dep) == 1:
                pytest.fail(f"import cycle: {' -> '.join([*trail, node, dep])}")
            if dep not in state:
                visit(dep, [*trail, node])
        state[node] = 2

    for module in graph:
        if module not in state:
            visit(module, [])


@pytest.mark.parametrize(
    ("module", "banned"),
    [
        ("vaeanomaly.cli._csv", ("torch", "sklearn")),
        ("vaeanomaly.thresholds", ("torch",)),
        ("vaeanomaly._schema", ("torch",)),
        ("vaeanomaly.cli.main", ("torch",)),
    ],
)
def test_light_layers_load_no_heavy_libraries(module, banned):
    code = (
        f"import sys, {module}; "
        f"print(','.join(m for m in {banned!r} if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "", f"importing {module} loaded {loaded}"


def test_library_code_never_imports_click():
    offenders = [m for m, deps in _modules().items() if "click" in _imports_of(m)]
    assert not offenders


def _imports_of(module: str) -> set[str]:
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names
