import io
import json
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _require import skip_or_fail
from click.testing import CliRunner

from vaeanomaly.cli.main import vaeanomaly

TINY_ARGS = ["--epochs", "25", "--hidden-dims", "16", "--latent-dim", "2", "-q"]


@pytest.fixture
def runner():
    return CliRunner()


def _table_values(rng):
    X = rng.normal(size=(300, 3))
    X[:, 1] = X[:, 0] + 0.1 * X[:, 1]
    return X


@pytest.fixture(scope="module")
def table_file(tmp_path_factory):
    """The table, written once per module; tests get a copy (``table``)."""
    frame = pd.DataFrame(
        _table_values(np.random.default_rng(0)), columns=["temp", "pressure", "flow"]
    )
    frame.insert(0, "id", [f"r{i}" for i in range(300)])
    # Row 5 breaks the pressure-temp relation. At +-4 the 25-epoch model of
    # TINY_ARGS, with the Student-t head, scores it level with row 73 (about 3
    # SD out in every column); +-5 leaves no doubt which row was planted.
    frame.loc[5, ["temp", "pressure"]] = [5.0, -5.0]
    path = tmp_path_factory.mktemp("table") / "data.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def model_file(table_file):
    """The model of ``table_file``, fitted once per module (--seed 0: the same
    model a fit in each test would give); tests get a copy (``model``)."""
    path = table_file.with_name("model.vae")
    result = CliRunner().invoke(
        vaeanomaly, ["fit", str(table_file), "-o", str(path), *TINY_ARGS]
    )
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture
def table(tmp_path, rng, table_file):
    # Draw what the table is made of, so that a test's own draws from ``rng``
    # stay those it had when this fixture made the table.
    _table_values(rng)
    return shutil.copyfile(table_file, tmp_path / "data.csv")


@pytest.fixture
def model(table, model_file):
    # Beside the table, as a fit in the test would put it; a copy, so tests
    # may damage or replace it.
    return shutil.copyfile(model_file, table.with_name("model.vae"))


def read_stdout(result):
    return pd.read_csv(io.StringIO(result.stdout))


def test_fit_then_score(runner, table, model):
    result = runner.invoke(vaeanomaly, ["score", str(table), "-m", str(model)])
    assert result.exit_code == 0, result.stderr
    out = read_stdout(result)
    assert list(out.columns) == ["id", "score"]
    assert len(out) == 300
    assert out["score"].idxmin() == 5
    assert "Scored 300 rows" in result.stderr


def test_detect_without_model_fits_first(runner, table):
    result = runner.invoke(
        vaeanomaly, ["detect", str(table), "--contamination", "0.01"]
    )
    assert result.exit_code == 0, result.stderr
    assert "No --model given: fitting a model" in result.stderr
    out = read_stdout(result)
    assert set(out["is_anomaly"]) == {0, 1}
    assert out["is_anomaly"].sum() == 3
    assert out.loc[5, "is_anomaly"] == 1


def test_detect_fail_on_anomaly_exit_code(runner, table, model):
    result = runner.invoke(
        vaeanomaly, ["detect", str(table), "-m", str(model), "--fail-on-anomaly", "-q"]
    )
    assert result.exit_code == 1
    assert read_stdout(result)["is_anomaly"].sum() >= 1


def test_detect_threshold_on_file_scores_two_passes(runner, table, model):
    result = runner.invoke(
        vaeanomaly,
        [
            "detect",
            str(table),
            "-m",
            str(model),
            "--contamination",
            "0.05",
            "--chunksize",
            "70",
            "-q",
        ],
    )
    assert result.exit_code == 0, result.stderr
    out = read_stdout(result)
    assert out["is_anomaly"].sum() == pytest.approx(15, abs=1)
    assert len(out) == 300


def test_detect_with_another_score_method_needs_a_threshold_fitted_here(
    runner, table, model
):
    # The model's threshold was fitted on its own method's scores (elbo).
    args = ["detect", str(table), "-m", str(model), "--method", "rarest_value", "-q"]
    refused = runner.invoke(vaeanomaly, args)
    assert refused.exit_code == 2, refused.stderr
    assert "--method rarest_value differs from the model's score method (elbo)" in (
        refused.stderr
    )
    assert "--threshold robust_z" in refused.stderr
    result = runner.invoke(vaeanomaly, [*args, "--contamination", "0.05"])
    assert result.exit_code == 0, result.stderr
    out = read_stdout(result)
    assert out["is_anomaly"].sum() == pytest.approx(15, abs=1)
    # Scores alone need no threshold.
    scored = runner.invoke(vaeanomaly, ["score", *args[1:]])
    assert scored.exit_code == 0, scored.stderr


def test_chunked_scores_equal_whole_file_scores(runner, table, model):
    whole = read_stdout(
        runner.invoke(vaeanomaly, ["score", str(table), "-m", str(model), "-q"])
    )
    chunked = read_stdout(
        runner.invoke(
            vaeanomaly,
            ["score", str(table), "-m", str(model), "-q", "--chunksize", "7"],
        )
    )
    pd.testing.assert_frame_equal(whole, chunked)


def test_score_from_stdin_with_semicolons(runner, table, model):
    text = pd.read_csv(table).to_csv(sep=";", index=False)
    result = runner.invoke(
        vaeanomaly, ["score", "-", "-m", str(model), "-q"], input=text
    )
    assert result.exit_code == 0, result.stderr
    assert len(read_stdout(result)) == 300


def test_features_and_index_col(runner, table, model):
    result = runner.invoke(
        vaeanomaly,
        [
            "score",
            str(table),
            "-m",
            str(model),
            "--features",
            "--index-col",
            "id",
            "-q",
        ],
    )
    out = read_stdout(result)
    assert list(out.columns) == [
        "id",
        "score",
        "contrib_temp",
        "contrib_pressure",
        "contrib_flow",
    ]
    assert (
        out.loc[5, ["contrib_temp", "contrib_pressure"]].min()
        > out["contrib_flow"].median()
    )


def test_categories_and_gaps(runner, tmp_path, rng):
    n = 300
    mode = rng.choice(["idle", "run"], size=n)
    frame = pd.DataFrame(
        {
            "id": [f"r{i}" for i in range(n)],
            "mode": mode,
            "line": rng.choice(["07", "08"], size=n),  # codes that look like numbers
            "reading": np.where(mode == "run", 2.0, 0.0) + 0.2 * rng.normal(size=n),
        }
    )
    frame.loc[3, "reading"] = np.nan
    frame.loc[4, "mode"] = None
    train = tmp_path / "plant.csv"
    frame.to_csv(train, index=False)
    model = tmp_path / "plant.vae"
    result = runner.invoke(
        vaeanomaly,
        ["fit", str(train), "-o", str(model), "--categorical", "line", *TINY_ARGS[:-1]],
    )
    assert result.exit_code == 0, result.stderr
    assert "too many distinct values to be categories): id." in result.stderr
    info = runner.invoke(vaeanomaly, ["info", str(model)])
    assert (
        "mode (categorical, 2 levels), line (categorical, 2 levels), "
        "reading (student_t_column)"
    ) in info.stdout
    new = frame.head(6).copy()
    new.loc[0, "mode"] = "turbo"  # a level never seen in training
    new.loc[1, "line"] = "09"
    new_path = tmp_path / "new.csv"
    new.to_csv(new_path, index=False)
    result = runner.invoke(
        vaeanomaly,
        ["score", str(new_path), "-m", str(model), "--features", "--chunksize", "2"],
    )
    assert result.exit_code == 0, result.stderr
    out = read_stdout(result)
    assert list(out.columns) == [
        "id",
        "score",
        "contrib_mode",
        "contrib_line",
        "contrib_reading",
    ]
    assert np.isfinite(out["score"]).all()
    assert out.loc[0, "contrib_mode"] == pytest.approx(6.9078, abs=1e-3)
    assert out.loc[1, "contrib_line"] == pytest.approx(6.9078, abs=1e-3)
    # "07" is read as the level "07" in every chunk, not as the number 7.
    assert out.loc[2:, "contrib_line"].max() < 3
    assert np.isnan(out.loc[3, "contrib_reading"])
    assert np.isnan(out.loc[4, "contrib_mode"])


