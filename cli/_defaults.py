"""The estimator's defaults, the one source of the command line's defaults.

Options that mirror a :class:`~vaeanomaly.VAEAnomalyDetector` parameter
default to ``None`` and leave the parameter out, so the estimator's own
default applies. ``--help`` shows that default, read from the estimator's
source with :mod:`ast` so that help never imports torch; a test checks it
against ``inspect.signature``.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
from pathlib import Path
from typing import Any


@functools.cache
def _source_defaults() -> dict[str, Any]:
    spec = importlib.util.find_spec("vaeanomaly.estimator")
    if spec is None or spec.origin is None:
        return {}
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == "VAEAnomalyDetector":
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                    args = item.args
                    out = {}
                    for arg, default in zip(
                        args.kwonlyargs, args.kw_defaults, strict=True
                    ):
                        try:
                            out[arg.arg] = ast.literal_eval(default)
                        except (ValueError, TypeError, SyntaxError):
                            continue
                    return out
    return {}


def shown_default(name: str) -> str:
    """Text for ``show_default=`` of an option that mirrors parameter ``name``."""
    value = _source_defaults().get(name)
    return str(value) if value is not None else f"the estimator's {name}"
