"""A toy-size run of each maintained harness in benchmarks/.

Each harness runs as a user runs it (a subprocess from the repository root),
on one small data set or table, one seed and two epochs, and writes its
``--json`` file, which must read back with its provenance. The harnesses that
need ``../shared/data`` are skipped, with the reason, where it is absent.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(BENCH))

from _provenance import read_provenance, read_rows  # noqa: E402

TWO_EPOCHS = ["--set", "max_epochs=2"]

#: harness -> (data folder it needs or None, arguments beside --json)
HARNESSES = {
    "adbench": (
        "adbench",
        ["--detectors", "vae", "IsolationForest", "--datasets", "14_glass"]
        + ["--seeds", "0", *TWO_EPOCHS],
    ),
    "adbench_embeddings": (
        "embeddings",
        ["--collection", "embeddings", "--detectors", "vae", "--datasets"]
        + ["bert_20news_3", "--seeds", "0", *TWO_EPOCHS],
    ),
    "categorical": (
        "categorical",
        ["--detectors", "vae", "AVF", "--datasets", "solarflare", "--seeds", "0"]
        + TWO_EPOCHS,
    ),
    "missing": (
        "adbench",
        ["--detectors", "mask", "--datasets", "14_glass", "--seeds", "0"],
    ),
    "thresholds": (
        "adbench",
        ["--datasets", "14_glass", "--no-pythresh", *TWO_EPOCHS],
    ),
    "skab": (
        "skab",
        ["--window", "5", "--sequence-set", "detector__max_epochs=2"],
    ),
    "skab_selffit": ("skab", ["--files", "0"]),  # `detect` takes no epochs
    "blame_injection": ("skab", ["--sequence-set", "detector__max_epochs=2"]),
    "speed": (
        None,
        ["--rows", "600", "--columns", "5", "--score-rows", "0"]
        + ["--memory-rows", "--no-pyod", "--step-rows", "64"],
    ),
    "cli_stream": (None, ["--rows", "20000", "--columns", "4"]),
    "dask_scale": (
        None,
        ["--rows", "20000", "--columns", "4", "--partitions", "2", "--workers", "1"],
    ),
}


def run(script: str, args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, str(BENCH / f"{script}.py"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


#: Harnesses whose smallest run fits 20,000 rows or 16 recordings (30-40 s each).
SLOW = {"cli_stream", "dask_scale", "blame_injection"}


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in HARNESSES],
)
def test_harness_runs_at_toy_size(name, tmp_path):
    data, args = HARNESSES[name]
    if data is not None and not (DATA / data).is_dir():
        pytest.skip(f"{DATA / data} is absent: the harness needs that data.")
    script = name.removesuffix("_embeddings")
    if name in ("cli_stream", "dask_scale"):
        args = [*args, "--workdir", str(tmp_path / "work")]
    out = tmp_path / f"{name}.json"
    run(script, [*args, "--json", str(out)], tmp_path)
    assert read_rows(out)
    assert read_provenance(out)["command"]


def test_compare_and_wide_summary_read_stored_files(tmp_path):
    results = BENCH / "results"
    run(
        "compare",
        [
            str(results / "adbench.json"),
            "--reference",
            str(results / "adbench_v0.3.json"),
        ],
        tmp_path,
    )
    printed = run(
        "wide_summary",
        [str(results / "adbench_embeddings.json"), "--before"]
        + [str(results / "adbench_embeddings_v0.4.json")],
        tmp_path,
    ).stdout
    assert "six 512-column tables" in printed


def test_no_harness_reaches_into_the_package():
    """Maintained harnesses use the public API: no private module or attribute."""
    private = []
    for path in sorted(BENCH.glob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"vaeanomaly\._[a-z]|from vaeanomaly import _", line):
                private.append(f"{path.name}:{number}: {line.strip()}")
    assert not private, private