def test_output_file_and_force(runner, table, model, tmp_path):
    target = tmp_path / "scores.csv"
    target.write_text("precious\n")
    result = runner.invoke(
        vaeanomaly, ["score", str(table), "-m", str(model), "-o", str(target), "-q"]
    )
    assert result.exit_code == 2
    assert "already exists. Pass --force" in result.stderr
    assert target.read_text() == "precious\n"
    result = runner.invoke(
        vaeanomaly,
        ["score", str(table), "-m", str(model), "-o", str(target), "-q", "--force"],
    )
    assert result.exit_code == 0
    assert len(pd.read_csv(target)) == 300


def test_failed_run_leaves_no_partial_output(runner, table, model, tmp_path):
    frame = pd.read_csv(table).astype({"flow": object})
    frame.loc[250, "flow"] = "oops"
    bad = tmp_path / "bad.csv"
    frame.to_csv(bad, index=False)
    target = tmp_path / "out.csv"
    result = runner.invoke(
        vaeanomaly,
        ["score", str(bad), "-m", str(model), "-o", str(target), "--chunksize", "100"],
    )
    assert result.exit_code == 2
    assert "'oops' on line 252" in result.stderr
    assert not target.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["bad.csv", "data.csv", "model.vae"]
    )


def test_evaluate_and_info(runner, table, model, tmp_path):
    frame = pd.read_csv(table)
    frame["label"] = (np.arange(300) == 5).astype(int)
    labelled = tmp_path / "labelled.csv"
    frame.to_csv(labelled, index=False)
    result = runner.invoke(
        vaeanomaly,
        ["evaluate", str(labelled), "-m", str(model), "--label-col", "label", "--json"],
    )
    assert result.exit_code == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert metrics["auroc"] > 0.95
    assert metrics["rows"] == 300
    result = runner.invoke(vaeanomaly, ["info", str(model)])
    assert result.exit_code == 0
    assert (
        "temp (student_t_column), pressure (student_t_column), flow (student_t_column)"
        in result.stdout
    )
    assert "300 rows x 3 columns" in result.stdout
    meta = json.loads(runner.invoke(vaeanomaly, ["info", str(model), "--json"]).stdout)
    assert meta["columns"] == ["temp", "pressure", "flow"]
    assert meta["likelihoods"] == ["student_t_column"] * 3


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


ERROR_CASES = [
    # (description, files to write, argv builder, message in stderr)
    (
        "empty file",
        {"e.csv": ""},
        lambda p, m: ["score", p["e.csv"], "-m", m],
        "is empty",
    ),
    (
        "header only",
        {"h.csv": "temp,pressure,flow\n"},
        lambda p, m: ["score", p["h.csv"], "-m", m],
        "has a header but no rows",
    ),
    (
        "missing column",
        {"c.csv": "temp,pressure,speed\n1,2,3\n"},
        lambda p, m: ["score", p["c.csv"], "-m", m],
        "Column(s) ['flow'] were used in training but are missing",
    ),
    (
        "extra named",
        {"c.csv": "temp,pressure,speed\n1,2,3\n"},
        lambda p, m: ["score", p["c.csv"], "-m", m],
        "not in the model: ['speed']",
    ),
    (
        "text in numbers",
        {"t.csv": "temp,pressure,flow\n1,2,abc\n"},
        lambda p, m: ["score", p["t.csv"], "-m", m],
        "Column 'flow'",
    ),
    (
        "missing value refused",
        {"n.csv": "a,b\n1,2\n,3\n4,5\n"},
        lambda p, m: [
            "fit",
            p["n.csv"],
            "-o",
            p["n.csv"] + ".vae",
            "--missing",
            "error",
        ],
        "Column 'a' of",
    ),
    (
        "missing category refused",
        {"n.csv": "a,b\n1,x\n2,\n4,y\n"},
        lambda p, m: [
            "fit",
            p["n.csv"],
            "-o",
            p["n.csv"] + ".vae",
            "--missing",
            "error",
            "--categorical",
            "b",
        ],
        "Column 'b' of",
    ),
    (
        "unknown --categorical",
        {"d.csv": "a,b\n1,2\n3,4\n"},
        lambda p, m: [
            "fit",
            p["d.csv"],
            "-o",
            p["d.csv"] + ".vae",
            "--categorical",
            "c",
        ],
        "Column(s) ['c'] given with --categorical",
    ),
    (
        "categories in windows",
        {"d.csv": "a,b\n1,x\n3,y\n4,x\n"},
        lambda p, m: [
            "fit",
            p["d.csv"],
            "-o",
            p["d.csv"] + ".vae",
            "--categorical",
            "b",
            "--window",
            "2",
        ],
        "--window takes numeric sensor channels only",
    ),
    (
        "infinity",
        {"i.csv": "temp,pressure,flow\n1,2,inf\n"},
        lambda p, m: ["score", p["i.csv"], "-m", m],
        "Replace infinite values",
    ),
    (
        "corrupt model",
        {"bad.vae": "not a model"},
        lambda p, m: ["score", p["bad.vae"], "-m", p["bad.vae"]],
        "is not a vaeanomaly model file: it is a text file",
    ),
    (
        "no numeric columns",
        {"s.csv": "a,b\nx,y\nz,w\n"},
        lambda p, m: ["fit", p["s.csv"], "-o", p["s.csv"] + ".vae"],
        "has no numeric columns",
    ),
    (
        "unknown --columns",
        {"d.csv": "a,b\n1,2\n3,4\n"},
        lambda p, m: [
            "fit",
            p["d.csv"],
            "-o",
            p["d.csv"] + ".vae",
            "--columns",
            "a,zz",
        ],
        "Column(s) ['zz'] given with --columns",
    ),
    (
        "one row",
        {"o.csv": "a,b\n1,2\n"},
        lambda p, m: ["fit", p["o.csv"], "-o", p["o.csv"] + ".vae"],
        "at least 2 samples",
    ),
    (
        "model exists",
        {"d.csv": "a,b\n1,2\n3,4\n", "x.vae": "x"},
        lambda p, m: ["fit", p["d.csv"], "-o", p["x.vae"]],
        "already exists. Pass --force",
    ),
    (
        "bad hidden dims",
        {"d.csv": "a,b\n1,2\n3,4\n"},
        lambda p, m: [
            "fit",
            p["d.csv"],
            "-o",
            p["d.csv"] + ".vae",
            "--hidden-dims",
            "8,x",
        ],
        "expected positive integers",
    ),
    (
        "label missing",
        {"d.csv": "temp,pressure,flow\n1,2,3\n"},
        lambda p, m: ["evaluate", p["d.csv"], "-m", m, "--label-col", "y"],
        "Label column 'y' is not in",
    ),
    (
        "no such file",
        {},
        lambda p, m: ["score", "/nonexistent/x.csv", "-m", m],
        "does not exist",
    ),
    (
        "conflicting threshold",
        {"d.csv": "temp,pressure,flow\n1,2,3\n"},
        lambda p, m: [
            "detect",
            p["d.csv"],
            "-m",
            m,
            "--threshold",
            "iqr",
            "--contamination",
            "0.1",
        ],
        "--contamination sets the threshold itself",
    ),
]


