"""tests/_require.py: a missing prerequisite skips, or fails under CI's variable."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from _require import ENV

TESTS = Path(__file__).resolve().parent

CASES = textwrap.dedent(
    """
    from _require import importorskip, skip_or_fail

    def test_needs_a_browser():
        skip_or_fail("headless Chromium not found")

    def test_needs_a_module():
        importorskip("no_such_module_here", "the extra is not installed")
    """
)


def run_cases(tmp_path, monkeypatch, value):
    (tmp_path / "test_cases.py").write_text(CASES)
    monkeypatch.setenv("PYTHONPATH", str(TESTS))
    if value is None:
        monkeypatch.delenv(ENV, raising=False)
    else:
        monkeypatch.setenv(ENV, value)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-rsf", "-p", "no:cacheprovider", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("value", [None, "", "0"])
def test_users_get_skips_that_say_why(tmp_path, monkeypatch, value):
    done = run_cases(tmp_path, monkeypatch, value)
    assert done.returncode == 0, done.stdout
    assert "2 skipped" in done.stdout
    assert "headless Chromium not found" in done.stdout
    assert "the extra is not installed" in done.stdout


def test_ci_fails_on_the_same_reasons(tmp_path, monkeypatch):
    done = run_cases(tmp_path, monkeypatch, "1")
    assert done.returncode == 1, done.stdout
    assert "2 failed" in done.stdout
    assert f"headless Chromium not found ({ENV}=1" in done.stdout
    assert f"the extra is not installed ({ENV}=1" in done.stdout


def test_ci_sets_the_variable_before_the_tests():
    script = (TESTS.parent / ".ci" / "run").read_text()
    lines = [line.strip() for line in script.splitlines()]
    assert f"export {ENV}=1" in lines
    assert lines.index(f"export {ENV}=1") < lines.index("python -m pytest")
