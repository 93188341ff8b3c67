"""Skip a test whose prerequisite is missing, or fail it where CI needs it to run.

A user without Chromium, the ``../shared`` data or an extra gets a skip that
says what is missing. CI (``.ci/run``) sets ``VAEANOMALY_REQUIRE_ALL=1``: there
the same reason fails the test, so a green run means that every test ran.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import NoReturn

import pytest

ENV = "VAEANOMALY_REQUIRE_ALL"


def required() -> bool:
    """Whether skips are failures (``VAEANOMALY_REQUIRE_ALL`` set, not 0)."""
    return os.environ.get(ENV, "").strip() not in ("", "0")


def skip_or_fail(reason: str) -> NoReturn:
    """Skip with ``reason``; under ``VAEANOMALY_REQUIRE_ALL=1`` fail with it."""
    if required():
        pytest.fail(f"{reason} ({ENV}=1: this test must run here)", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def importorskip(name: str, reason: str | None = None) -> ModuleType:
    """Import ``name``, or :func:`skip_or_fail` (also at module level)."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        skip_or_fail(reason or f"could not import {name!r}: {exc}")
