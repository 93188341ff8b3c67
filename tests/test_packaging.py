import subprocess
import sys
import zipfile
from pathlib import Path

import tomllib
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