@pytest.mark.parametrize(
    ("description", "files", "argv", "message"),
    ERROR_CASES,
    ids=[c[0] for c in ERROR_CASES],
)
def test_errors_exit_2_with_one_line(
    runner, model, tmp_path, description, files, argv, message
):
    paths = {name: _write(tmp_path, name, text) for name, text in files.items()}
    result = runner.invoke(vaeanomaly, argv(paths, str(model)))
    assert result.exit_code == 2, (description, result.output)
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    "command", [[], ["fit"], ["score"], ["detect"], ["evaluate"], ["info"]]
)
def test_help(runner, command):
    result = runner.invoke(vaeanomaly, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.stdout
    assert "\\b" not in result.stdout  # click's no-rewrap marker must not leak
    short = runner.invoke(vaeanomaly, [*command, "-h"])
    assert short.stdout == result.stdout


def test_version(runner):
    from vaeanomaly import __version__

    result = runner.invoke(vaeanomaly, ["--version"])
    assert __version__ in result.stdout


@pytest.mark.slow  # about 8 s: three fresh interpreters load torch
def test_console_script_in_subprocess(table, tmp_path):
    exe = shutil.which("vaeanomaly")
    if exe is None:
        skip_or_fail(
            "the vaeanomaly console script is not installed (pip install -e .)"
        )
    model = tmp_path / "m.vae"
    fit = subprocess.run(
        [exe, "fit", str(table), "-o", str(model), *TINY_ARGS],
        capture_output=True,
        text=True,
        check=False,
    )
    assert fit.returncode == 0, fit.stderr
    done = subprocess.run(
        [exe, "detect", str(table), "-m", str(model)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "id,score,is_anomaly"
    bad = subprocess.run(
        [exe, "info", str(table)], capture_output=True, text=True, check=False
    )
    assert bad.returncode == 2
    assert bad.stderr.startswith("Error: ")
    module = subprocess.run(
        [sys.executable, "-m", "vaeanomaly", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert module.returncode == 0
    assert "detect" in module.stdout


@pytest.fixture
def recording(tmp_path, rng):
    t = np.arange(500)
    frame = pd.DataFrame(
        {
            "time": pd.date_range("2026-02-01", periods=500, freq="s").astype(str),
            "pump": np.sin(t / 12) + 0.05 * rng.normal(size=500),
            "valve": np.cos(t / 12) + 0.05 * rng.normal(size=500),
        }
    )
    frame.loc[450:455, "valve"] += 2.0
    frame.loc[100, "pump"] = np.nan  # a one-reading gap, forward-filled
    path = tmp_path / "rec.csv"
    frame.to_csv(path, index=False, sep=";")
    return path


def test_window_fit_score_detect(runner, recording, tmp_path):
    model = tmp_path / "rec.vae"
    fit = runner.invoke(
        vaeanomaly,
        [
            "fit",
            str(recording),
            "-o",
            str(model),
            "--time-col",
            "time",
            "--window",
            "4",
            *TINY_ARGS,
        ],
    )
    assert fit.exit_code == 0, fit.stderr
    info = runner.invoke(vaeanomaly, ["info", str(model)])
    assert "windows of 4 readings" in info.stdout
    assert "prediction from the 2 readings before each" in info.stdout
    assert "median of its last 1000 readings" in info.stdout
    # --likelihood auto gives windows the Gaussian head (WINDOW_LIKELIHOOD).
    assert "model inputs: gaussian_column)" in info.stdout
    result = runner.invoke(
        vaeanomaly, ["detect", str(recording), "-m", str(model), "--features", "-q"]
    )
    assert result.exit_code == 0, result.stderr
    out = read_stdout(result)
    assert list(out.columns) == [
        "time",
        "score",
        "is_anomaly",
        "contrib_pump",
        "contrib_valve",
    ]
    assert len(out) == 500  # the first timestamps are scored too
    assert out["score"].idxmin() in range(450, 460)
    assert (
        out.loc[450:455, "contrib_valve"].mean()
        > out.loc[450:455, "contrib_pump"].mean()
    )
    wrong = runner.invoke(
        vaeanomaly, ["score", str(recording), "-m", str(model), "--window", "3"]
    )
    assert wrong.exit_code == 2
    assert "does not match the model" in wrong.stderr


def test_time_order_is_checked(runner, recording, tmp_path):
    frame = pd.read_csv(recording, sep=";")
    shuffled = tmp_path / "shuffled.csv"
    frame.iloc[::-1].to_csv(shuffled, index=False)
    result = runner.invoke(
        vaeanomaly, ["detect", str(shuffled), "--time-col", "time", "--window", "3"]
    )
    assert result.exit_code == 2
    assert "not in time order" in result.stderr


# --- never lose a user's data ------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "argv"),
    [
        ("is_anomaly", ["detect", "-m", "MODEL"]),
        ("is_anomaly", ["detect", "--exclude", "is_anomaly"]),
        ("score", ["score", "-m", "MODEL"]),
        ("contrib_temp", ["score", "-m", "MODEL", "--features"]),
    ],
)
def test_output_columns_never_replace_input_columns(
    runner, table, model, tmp_path, extra, argv
):
    frame = pd.read_csv(table)
    frame[extra] = (np.arange(300) % 2).astype(int)
    path = tmp_path / "labelled.csv"
    frame.to_csv(path, index=False)
    argv = [str(model) if a == "MODEL" else a for a in argv]
    result = runner.invoke(vaeanomaly, [argv[0], str(path), *argv[1:]])
    assert result.exit_code == 2, result.output
    assert f"'{extra}'" in result.stderr
    assert "Rename" in result.stderr
    assert "Trained on" not in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    "case", ["exists", "no folder", "folder", "fit no folder", "fit exists"]
)
def test_output_paths_are_checked_before_the_fit(runner, table, tmp_path, case):
    existing = tmp_path / "scores.csv"
    existing.write_text("precious\n")
    target = {
        "exists": existing,
        "no folder": tmp_path / "nope" / "out.csv",
        "folder": tmp_path,
        "fit no folder": tmp_path / "nope" / "m.vae",
        "fit exists": existing,
    }[case]
    command = "fit" if case.startswith("fit") else "detect"
    # No -q: the fit would announce itself on stderr.
    epochs = ["--epochs", "2"] if command == "fit" else []
    result = runner.invoke(
        vaeanomaly, [command, str(table), "-o", str(target), *epochs]
    )
    assert result.exit_code == 2, result.output
    assert f"'{target}'" in result.stderr
    assert ".tmp" not in result.stderr
    assert "fitting" not in result.stderr
    assert "Trained" not in result.stderr
    assert existing.read_text() == "precious\n"


def test_output_files_honour_umask_and_keep_mode(runner, table, model, tmp_path):
    import os
    import stat

    old = os.umask(0o022)
    try:
        target = tmp_path / "scores.csv"
        argv = ["score", str(table), "-m", str(model), "-o", str(target), "-q"]
        assert runner.invoke(vaeanomaly, argv).exit_code == 0
        assert stat.S_IMODE(target.stat().st_mode) == 0o644
        os.chmod(target, 0o664)
        assert runner.invoke(vaeanomaly, [*argv, "--force"]).exit_code == 0
        assert stat.S_IMODE(target.stat().st_mode) == 0o664
        model_out = tmp_path / "again.vae"
        fit = ["fit", str(table), "-o", str(model_out), "--epochs", "2", "-q"]
        assert runner.invoke(vaeanomaly, fit).exit_code == 0
        assert stat.S_IMODE(model_out.stat().st_mode) == 0o644
    finally:
        os.umask(old)


def _edit_model(path, dest, edit):
    import torch

    payload = torch.load(path, weights_only=True)
    meta = json.loads(payload["metadata"])
    edit(meta)
    payload["metadata"] = json.dumps(meta)
    torch.save(payload, dest)
    return dest


def _state(meta):
    return meta["model"]["state"]["__dict__"]


def _nan_offset(meta):
    _state(meta)["offset_"] = float("nan")


def _zero_scale(meta):
    _state(meta)["schema_"]["__dict__"]["scale_"]["__array__"][1] = 0.0


def _no_history(meta):
    del _state(meta)["history_"]


def _bad_best_epoch(meta):
    _state(meta)["best_epoch_"] = 999


def _short_likelihoods(meta):
    _state(meta)["schema_"]["__dict__"]["heads_"] = ["gaussian_column"]


@pytest.mark.parametrize(
    "edit", [_nan_offset, _zero_scale, _no_history, _bad_best_epoch, _short_likelihoods]
)
@pytest.mark.parametrize("command", ["detect", "info"])
def test_damaged_model_metadata_is_refused(
    runner, table, model, tmp_path, edit, command
):
    bad = _edit_model(model, tmp_path / "bad.vae", edit)
    argv = (
        [command, str(bad)]
        if command == "info"
        else [command, str(table), "-m", str(bad)]
    )
    result = runner.invoke(vaeanomaly, argv)
    assert result.exit_code == 2, (result.output, result.exception)
    assert "bad.vae" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""


def test_internal_errors_exit_3_with_a_pointer_to_debug(
    runner, table, model, monkeypatch
):
    import vaeanomaly.cli._scoring as workflow

    def broken(*args, **kwargs):
        raise ValueError("an internal bug")

    monkeypatch.setattr(workflow, "output_frame", broken)
    argv = ["score", str(table), "-m", str(model)]
    result = runner.invoke(vaeanomaly, argv)
    assert result.exit_code == 3, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "--debug" in lines[0]
    assert "an internal bug" in lines[0]
    debug = runner.invoke(vaeanomaly, ["--debug", *argv])
    assert isinstance(debug.exception, ValueError)


def test_ctrl_c_exits_130(runner, table, model, monkeypatch):
    import vaeanomaly.cli._scoring as workflow

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(workflow, "output_frame", interrupted)
    result = runner.invoke(vaeanomaly, ["score", str(table), "-m", str(model)])
    assert result.exit_code == 130
    assert "Interrupted" in result.stderr


def test_device_is_a_choice(runner, table):
    result = runner.invoke(vaeanomaly, ["detect", str(table), "--device", "tpu"])
    assert result.exit_code == 2
    assert "'tpu' is not one of 'auto', 'cpu', 'cuda'" in result.stderr


@pytest.mark.parametrize("option", ["--columns", "--exclude", "--categorical"])
def test_column_choices_with_a_model_are_refused(runner, table, model, option):
    result = runner.invoke(
        vaeanomaly, ["score", str(table), "-m", str(model), option, "temp"]
    )
    assert result.exit_code == 2
    assert f"{option} applies when fitting" in result.stderr


def test_fit_output_to_dash_is_refused(runner, table, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(vaeanomaly, ["fit", str(table), "-o", "-", "--epochs", "2"])
    assert result.exit_code == 2
    assert "model file" in result.stderr
    assert not (tmp_path / "-").exists()


@pytest.mark.parametrize("command", ["score -m", "detect", "evaluate -m"])
def test_rows_with_no_value_are_skipped_and_counted(
    runner, table, model, tmp_path, command
):
    frame = pd.read_csv(table)
    frame["label"] = (np.arange(300) == 5).astype(int)
    frame.loc[[150, 151, 290], ["temp", "pressure", "flow"]] = np.nan
    path = tmp_path / "gaps.csv"
    frame.to_csv(path, index=False)
    name, *rest = command.split()
    argv = [name, str(path), *(["-m", str(model)] if rest else [])]
    if name == "evaluate":
        argv += ["--label-col", "label", "--json"]
    else:
        argv += ["--chunksize", "100", "--exclude" if not rest else "--index-col"]
        argv += ["label" if not rest else "id"]
    result = runner.invoke(vaeanomaly, argv)
    assert result.exit_code == 0, result.output
    assert (
        "skipped 3 row(s) of '" + str(path) + "' with no value in any feature "
        "column (line 152, 153, 292; line 1 is the header)."
    ) in result.stderr
    if name == "evaluate":
        assert json.loads(result.stdout)["rows"] == 297
    else:
        out = read_stdout(result)
        assert len(out) == 297
        assert "r150" not in set(out["id"])
        assert out.loc[5, "id"] == "r5"


@pytest.mark.parametrize(
    "dates",
    [
        lambda days: days.strftime("%Y-%m-%d"),
        lambda days: days.strftime("%d/%m/%Y %H:%M"),
        lambda days: days.strftime("%H:%M:%S"),
    ],
)
def test_date_columns_are_never_categories(runner, tmp_path, rng, dates):
    days = pd.date_range("2026-01-01", periods=20, freq="D").repeat(30)
    frame = pd.DataFrame(
        {
            "day": dates(days),
            "mode": rng.choice(["idle", "run"], size=600),
            "reading": rng.normal(size=600),
        }
    )
    path = tmp_path / "days.csv"
    frame.to_csv(path, index=False)
    model = tmp_path / "days.vae"
    result = runner.invoke(
        vaeanomaly, ["fit", str(path), "-o", str(model), *TINY_ARGS[:-1]]
    )
    assert result.exit_code == 0, result.output
    assert "day (dates or times)" in result.stderr
    assert "; as categories: mode)" in result.stderr
    meta = json.loads(runner.invoke(vaeanomaly, ["info", str(model), "--json"]).stdout)
    assert meta["columns"] == ["mode", "reading"]


def test_wide_tables_are_summarised_and_warn_nothing(runner, tmp_path, rng):
    import warnings

    frame = pd.DataFrame(
        rng.normal(size=(120, 150)), columns=[f"sensor_{j}" for j in range(150)]
    )
    path = tmp_path / "wide.csv"
    frame.to_csv(path, index=False)
    model = tmp_path / "wide.vae"
    fit = runner.invoke(
        vaeanomaly, ["fit", str(path), "-o", str(model), "--epochs", "2"]
    )
    assert fit.exit_code == 0, fit.output
    trained = next(x for x in fit.stderr.splitlines() if x.startswith("Trained on"))
    assert len(trained) < 300
    assert "and 142 more" in trained
    info = runner.invoke(vaeanomaly, ["info", str(model)])
    assert max(map(len, info.stdout.splitlines())) < 300
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.PerformanceWarning)
        result = runner.invoke(
            vaeanomaly, ["score", str(path), "-m", str(model), "--features", "-q"]
        )
    assert result.exit_code == 0, result.output
    assert read_stdout(result).shape == (120, 152)


def test_detect_says_which_rows_and_why(runner, table, model):
    result = runner.invoke(
        vaeanomaly, ["detect", str(table), "-m", str(model), "--chunksize", "70"]
    )
    assert result.exit_code == 0, result.output
    out = read_stdout(result)
    flagged = int(out["is_anomaly"].sum())
    assert f"{flagged:,} flagged as anomalies" in result.stderr
    lines = result.stderr.splitlines()
    start = lines.index(next(x for x in lines if x.startswith("Most anomalous")))
    first = lines[start + 1]
    assert first.lstrip().startswith("data row 5 ")
    assert "temp" in first
    assert "pressure" in first
    assert "flow" not in first.split("top columns")[1].split(",")[0]
    assert "r5" not in result.stdout.splitlines()[0]  # nothing added to the CSV
    with_id = runner.invoke(
        vaeanomaly, ["detect", str(table), "-m", str(model), "--index-col", "id"]
    )
    assert any(x.lstrip().startswith("id r5 ") for x in with_id.stderr.splitlines())
    quiet = runner.invoke(vaeanomaly, ["detect", str(table), "-m", str(model), "-q"])
    assert quiet.stderr == ""


def test_detect_on_recordings_names_the_periods(runner, recording, tmp_path):
    model = tmp_path / "rec.vae"
    argv = ["--time-col", "time", "--window", "4"]
    fit = runner.invoke(
        vaeanomaly, ["fit", str(recording), "-o", str(model), *argv, *TINY_ARGS]
    )
    assert fit.exit_code == 0, fit.output
    result = runner.invoke(
        vaeanomaly,
        ["detect", str(recording), "-m", str(model), "--time-col", "time"],
    )
    assert result.exit_code == 0, result.output
    assert "flagged period(s)" in result.stderr
    line = next(x for x in result.stderr.splitlines() if "2026-02-01 00:07:3" in x)
    assert "top channels: valve" in line


def test_training_bar_ends_at_100_percent_with_epoch_and_elbo(
    runner, table, tmp_path, monkeypatch
):
    import click

    import vaeanomaly.cli._fitting as workflow

    bars = []

    def recording_bar(length, label, quiet):
        bar = click.progressbar(length=length, label=label, file=io.StringIO())
        bars.append(bar)
        return bar

    monkeypatch.setattr(workflow, "progress_bar", recording_bar)
    from vaeanomaly import VAEAnomalyDetector

    def stops_early(**params):  # no minimum number of steps: patience decides
        return VAEAnomalyDetector(min_steps=0, patience=2, **params)

    monkeypatch.setattr(workflow, "VAEAnomalyDetector", stops_early)
    model = tmp_path / "m.vae"
    argv = ["fit", str(table), "-o", str(model), *TINY_ARGS]
    result = runner.invoke(vaeanomaly, [*argv, "--epochs", "200"])
    assert result.exit_code == 0, result.output
    meta = json.loads(runner.invoke(vaeanomaly, ["info", str(model), "--json"]).stdout)
    assert meta["n_iter"] < 200
    (bar,) = bars
    assert bar.pos == bar.length
    assert "epoch" in bar.label
    assert "validation ELBO" in bar.label


def test_features_agree_with_score_features(runner, table, model):
    from vaeanomaly.io import load_model

    result = runner.invoke(
        vaeanomaly, ["score", str(table), "-m", str(model), "--features", "-q"]
    )
    out = read_stdout(result)
    contrib = out.filter(like="contrib_").to_numpy()
    api = load_model(model).score_features(
        pd.read_csv(table)[["temp", "pressure", "flow"]]
    )
    np.testing.assert_allclose(contrib, api.to_numpy(), rtol=1e-6)
    # Contributions sum to minus the score, up to the KL term (>= 0).
    gap = -out["score"].to_numpy() - contrib.sum(axis=1)
    assert gap.min() >= -1e-6


def test_the_guide_documents_the_command_line():
    from pathlib import Path

    guide = Path(__file__).resolve().parents[1] / "docs" / "guide"
    section = (guide / "command_line.md").read_text()
    for words in [
        "contrib_<column>",
        "is_anomaly",
        "`row`",
        "Exit status",
        "| 3 |",
        "| 130 |",
        "Most anomalous rows",
        "sum to minus the score up to the KL term",
    ]:
        assert words in section, words
    flowing = " ".join(section.split())  # free of the README's line breaks
    assert "line 1 is the header, so the first data row is line 2" in flowing
    assert (
        "sum to minus the score up to the KL term" in (guide / "tables.md").read_text()
    )


# --- messages that say what to do -------------------------------------------


def test_time_col_across_a_dst_change(runner, tmp_path, rng):
    stamps = pd.date_range(
        "2026-03-29 00:00", periods=240, freq="min", tz="Europe/Berlin"
    )
    frame = pd.DataFrame(
        {
            "time": [t.isoformat() for t in stamps],
            "pump": rng.normal(size=240),
        }
    )
    assert frame["time"].str[-6:].nunique() == 2  # +01:00, then +02:00
    path = tmp_path / "dst.csv"
    frame.to_csv(path, index=False)
    result = runner.invoke(vaeanomaly, ["score", str(path), "--time-col", "time", "-q"])
    assert result.exit_code == 0, result.output
    assert list(read_stdout(result)["time"]) == list(frame["time"])


@pytest.mark.parametrize("kind", ["csv", "pickle", "torch objects"])
def test_wrong_model_files_give_no_torch_advice(runner, table, tmp_path, kind):
    import pickle

    import torch

    path = table
    if kind == "pickle":
        path = tmp_path / "p.vae"
        path.write_bytes(pickle.dumps({"a": 1}))
    elif kind == "torch objects":
        path = tmp_path / "t.vae"
        torch.save({"module": torch.nn.Linear(2, 2)}, path)
    result = runner.invoke(vaeanomaly, ["score", str(table), "-m", str(path)])
    assert result.exit_code == 2
    assert "weights_only" not in result.stderr
    assert "not a vaeanomaly model file" in result.stderr
    assert "vaeanomaly fit" in result.stderr


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig"])
def test_files_with_a_byte_order_mark_are_read(
    runner, table, model, tmp_path, encoding
):
    path = tmp_path / "bom.csv"
    path.write_text(table.read_text(), encoding=encoding)
    result = runner.invoke(vaeanomaly, ["score", str(path), "-m", str(model), "-q"])
    assert result.exit_code == 0, result.output
    assert list(read_stdout(result).columns) == ["id", "score"]


def test_encoding_option(runner, table, model, tmp_path):
    path = tmp_path / "latin.csv"
    text = table.read_text().replace("r1,", "caf\u00e9,", 1)
    path.write_bytes(text.encode("latin-1"))
    result = runner.invoke(
        vaeanomaly,
        ["score", str(path), "-m", str(model), "-q", "--encoding", "latin-1"],
    )
    assert result.exit_code == 0, result.output
    assert "caf\u00e9" in result.stdout
    bad = runner.invoke(vaeanomaly, ["score", str(path), "-m", str(model), "-q"])
    assert bad.exit_code == 2
    assert "--encoding" in bad.stderr


def test_decimal_commas_and_thousands(runner, table, model, tmp_path):
    frame = pd.read_csv(table)
    text = frame.to_csv(sep=";", index=False, decimal=",")
    path = tmp_path / "comma.csv"
    path.write_text(text)
    result = runner.invoke(
        vaeanomaly, ["score", str(path), "-m", str(model), "-q", "--decimal", ","]
    )
    assert result.exit_code == 0, result.output
    without = runner.invoke(vaeanomaly, ["score", str(path), "-m", str(model)])
    assert without.exit_code == 2
    assert "--decimal ','" in without.stderr
    assert "--categorical" not in without.stderr
    big = pd.DataFrame(
        {"load": [f"{x:,.1f}" for x in 1000 + 500 * np.arange(40.0)], "t": 1.0}
    )
    wide = tmp_path / "thousands.csv"
    big.to_csv(wide, index=False)
    fit = runner.invoke(
        vaeanomaly, ["fit", str(wide), "-o", str(tmp_path / "t.vae"), "--epochs", "2"]
    )
    assert "--thousands ','" in fit.stderr
    fit = runner.invoke(
        vaeanomaly,
        ["fit", str(wide), "-o", str(tmp_path / "t.vae"), "--epochs", "2"]
        + ["--thousands", ",", "--force"],
    )
    assert fit.exit_code == 0, fit.output
    assert "load" in fit.stderr.split("Trained on")[1]


def test_headerless_file_is_refused(runner, tmp_path, rng):
    path = tmp_path / "noheader.csv"
    pd.DataFrame(rng.normal(size=(50, 3))).to_csv(path, index=False, header=False)
    result = runner.invoke(
        vaeanomaly, ["fit", str(path), "-o", str(tmp_path / "m.vae"), "--epochs", "2"]
    )
    assert result.exit_code == 2
    assert "no header line" in result.stderr


@pytest.mark.slow  # about 2.5 s: a child process is stopped mid-run
def test_sigterm_mid_run_leaves_no_partial_file(model, tmp_path, rng):
    import signal
    import time

    # Long enough (2,000 chunks) that the run is still writing when the
    # signal arrives: with 20,000 rows a fast machine finished first.
    frame = pd.DataFrame(
        rng.normal(size=(100_000, 3)), columns=["temp", "pressure", "flow"]
    )
    big = tmp_path / "big.csv"
    frame.to_csv(big, index=False)
    out = tmp_path / "out.csv"
    argv = ["score", str(big), "-m", str(model), "-o", str(out), "--chunksize", "50"]

    def rows_written():
        # Mid-run means rows in the temporary file, not just the file: it is
        # created before the first chunk is scored, and a loaded machine can
        # stop the child right there, outside the write loop. And well before
        # the end (the whole output is about 2.5 MB): a parent starved by a
        # loaded machine could otherwise first look when the child has written
        # everything and is about to exit, and its signal come too late.
        for partial in tmp_path.glob(".out.csv.vaeanomaly-*.tmp"):
            try:
                if 0 < partial.stat().st_size < 1_000_000:
                    return True
            except FileNotFoundError:  # renamed or removed since the glob
                pass
        return False

    def stopped_mid_run():
        """Run the command and send SIGTERM once it is part way through writing.

        Returns the process and its stderr, or None when the run ended before
        the test could see it part way (a starved parent): then it is retried.
        """
        proc = subprocess.Popen(
            [sys.executable, "-m", "vaeanomaly", *argv, "-q"], stderr=subprocess.PIPE
        )
        try:
            deadline = time.monotonic() + 120
            while not rows_written():
                if proc.poll() is not None:
                    proc.communicate()
                    out.unlink(missing_ok=True)
                    return None
                assert time.monotonic() < deadline, "no rows written in 120 s"
                time.sleep(0.005)
            proc.send_signal(signal.SIGTERM)
            # Reap it (and drain stderr) before looking at the folder: the
            # temporary file is removed before the process exits.
            return proc, proc.communicate(timeout=120)[1].decode()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()

    for _ in range(3):
        stopped = stopped_mid_run()
        if stopped is not None:
            break
    assert stopped is not None, "three runs ended before the test saw one mid-way"
    proc, stderr = stopped
    assert proc.returncode == 143, stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["big.csv", "data.csv", "model.vae"]
    )


def test_defaults_come_from_the_estimator_and_help_stays_light(runner):
    import inspect

    from vaeanomaly import VAEAnomalyDetector
    from vaeanomaly.cli._defaults import _source_defaults

    signature = inspect.signature(VAEAnomalyDetector.__init__).parameters
    for name in ("max_epochs", "batch_size"):
        assert _source_defaults()[name] == signature[name].default
    text = runner.invoke(vaeanomaly, ["fit", "--help"]).stdout
    assert f"[default: ({signature['max_epochs'].default}); x>=1]" in text
    code = (
        "import sys; from vaeanomaly.cli.main import vaeanomaly; "
        "vaeanomaly(['fit', '--help'], standalone_mode=False); "
        "print('torch' in sys.modules, 'sklearn' in sys.modules, file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert done.stderr.strip().endswith("False False")


def test_main_pins_the_allocator_and_handles_sigterm(monkeypatch):
    import signal

    import vaeanomaly._memory
    from vaeanomaly.cli import main as cli_main

    calls = []
    monkeypatch.setattr(
        vaeanomaly._memory, "pin_mmap_threshold", lambda: calls.append(1)
    )
    monkeypatch.setattr(sys, "argv", ["vaeanomaly", "--version"])
    previous = signal.getsignal(signal.SIGTERM)
    try:
        with pytest.raises(SystemExit):
            cli_main.main()
        assert calls == [1]
        assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_threshold_choices_match_the_library():
    from vaeanomaly._names import THRESHOLD_NAMES
    from vaeanomaly.thresholds import THRESHOLDS

    assert sorted(THRESHOLDS) == list(THRESHOLD_NAMES)


def test_windowed_model_checks_time_order_without_time_col(runner, recording, tmp_path):
    model = tmp_path / "rec.vae"
    argv = ["--time-col", "time", "--window", "4"]
    fit = runner.invoke(
        vaeanomaly, ["fit", str(recording), "-o", str(model), *argv, *TINY_ARGS]
    )
    assert fit.exit_code == 0, fit.output
    reversed_path = tmp_path / "reversed.csv"
    pd.read_csv(recording, sep=";").iloc[::-1].to_csv(reversed_path, index=False)
    result = runner.invoke(vaeanomaly, ["detect", str(reversed_path), "-m", str(model)])
    assert result.exit_code == 2, result.output
    assert "not in time order: 'time' goes back" in result.stderr


@pytest.fixture
def faulty(tmp_path, rng):
    """600 readings; from 300 to 499 the valve stops following the pump."""
    t = np.arange(600)
    pump = np.sin(t / 12) + 0.05 * rng.normal(size=600)
    valve = np.cos(t / 12) + 0.05 * rng.normal(size=600)
    valve[300:500] = 0.3 * rng.normal(size=200)
    frame = pd.DataFrame(
        {
            "time": pd.date_range("2026-02-01", periods=600, freq="s").astype(str),
            "pump": pump,
            "valve": valve,
            "label": ((t >= 300) & (t < 500)).astype(int),
        }
    )
    path = tmp_path / "faulty.csv"
    frame.to_csv(path, index=False, sep=";")
    return path


SENSOR_ARGS = ["--time-col", "time", "--window", "4", "--exclude", "label"]


def test_windowed_self_fit_learns_the_start_and_says_how(runner, faulty):
    result = runner.invoke(vaeanomaly, ["detect", str(faulty), *SENSOR_ARGS])
    assert result.exit_code == 0, result.stderr
    assert "Fitting on rows 1-200 of 600, up to 2026-02-01 00:03:19" in result.stderr
    assert "the first third, the default with --window" in result.stderr
    assert "--train-rows N or --train-until TIME" in result.stderr
    assert "Trained on 200 rows" in result.stderr
    assert (
        "Threshold: RobustZScoreThreshold(orientation='normality', z=3.5) on the "
        "scores of the last 50 training rows, from a second model fitted on the "
        "150 before them." in result.stderr
    )
    out = read_stdout_sep(result)
    fault = out["label"] == 1
    assert len(out) == 600  # every row is scored, not only the training stretch
    assert out.loc[fault, "is_anomaly"].mean() > 0.5
    assert out.loc[~fault, "is_anomaly"].mean() < 0.15


def read_stdout_sep(result):
    return pd.read_csv(io.StringIO(result.stdout), sep=None, engine="python")


def test_train_until_names_the_stretch(runner, faulty):
    result = runner.invoke(
        vaeanomaly,
        ["score", str(faulty), *SENSOR_ARGS, "--train-until", "2026-02-01 00:04:09"],
    )
    assert result.exit_code == 0, result.stderr
    assert "Fitting on rows 1-250 of 600" in result.stderr
    assert "(--train-until 2026-02-01 00:04:09)" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--train-rows", "100", "--train-until", "2026"], "pass one of them"),
        (["--train-rows", "30"], "holds 30 row(s); a model with --window 4 needs"),
        (["--train-until", "yesterday"], "is not a value of the kind in 'time'"),
    ],
)
def test_training_stretch_refusals(runner, faulty, args, message):
    result = runner.invoke(vaeanomaly, ["detect", str(faulty), *SENSOR_ARGS, *args])
    assert result.exit_code == 2
    assert message in result.stderr


def test_train_stretch_needs_no_model_and_a_time_column(runner, faulty, model):
    with_model = runner.invoke(
        vaeanomaly, ["detect", str(faulty), "-m", str(model), "--train-rows", "100"]
    )
    assert with_model.exit_code == 2
    assert "nothing is fitted. Drop them, or drop --model." in with_model.stderr
    no_time = runner.invoke(
        vaeanomaly,
        ["detect", str(faulty), "--window", "4", "--train-until", "2026-02-01"],
    )
    assert no_time.exit_code == 2
    assert "--train-until needs --time-col" in no_time.stderr


def test_drift_warning_on_stderr(runner, faulty, tmp_path):
    frame = pd.read_csv(faulty, sep=";")
    frame.loc[400:, "pump"] += 50.0
    drifting = tmp_path / "drifting.csv"
    frame.to_csv(drifting, index=False)
    result = runner.invoke(
        vaeanomaly, ["detect", str(drifting), *SENSOR_ARGS, "--train-rows", "200"]
    )
    assert result.exit_code == 0, result.stderr
    assert (
        "Warning: Readings left the training range of 1 channel(s) by more than 10 "
        "training standard deviations: 'pump' (200 readings, 2026-02-01 00:06:40 to "
        "2026-02-01 00:09:59" in result.stderr
    )
    assert "may mark a new operating regime rather than a fault" in result.stderr


@pytest.mark.slow  # about 3 s: fits a window model
def test_evaluate_a_recording(runner, faulty, tmp_path):
    result = runner.invoke(
        vaeanomaly,
        [
            "evaluate",
            str(faulty),
            "--label-col",
            "label",
            *SENSOR_ARGS,
            "--train-rows",
            "250",
            "--json",
            "-q",
        ],
    )
    assert result.exit_code == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert metrics["rows"] == 600
    assert metrics["anomalies"] == 200
    assert metrics["auroc"] > 0.9
    assert 0.5 < metrics["vus_pr"] <= 1
    # a table without a time order gets no range measure
    plain = tmp_path / "plain.csv"
    pd.read_csv(faulty, sep=";").drop(columns="time").to_csv(plain, index=False)
    table = runner.invoke(
        vaeanomaly, ["evaluate", str(plain), "--label-col", "label", "--json", "-q"]
    )
    assert table.exit_code == 0, table.stderr
    assert "vus_pr" not in json.loads(table.stdout)


@pytest.mark.slow  # about 6 s: two child processes score 20,000 rows
@pytest.mark.parametrize(
    ("command", "lines_read"),
    [("score", 3), ("detect", 3), ("score", 0)],  # 0: closed before any write
)
def test_closed_stdout_pipe_ends_quietly_with_status_0(
    model, tmp_path, rng, command, lines_read
):
    # `vaeanomaly score big.csv -m m.vae | head -3`: 1 would mean "anomalies
    # found", so a reader that goes away is not an error.
    exe = shutil.which("vaeanomaly", path=Path(sys.executable).parent)
    if exe is None:
        skip_or_fail(
            "the vaeanomaly console script is not installed (pip install -e .)"
        )
    frame = pd.DataFrame(
        rng.normal(size=(20_000, 3)), columns=["temp", "pressure", "flow"]
    )
    big = tmp_path / "big.csv"
    frame.to_csv(big, index=False)  # about 0.5 MB of scores: more than a pipe holds
    argv = [exe, command, str(big), "-m", str(model), "--chunksize", "1000"]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        lines = [proc.stdout.readline() for _ in range(lines_read)]
        proc.stdout.close()
        stderr = proc.communicate(timeout=120)[1].decode()
    assert proc.returncode == 0, stderr
    assert all(line.endswith(b"\n") for line in lines)
    assert "Traceback" not in stderr
    assert "Broken pipe" not in stderr
    assert "BrokenPipeError" not in stderr


@pytest.mark.parametrize(
    ("bad_line", "argv", "expected"),
    [
        ("r2,1.0,abc,0.5", ["score"], "('abc' on line 4)"),
        ("r2,1.0,inf,0.5", ["score"], "holds inf on line 4."),
        ("r2,1.0,2.0,0.5,9", ["score"], "Expected 4 fields in line 4, saw 5"),
        ("r2,1.0,,0.5", ["fit", "--missing", "error"], "the first on line 4."),
        ("x,1.0,2.0,0.5", ["fit", "--time-col", "id"], "'x' on line 4,"),
        ("0.5,1.0,2.0,0.5", ["fit", "--time-col", "id"], "goes back on line 4 ("),
    ],
    ids=["text", "infinity", "fields", "missing", "not-a-time", "time-order"],
)
def test_bad_data_is_named_by_its_line_in_the_file(
    runner, model, tmp_path, bad_line, argv, expected
):
    # Line 1 is the header, so the bad cell on line 4 is the third data row:
    # messages give the line number an editor shows. score reads 2 rows at a
    # time, so the bad row is in its second chunk.
    lines = ["id,temp,pressure,flow", "0,0.1,0.2,0.3", "1,0.2,0.1,0.4", bad_line]
    lines += [f"{i},0.{i},0.{i},0.{i}" for i in range(3, 9)]
    path = _write(tmp_path, "bad.csv", "\n".join(lines) + "\n")
    command, *extra = argv
    if command == "score":
        extra += ["-m", str(model), "--chunksize", "2"]
    else:
        extra += ["-o", str(tmp_path / "m.vae"), *TINY_ARGS]
        extra += [] if "--time-col" in extra else ["--exclude", "id"]
    result = runner.invoke(vaeanomaly, [command, str(path), *extra])
    assert result.exit_code == 2, result.output
    assert expected in result.stderr


def test_training_progress_off_a_terminal_is_a_few_lines(runner, table, tmp_path):
    # CliRunner's stderr is not a terminal, as in a log file or a CI job:
    # click's bar would print its label once per epoch of each fit pass.
    argv = ["fit", str(table), "-o", str(tmp_path / "m.vae"), "--epochs", "60"]
    result = runner.invoke(vaeanomaly, [*argv, "--hidden-dims", "16"])
    assert result.exit_code == 0, result.output
    progress = [x for x in result.stderr.splitlines() if x.startswith("training")]
    assert 2 <= len(progress) <= 12, progress
    assert progress[0].endswith(" 0%")
    assert progress[-1].endswith(" 100%")
    assert "validation ELBO" in progress[-1]


def test_a_sentinel_reading_scores_finite_lowest_and_named(runner, table, model):
    frame = pd.read_csv(table)
    frame.loc[7, "flow"] = 1e308  # a data logger's "no reading" sentinel
    frame.to_csv(table, index=False)
    result = runner.invoke(
        vaeanomaly, ["score", str(table), "-m", str(model), "--features"]
    )
    assert result.exit_code == 0, result.stderr
    out = read_stdout(result)
    assert np.isfinite(out["score"]).all()
    assert out["score"].idxmin() == 7
    assert "inf" not in result.stdout
    assert (
        out.filter(like="flow").iloc[7].max()
        == out.drop(columns=["id", "score"]).iloc[7].max()
    )


def test_a_repeated_column_name_is_refused_by_name(runner, tmp_path, rng):
    path = tmp_path / "twice.csv"
    rows = "\n".join(f"{a:.3f},{b:.3f},{c:.3f}" for a, b, c in rng.normal(size=(60, 3)))
    path.write_text("temp,temp,flow\n" + rows + "\n")
    for command in (
        ["fit", str(path), "-o", str(tmp_path / "m.vae"), *TINY_ARGS],
        ["detect", str(path), "-q"],
    ):
        result = runner.invoke(vaeanomaly, command)
        assert result.exit_code == 2
        assert "'temp'" in result.stderr
        assert "more than once" in result.stderr


@pytest.mark.parametrize("suffix", [".gz", ".bz2", ".xz", ".zip"])
def test_compressed_csv_files_are_read_by_their_extension(
    runner, table, model, tmp_path, suffix
):
    plain = pd.read_csv(table)
    packed = tmp_path / f"data.csv{suffix}"
    options = (
        {"method": "zip", "archive_name": "data.csv"} if suffix == ".zip" else None
    )
    plain.to_csv(packed, index=False, compression=options or "infer")
    result = runner.invoke(vaeanomaly, ["score", str(packed), "-m", str(model)])
    assert result.exit_code == 0, result.stderr
    expected = runner.invoke(vaeanomaly, ["score", str(table), "-m", str(model)])
    assert result.stdout == expected.stdout
    # and a fit reads it the same way
    fit = runner.invoke(
        vaeanomaly, ["fit", str(packed), "-o", str(tmp_path / "m.vae"), *TINY_ARGS]
    )
    assert fit.exit_code == 0, fit.stderr


def test_compressed_standard_input_needs_the_compression_flag(runner, table, model):
    import gzip

    data = gzip.compress(table.read_bytes())
    result = runner.invoke(
        vaeanomaly,
        ["score", "-", "-m", str(model), "--compression", "gzip"],
        input=data,
    )
    assert result.exit_code == 0, result.stderr
    expected = runner.invoke(vaeanomaly, ["score", str(table), "-m", str(model)])
    assert result.stdout == expected.stdout


FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]*[a-z]")


