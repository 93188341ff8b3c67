"""The package's shape: short functions, a thin command group, no type switches.

These were measured on the code when it was restructured; they stay measured here, so
that the structure does not drift back.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(
    [*ROOT.joinpath("vaeanomaly").glob("*.py"), *ROOT.joinpath("cli").glob("*.py")]
)

#: Longest function or method, in lines, its docstring left out.
MAX_FUNCTION_LINES = 80
#: Longest ``cli/main.py``: click declarations and help texts only.
MAX_MAIN_LINES = 450


def _functions(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def _length(node) -> int:
    """Lines of a function from its ``def`` to its end, without the docstring."""
    lines = node.end_lineno - node.lineno + 1
    body = node.body
    if (
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    ):
        lines -= body[0].end_lineno - body[0].lineno + 1
    return lines


def test_no_function_is_longer_than_80_lines():
    long = {
        f"{path.relative_to(ROOT)}:{node.lineno} {node.name}": _length(node)
        for path in SOURCES
        for node in _functions(path)
        if _length(node) > MAX_FUNCTION_LINES
    }
    assert not long


def test_the_command_group_is_thin():
    lines = len(ROOT.joinpath("cli", "main.py").read_text().splitlines())
    assert lines < MAX_MAIN_LINES


def _type_switches(path: Path) -> list[str]:
    """Places that tell the detectors apart by type or reach into a sequence model."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr in ("channels_", "detector_"):
            found.append(f"{path.name}:{node.lineno} .{node.attr}")
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", None) in ("isinstance", "hasattr", "getattr")
            and any(
                "SequenceVAEDetector" in ast.unparse(arg)
                or "channels_" in ast.unparse(arg)
                or "detector_" in ast.unparse(arg)
                or "'window'" in ast.unparse(arg)
                for arg in node.args[1:]
            )
        ):
            found.append(f"{path.name}:{node.lineno} {ast.unparse(node)}")
    return found


@pytest.mark.parametrize(
    "path",
    [p for p in SOURCES if p.name != "sequence.py"],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_no_type_switch_on_the_sequence_detector_outside_sequence_py(path):
    assert _type_switches(path) == []
