import ast
import os
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _require import importorskip, skip_or_fail

ROOT = Path(__file__).resolve().parents[1]


def pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_package_list_matches_folders_on_disk():
    config = pyproject()["tool"]["setuptools"]
    mapping = config["package-dir"]
    on_disk = {"vaeanomaly"} | {
        f"vaeanomaly.{p.parent.name}"
        for p in (ROOT / "vaeanomaly").glob("*/__init__.py")
    }
    on_disk |= {
        name
        for name, folder in mapping.items()
        if (ROOT / folder / "__init__.py").exists()
    }
    assert set(config["packages"]) == on_disk


def test_torch_requirement_is_open():
    deps = pyproject()["project"]["dependencies"]
    assert "torch>=2.1" in deps


def test_public_names_are_exported():
    import vaeanomaly

    for name in vaeanomaly.__all__:
        assert hasattr(vaeanomaly, name), name


def test_library_never_imports_click():
    for path in (ROOT / "vaeanomaly").glob("*.py"):
        if path.name == "__main__.py":
            continue  # the `python -m vaeanomaly` entry point hands over to the CLI
        assert "import click" not in path.read_text(), path.name


def test_thresholds_need_no_torch():
    # numpy and scikit-learn's estimator base only (see test_thresholds.py).
    text = (ROOT / "vaeanomaly" / "thresholds.py").read_text()
    assert "torch" not in text


def test_wheel_contains_cli_under_vaeanomaly(tmp_path):
    importorskip("setuptools")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        skip_or_fail(f"could not build a wheel here: {result.stderr[-300:]}")
    (wheel,) = tmp_path.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "vaeanomaly/cli/main.py" in names
    assert "vaeanomaly/templates/report.html.j2" in names  # package data
    assert not any(name.startswith("cli/") for name in names)
    assert any(name.endswith("entry_points.txt") for name in names)


def test_top_level_cli_is_not_importable_outside_the_repo(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", "import cli"],
        cwd=tmp_path,
        capture_output=True,
        check=False,
    )
    assert result.returncode != 0


def test_cli_help_does_not_import_torch():
    """`vaeanomaly --help` answers without loading torch, sklearn or pandas."""
    code = (
        "import sys; from click.testing import CliRunner; "
        "from vaeanomaly.cli.main import vaeanomaly; "
        "result = CliRunner().invoke(vaeanomaly, ['fit', '--help']); "
        "assert result.exit_code == 0, result.output; "
        "print(sorted(m for m in ('torch', 'sklearn', 'pandas') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_cli_choices_match_the_library():
    from vaeanomaly._names import LIKELIHOOD_NAMES, SCORE_METHOD_NAMES
    from vaeanomaly.likelihoods import HEADS
    from vaeanomaly.scoring import SCORE_METHODS

    assert sorted(HEADS) == list(LIKELIHOOD_NAMES)
    assert sorted(SCORE_METHODS) == list(SCORE_METHOD_NAMES)


# Standard-library modules newer than the oldest Python the package could claim,
# with the version that added them.
NEWER_STDLIB = {"tomllib": (3, 11), "zoneinfo": (3, 9), "graphlib": (3, 9)}


def _sources():
    for folder in ("vaeanomaly", "cli", "tests", "benchmarks", "examples"):
        yield from sorted((ROOT / folder).rglob("*.py"))


def _imported_top_names(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module.split(".")[0]


def _lowest_python():
    from packaging.specifiers import SpecifierSet

    spec = SpecifierSet(pyproject()["project"]["requires-python"])
    (lower,) = [s for s in spec if s.operator == ">="]
    return tuple(int(part) for part in lower.version.split(".")[:2]), spec


def test_requires_python_covers_what_the_code_imports():
    lowest, _ = _lowest_python()
    needed = {}
    for path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for name in _imported_top_names(tree):
            if name in NEWER_STDLIB:
                needed.setdefault(name, []).append(path.relative_to(ROOT).as_posix())
    too_new = {n: f for n, f in needed.items() if NEWER_STDLIB[n] > lowest}
    assert not too_new, f"requires-python allows {lowest}; these need more: {too_new}"
    assert "tomllib" in needed  # the scan sees the imports it is meant to


def test_sources_parse_as_the_oldest_python_allowed():
    # Syntax newer than requires-python's lower bound (a PEP 695 `type` alias,
    # say) fails here even when the running interpreter accepts it.
    lowest, _ = _lowest_python()
    for path in _sources():
        ast.parse(path.read_text(encoding="utf-8"), feature_version=lowest)


def test_ruff_targets_the_oldest_python_allowed_and_this_one_is_allowed():
    lowest, spec = _lowest_python()
    assert pyproject()["tool"]["ruff"]["target-version"] == "py{}{}".format(*lowest)
    assert spec.contains(".".join(map(str, sys.version_info[:3])))


def _build(hook: str, out: Path) -> Path:
    """Run a PEP 517 hook of setuptools on the repository, without isolation."""
    code = (
        "import sys; from setuptools import build_meta as b; "
        f"print(b.{hook}(sys.argv[1]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        skip_or_fail(f"could not run setuptools' {hook} here: {result.stderr[-300:]}")
    return out / result.stdout.strip().splitlines()[-1]


@pytest.mark.slow
def test_the_built_wheel_installs_and_fits_and_the_sdist_holds_the_sources(tmp_path):
    importorskip("setuptools")
    from vaeanomaly import __version__

    sdist = _build("build_sdist", tmp_path)
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for needed in (
        "pyproject.toml",
        "README.md",
        "vaeanomaly/estimator.py",
        "cli/main.py",
    ):
        assert needed in names
    wheel = _build("build_wheel", tmp_path)
    assert wheel.name.startswith(f"vaeanomaly-{__version__}-")

    # Install the wheel alone into a folder of its own, and run it from there
    # (its dependencies are this environment's): the console script, the
    # version, and a fit and save from the command line.
    target = tmp_path / "installed"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    script = target / "bin" / "vaeanomaly"
    where = subprocess.run(
        [sys.executable, "-c", "import vaeanomaly; print(vaeanomaly.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(target)
    version = subprocess.run(
        [sys.executable, str(script), "--version"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert version.stdout.strip() == f"vaeanomaly, version {__version__}"
    rng = np.random.default_rng(0)
    pd.DataFrame(rng.normal(size=(120, 3)), columns=["a", "b", "c"]).to_csv(
        tmp_path / "table.csv", index=False
    )
    fit = subprocess.run(
        [
            sys.executable,
            str(script),
            "fit",
            "table.csv",
            "-o",
            "table.vae",
            "--epochs",
            "3",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert fit.returncode == 0, fit.stderr[-1000:]
    assert (tmp_path / "table.vae").stat().st_size > 0