def _command_flags(command) -> set[str]:
    return {
        opt
        for param in command.params
        for opt in (*param.opts, *param.secondary_opts)
        if opt.startswith("--")
    } | {"--help"}


def test_every_flag_a_help_text_names_exists_on_that_command():
    wrong = []
    for name, command in vaeanomaly.commands.items():
        texts = [command.help or ""] + [
            getattr(p, "help", None) or "" for p in command.params
        ]
        for flag in set(FLAG.findall(" ".join(texts))):
            if flag not in _command_flags(command):
                wrong.append(f"{name}: {flag}")
    assert not wrong, f"help texts name options their command lacks: {wrong}"


def test_every_flag_a_message_names_exists():
    # Messages are shared by commands: each flag they name must at least be an
    # option of some command (the per-command cases are tested one by one).
    commands = [vaeanomaly, *vaeanomaly.commands.values()]  # --version, --debug
    every = set().union(*(_command_flags(c) for c in commands))
    cli_dir = Path(__file__).resolve().parents[1] / "cli"
    named = {}
    for path in sorted(cli_dir.glob("*.py")):
        for flag in FLAG.findall(path.read_text(encoding="utf-8")):
            named.setdefault(flag, path.name)
    unknown = {flag: where for flag, where in named.items() if flag not in every}
    assert not unknown, f"cli/ names options no command has: {unknown}"


