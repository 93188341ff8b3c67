"""benchmarks/_provenance.py: what a result file records, and reading both formats."""

import doctest
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import _provenance  # noqa: E402  (benchmarks/ is a script folder, not a package)
from _provenance import (  # noqa: E402
    provenance,
    read_provenance,
    read_rows,
    write_result,
)

import vaeanomaly  # noqa: E402

KEYS = {
    "command",
    "argv",
    "vaeanomaly_version",
    "git_commit",
    "git_dirty",
    "git_changes",
    "date_utc",
    "python",
    "torch",
    "numpy",
    "torch_threads",
    "omp_num_threads",
    "machine",
    "cpu",
    "cores_usable",
    "cores_total",
}


def test_provenance_names_the_run():
    import numpy as np
    import torch

    facts = provenance(["benchmarks/adbench.py", "--set", "trim=None"])
    assert set(facts) == KEYS
    assert facts["command"].endswith("benchmarks/adbench.py --set trim=None")
    assert facts["vaeanomaly_version"] == vaeanomaly.__version__
    assert facts["torch"] == torch.__version__
    assert facts["numpy"] == np.__version__
    assert facts["torch_threads"] == torch.get_num_threads()
    assert facts["date_utc"].endswith("+00:00")
    assert facts["cores_usable"] >= 1
    assert facts["cpu"]


def test_command_defaults_to_sys_argv(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["benchmarks/missing.py", "--json", "a b.json"])
    assert provenance()["command"].endswith("missing.py --json 'a b.json'")


def _repo(path: Path) -> Path:
    def git(*args):
        subprocess.run(["git", "-C", str(path), *args], check=True, capture_output=True)

    git("init", "-q")
    (path / "tracked.txt").write_text("one\n")
    git("add", "tracked.txt")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "one")
    return path


def test_commit_and_dirty_flag(tmp_path, monkeypatch):
    repo = _repo(tmp_path)
    monkeypatch.setattr(_provenance, "ROOT", repo)
    head = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    clean = provenance([])
    assert (clean["git_commit"], clean["git_dirty"]) == (head, False)
    (repo / "tracked.txt").write_text("two\n")
    dirty = provenance([])
    assert (dirty["git_commit"], dirty["git_dirty"]) == (head, True)
    assert dirty["git_changes"] == [" M tracked.txt"]


def test_without_git_the_commit_is_unknown(tmp_path, monkeypatch):
    monkeypatch.setattr(_provenance, "ROOT", tmp_path)  # not a repository
    facts = provenance([])
    assert facts["git_commit"] is None
    assert facts["git_dirty"] is None
    monkeypatch.setenv("PATH", str(tmp_path))  # no git executable at all
    assert provenance([])["git_commit"] is None


def test_both_formats_read_back(tmp_path):
    import numpy as np

    rows = [{"dataset": "x", "auroc": np.float64(0.75), "seed": np.int64(0)}]
    new = tmp_path / "sub" / "new.json"
    doc = write_result(new, rows, argv=["bench.py"], seeds=[0], jobs=2)
    assert json.loads(new.read_text()) == doc
    assert read_rows(new) == [{"dataset": "x", "auroc": 0.75, "seed": 0}]
    facts = read_provenance(new)
    assert (facts["seeds"], facts["jobs"]) == ([0], 2)
    assert facts["command"].endswith("bench.py")
    old = tmp_path / "old.json"
    old.write_text(json.dumps([{"dataset": "x", "auroc": 0.75}]))
    assert read_rows(old) == [{"dataset": "x", "auroc": 0.75}]
    assert read_provenance(old) is None
    speed = tmp_path / "speed.json"  # speed.py's rows are a dict
    speed.write_text(json.dumps({"fit": [], "score": []}))
    assert read_rows(speed) == {"fit": [], "score": []}
    write_result(speed, {"fit": [1]})
    assert read_rows(speed) == {"fit": [1]}


def test_a_failed_write_leaves_the_old_file(tmp_path):
    path = tmp_path / "rows.json"
    write_result(path, [1])
    with pytest.raises(TypeError, match="not JSON serializable"):
        write_result(path, [object()])
    assert read_rows(path) == [1]
    assert os.listdir(tmp_path) == ["rows.json"]


def test_extra_facts_cannot_overwrite_the_provenance(tmp_path):
    with pytest.raises(ValueError, match=r"\['command'\] would overwrite"):
        write_result(tmp_path / "x.json", [], command="mine")
    assert not (tmp_path / "x.json").exists()


def test_quality_report_writes_provenance_and_reads_both_formats(tmp_path, capsys):
    import argparse

    import _evaluation

    def row(name, seed, detector, auroc):
        return {"dataset": name, "seed": seed, "detector": detector, "auroc": auroc}

    rows = [{**row(n, 0, "vae", 0.8), "ap": 0.5, "fit_s": 1.0} for n in "ab"]
    baselines = tmp_path / "baselines.json"  # the old bare format
    baselines.write_text(
        json.dumps([{**row(n, 0, "IF", 0.7), "ap": 0.4, "fit_s": 0.1} for n in "ab"])
    )
    reference = tmp_path / "reference.json"  # the new format
    write_result(reference, [{**r, "auroc": 0.75} for r in rows])
    args = argparse.Namespace(
        json=tmp_path / "out" / "rows.json",
        baselines=baselines,
        reference=[reference],  # --reference takes one or more files
        seeds=[0],
        set=["latent_dim=3"],
        jobs=1,
    )
    _evaluation.report(rows, ["a", "b"], args)
    printed = capsys.readouterr().out
    assert "| a | 0.800 | 0.700 |" in printed  # the baseline was read
    assert "AUROC: mean 0.800 vs 0.750 (+0.050); sets won 2" in printed
    assert read_rows(args.json) == rows
    facts = read_provenance(args.json)
    assert facts["parameters"] == {"latent_dim": 3}
    assert (facts["seeds"], facts["jobs"]) == ([0], 1)


def test_every_result_file_is_readable():
    files = sorted((ROOT / "benchmarks" / "results").glob("*.json"))
    assert files
    for path in files:
        rows = read_rows(path)
        assert isinstance(rows, list | dict), path.name
        assert rows, path.name


def test_docstring_examples():
    result = doctest.testmod(_provenance)
    assert (result.failed, result.attempted > 0) == (0, True)
