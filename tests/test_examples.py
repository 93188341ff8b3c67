"""Every script in examples/ runs, at toy size."""

import subprocess
import sys
from pathlib import Path

import pytest

# A fresh interpreter per script (2-13 s each, about 30 s in all).
pytestmark = pytest.mark.slow

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(script, tmp_path):
    args = [sys.executable, str(script)]
    if script.name != "make_machine_data.py":
        args.append("--quick")
    result = subprocess.run(
        args, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip()