def test_the_training_stretch_and_missing_options_are_on_every_command_that_fits():
    for name in ("fit", "score", "detect", "report", "evaluate"):
        flags = _command_flags(vaeanomaly.commands[name])
        assert {"--train-rows", "--train-until", "--missing"} <= flags, name


def test_an_unfinished_fit_names_the_flag_to_raise(runner, table, tmp_path):
    result = runner.invoke(
        vaeanomaly,
        ["fit", str(table), "-o", str(tmp_path / "m.vae"), "--epochs", "1"],
    )
    assert result.exit_code == 0, result.stderr
    assert "Pass a larger --epochs" in result.stderr
    assert "max_epochs" not in result.stderr


def test_report_of_a_recording_takes_the_training_stretch(runner, recording, tmp_path):
    out = tmp_path / "r.html"
    result = runner.invoke(
        vaeanomaly,
        [
            "report",
            str(recording),
            "--time-col",
            "time",
            "--window",
            "4",
            "--train-rows",
            "200",
            "-o",
            str(out),
            "-q",
        ],
    )
    assert result.exit_code == 0, result.stderr
    assert out.exists()


def test_fit_learns_only_the_stretch_it_is_given(runner, recording, tmp_path):
    model = tmp_path / "m.vae"
    result = runner.invoke(
        vaeanomaly,
        [
            "fit",
            str(recording),
            "-o",
            str(model),
            "--time-col",
            "time",
            "--window",
            "4",
            "--train-rows",
            "200",
            *TINY_ARGS[:-1],
        ],
    )
    assert result.exit_code == 0, result.stderr
    assert "Fitting on rows 1-200" in result.stderr
    info = runner.invoke(vaeanomaly, ["info", str(model), "--json"])
    assert json.loads(info.stdout)["n_samples_fit"] <= 200


def test_missing_applies_when_fitting_only(runner, table, model):
    result = runner.invoke(
        vaeanomaly, ["score", str(table), "-m", str(model), "--missing", "error"]
    )
    assert result.exit_code == 2
    assert "--missing applies when fitting" in result.stderr


@pytest.fixture
def sensor_with_a_token(tmp_path, rng):
    """A 3,000-row sensor CSV whose 'vib' column has one 'ERR' (line 702)."""
    t = np.arange(3000)
    frame = pd.DataFrame(
        {
            "time": pd.date_range("2026-02-01", periods=3000, freq="s").astype(str),
            "temp": np.sin(t / 50) + 0.05 * rng.normal(size=3000),
            "flow": np.cos(t / 50) + 0.05 * rng.normal(size=3000),
            "vib": (0.3 * rng.normal(size=3000)).round(4).astype(str),
            "load": np.sin(t / 30) + 0.05 * rng.normal(size=3000),
            "label": (t % 500 == 0).astype(int),
        }
    )
    frame.loc[700, "vib"] = "ERR"
    path = tmp_path / "sensor.csv"
    frame.to_csv(path, index=False)
    return path


def test_a_number_column_with_a_token_gets_one_verdict_everywhere(
    runner, sensor_with_a_token, tmp_path
):
    path = str(sensor_with_a_token)
    model = tmp_path / "m.vae"
    runs = {
        "fit": ["fit", path, "-o", str(model), "--time-col", "time", *TINY_ARGS]
        + ["--exclude", "label"],
        "fit --window": ["fit", path, "-o", str(model), "--time-col", "time"]
        + ["--window", "10", "--exclude", "label", *TINY_ARGS],
        "detect --window": ["detect", path, "--time-col", "time", "--window", "10"],
        "detect": ["detect", path, "--time-col", "time", "-q"],
        "report": [
            "report",
            path,
            "--time-col",
            "time",
            "-o",
            str(tmp_path / "r.html"),
        ],
        "evaluate": ["evaluate", path, "--label-col", "label", "--time-col", "time"],
    }
    for name, args in runs.items():
        result = runner.invoke(vaeanomaly, args)
        assert result.exit_code == 2, (name, result.stderr)
        assert "Column 'vib'" in result.stderr, name
        assert "'ERR' on line 702" in result.stderr, name
        assert "--na-values 'ERR'" in result.stderr, name
        assert not model.exists()
    # With a model fitted elsewhere, scoring says the same of the cell.
    clean = pd.read_csv(sensor_with_a_token)
    clean.loc[700, "vib"] = "0.1"
    clean_path = tmp_path / "clean.csv"
    clean.to_csv(clean_path, index=False)
    fit = runner.invoke(
        vaeanomaly,
        ["fit", str(clean_path), "-o", str(model), "--time-col", "time"]
        + ["--exclude", "label", *TINY_ARGS],
    )
    assert fit.exit_code == 0, fit.stderr
    score = runner.invoke(vaeanomaly, ["score", path, "-m", str(model)])
    assert score.exit_code == 2
    assert "'ERR' on line 702" in score.stderr
    assert "--na-values 'ERR'" in score.stderr


def test_na_values_reads_the_tokens_as_missing_cells(
    runner, sensor_with_a_token, tmp_path
):
    result = runner.invoke(
        vaeanomaly,
        [
            "detect",
            str(sensor_with_a_token),
            "--time-col",
            "time",
            "--na-values",
            "ERR",
            "--exclude",
            "label",
            "-q",
        ],
    )
    assert result.exit_code == 0, result.stderr
    out = read_stdout(result)
    assert len(out) == 3000


def test_window_features_are_the_channels_blame(runner, recording, tmp_path):
    # The output table's contrib_<channel> of a --window model is the
    # detector's blame per channel, as --help and the README say; it does not
    # add up to the score, unlike a table model's contributions.
    from vaeanomaly.io import load_model

    model = tmp_path / "rec.vae"
    fit = runner.invoke(
        vaeanomaly,
        ["fit", str(recording), "-o", str(model), "--time-col", "time"]
        + ["--window", "4", *TINY_ARGS],
    )
    assert fit.exit_code == 0, fit.stderr
    result = runner.invoke(
        vaeanomaly, ["score", str(recording), "-m", str(model), "--features", "-q"]
    )
    assert result.exit_code == 0, result.stderr
    out = pd.read_csv(io.StringIO(result.stdout))
    frame = pd.read_csv(recording, sep=";")
    channels = frame[["pump", "valve"]].ffill()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        blame = load_model(model).score_features(channels)
    np.testing.assert_allclose(
        out[["contrib_pump", "contrib_valve"]].to_numpy(), blame.to_numpy(), rtol=1e-6
    )


def test_a_wide_header_is_read_whole(runner, tmp_path, rng):
    # 800 columns: a header of about 8 KB, longer than one default buffer; a
    # cut header would have made 'c_1' of a cut 'c_1xx' look named twice.
    names = [f"c_{j}" for j in range(800)]
    frame = pd.DataFrame(rng.normal(size=(60, 800)).round(3), columns=names)
    path = tmp_path / "wide.csv"
    frame.to_csv(path, index=False)
    for source, stdin in ((str(path), None), ("-", path.read_bytes())):
        result = runner.invoke(
            vaeanomaly,
            ["fit", source, "-o", str(tmp_path / "m.vae"), "--force", *TINY_ARGS],
            input=stdin,
        )
        assert result.exit_code == 0, result.stderr
