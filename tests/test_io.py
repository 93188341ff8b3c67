import json
import pickle
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import TINY
from numpy.testing import assert_allclose, assert_array_equal

from vaeanomaly import (
    ModelFileError,
    VAEAnomalyDetector,
    load_model,
    read_model_metadata,
    save_model,
)
from vaeanomaly.io import FORMAT_VERSION, atomic_write
from vaeanomaly.sequence import SequenceVAEDetector
from vaeanomaly.thresholds import POTThreshold

DATA = Path(__file__).parent / "data"


def test_round_trip_gives_identical_scores(tmp_path, fitted_tiny):
    det, frame = fitted_tiny
    path = tmp_path / "model.vae"
    save_model(det, path)
    loaded = load_model(path)
    assert_array_equal(loaded.score_samples(frame), det.score_samples(frame))
    assert loaded.offset_ == det.offset_
    assert list(loaded.feature_names_in_) == ["a", "b", "c"]
    assert loaded.get_params() == det.get_params()
    assert loaded.history_ == det.history_


def test_the_estimator_knows_no_files():
    # Files are io's job; the estimator would otherwise import io (a cycle).
    assert not hasattr(VAEAnomalyDetector, "save")
    assert not hasattr(VAEAnomalyDetector, "load")


def test_threshold_object_survives(tmp_path, rng):
    X = rng.normal(size=(300, 3))
    det = VAEAnomalyDetector(
        **TINY, threshold=POTThreshold(risk=1e-2, initial_quantile=0.9), random_state=0
    ).fit(X)
    save_model(det, tmp_path / "m.vae")
    loaded = load_model(tmp_path / "m.vae")
    assert isinstance(loaded.threshold, POTThreshold)
    assert loaded.threshold.risk == 1e-2
    assert loaded.threshold_.threshold_ == det.threshold_.threshold_


def test_metadata_is_plain_json(tmp_path, fitted_tiny):
    det, _ = fitted_tiny
    save_model(det, tmp_path / "m.vae")
    meta = read_model_metadata(tmp_path / "m.vae")
    assert meta["format_version"] == FORMAT_VERSION
    model = meta["model"]
    assert model["__object__"] == "VAEAnomalyDetector"
    assert model["params"]["__dict__"]["n_draws"] == det.n_draws
    state = model["state"]["__dict__"]
    assert state["feature_names_in_"]["__array__"] == ["a", "b", "c"]
    assert state["n_samples_fit_"] == 200


def test_unfitted_model_cannot_be_saved(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        save_model(VAEAnomalyDetector(), tmp_path / "m.vae")


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "not a vaeanomaly model file"),
        (b"timestamp,a,b\n1,2,3\n", "not a vaeanomaly model file"),
    ],
)
def test_not_a_model(tmp_path, content, match):
    path = tmp_path / "m.vae"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match=match):
        load_model(path)


def test_truncated_model(tmp_path, fitted_tiny):
    det, _ = fitted_tiny
    save_model(det, tmp_path / "m.vae")
    data = (tmp_path / "m.vae").read_bytes()
    (tmp_path / "cut.vae").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="damaged, truncated"):
        load_model(tmp_path / "cut.vae")


def test_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match="No model file at"):
        load_model(tmp_path / "nope.vae")


def test_torch_file_without_metadata(tmp_path):
    torch.save({"weights": torch.zeros(2)}, tmp_path / "m.vae")
    with pytest.raises(ModelFileError, match="not a vaeanomaly model"):
        load_model(tmp_path / "m.vae")


def test_newer_format_is_refused_with_versions(tmp_path, fitted_tiny):
    import json

    det, _ = fitted_tiny
    save_model(det, tmp_path / "m.vae")
    payload = torch.load(tmp_path / "m.vae", weights_only=True)
    meta = json.loads(payload["metadata"])
    meta["format_version"] = FORMAT_VERSION + 1
    payload["metadata"] = json.dumps(meta)
    torch.save(payload, tmp_path / "new.vae")
    with pytest.raises(ModelFileError, match="Upgrade vaeanomaly"):
        load_model(tmp_path / "new.vae")


class _Exploit:
    def __reduce__(self):
        import os

        return (os.system, ("touch pwned",))


def test_crafted_model_does_not_run_code(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # A torch file whose pickle would call os.system when unpickled normally.
    torch.save({"metadata": _Exploit(), "state_dict": {}}, tmp_path / "evil.vae")
    with pytest.raises(ModelFileError, match="not a vaeanomaly model file"):
        load_model(tmp_path / "evil.vae")
    assert not (tmp_path / "pwned").exists()
    # Sanity check of the test itself: plain pickle loading *would* run it.
    with open(tmp_path / "evil.pkl", "wb") as handle:
        pickle.dump(_Exploit(), handle)
    with open(tmp_path / "evil.pkl", "rb") as handle:
        pickle.load(handle)
    assert (tmp_path / "pwned").exists()


def test_atomic_write_keeps_old_file_on_error(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")

    def write_half():
        with atomic_write(target, "w") as handle:
            handle.write("half")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        write_half()
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_save_over_existing_is_atomic(tmp_path, fitted_tiny, monkeypatch):
    det, _ = fitted_tiny
    path = tmp_path / "m.vae"
    save_model(det, path)
    before = path.read_bytes()

    def broken_save(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_model(det, path)
    assert path.read_bytes() == before


def test_loaded_model_is_on_cpu(tmp_path, fitted_tiny):
    det, _ = fitted_tiny
    save_model(det, tmp_path / "m.vae")
    loaded = load_model(tmp_path / "m.vae")
    assert all(p.device.type == "cpu" for p in loaded.module_.parameters())
    assert np.isfinite(loaded.offset_)


@pytest.fixture(scope="module")
def fitted_sequence():
    import pandas as pd

    rng = np.random.default_rng(0)
    t = np.arange(300)
    frame = pd.DataFrame(
        {"warm": 0.01 * t + 0.05 * rng.normal(size=300), "flow": rng.normal(size=300)}
    )
    det = SequenceVAEDetector(
        window=4, detector=VAEAnomalyDetector(**TINY, random_state=0)
    ).fit(frame)
    return det, frame


def test_sequence_round_trip_keeps_the_linear_prediction(tmp_path, fitted_sequence):
    det, frame = fitted_sequence
    save_model(det, tmp_path / "s.vae")
    loaded = load_model(tmp_path / "s.vae")
    assert loaded.ar_order == det.ar_order == 2
    assert loaded.level_window == det.level_window == 1000
    assert loaded.calibration_fraction == det.calibration_fraction == 0.25
    assert_array_equal(loaded.innovations_.coef_, det.innovations_.coef_)
    assert_array_equal(loaded.level_.spread_, det.level_.spread_)
    assert_array_equal(loaded.score_samples(frame), det.score_samples(frame))
    assert loaded.offset_ == det.offset_
    # the training ranges that the drift check measures against
    assert_array_equal(loaded.channel_range_, det.channel_range_)
    assert_array_equal(loaded.channel_scale_, det.channel_scale_)


def test_version_2_sequence_file_windows_raw_readings(tmp_path):
    # A format 4 file written by 0.4.0.dev0, edited back to what format 2 held:
    # no linear prediction, one member, no trimming, no floors, nn.Linear layout.
    payload = torch.load(DATA / "format4_sequence.vae", weights_only=True)
    meta = json.loads(payload["metadata"])
    meta["format_version"] = 2
    for key in ("ar_order", "innovations_", "calibration_fraction"):
        del meta["sequence"][key]
    for key in ("n_members", "trim", "dequantize"):
        meta["params"].pop(key)
    for key in ("n_trimmed_", "resolution_"):
        meta["fitted"].pop(key)
    payload["metadata"] = json.dumps(meta)
    payload["state_dict"] = {
        key: value[0].T.contiguous() if key.endswith(".weight") else value.flatten()
        for key, value in payload["state_dict"].items()
    }
    torch.save(payload, tmp_path / "old.vae")
    loaded = load_model(tmp_path / "old.vae")
    assert loaded.ar_order == 0
    assert loaded.calibration_fraction == 0.0
    assert loaded.innovations_ is None
    assert loaded.detector_.n_members == 1
    frame = pd.read_csv(DATA / "format4_recording.csv")
    assert np.isfinite(loaded.score_samples(frame)).all()


@pytest.mark.parametrize(
    ("model", "rows", "scores"),
    [
        ("format3_mixed.vae", "format3_rows.csv", "format3_scores.json"),
        ("format4_mixed.vae", "format4_rows.csv", "format4_scores.json"),
        (
            "format4_sequence.vae",
            "format4_recording.csv",
            "format4_sequence_scores.json",
        ),
    ],
)
def test_old_files_give_the_scores_they_gave(model, rows, scores):
    # Each file, its rows and their scores were written by the version that
    # wrote that format (0.3.0 for format 3, 0.4.0.dev0 before the
    # {class, params, state} layout for format 4).
    loaded = load_model(DATA / model)
    expected = json.loads((DATA / scores).read_text())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. no "fitted without feature names"
        got = loaded.score_samples(pd.read_csv(DATA / rows))
    # rtol: the rows went through a CSV file, which rounds the last digit.
    assert_allclose(got, expected, rtol=1e-7)


def _assert_same_state(a, b, path="") -> None:
    """Compare two fitted objects' ``vars()``, recursing into fitted objects."""
    assert type(a) is type(b), path
    if hasattr(a, "_get_state"):
        caches = {"_scoring_module", "_encoder"}  # rebuilt on first use
        va = {k: v for k, v in vars(a).items() if k not in caches}
        vb = {k: v for k, v in vars(b).items() if k not in caches}
        assert va.keys() == vb.keys(), (path, va.keys() ^ vb.keys())
        for key in va:
            _assert_same_state(va[key], vb[key], f"{path}.{key}")
    elif isinstance(a, torch.nn.Module):
        sa, sb = a.state_dict(), b.state_dict()
        assert sa.keys() == sb.keys(), path
        for key in sa:
            assert torch.equal(sa[key], sb[key]), f"{path}.{key}"
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype, path
        assert_array_equal(a, b, err_msg=path)
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_same_state(x, y, f"{path}[{i}]")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            _assert_same_state(a[key], b[key], f"{path}[{key!r}]")
    elif hasattr(a, "fit") or hasattr(a, "heads_"):  # schema, unfitted template
        _assert_same_state(vars(a), vars(b), path)
    else:
        assert a == b or (a != a and b != b), (path, a, b)  # NaN equals NaN


def _mixed_table(rng):
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=200),
            "mode": rng.choice(["idle", "run"], 200),
            "flag": rng.integers(0, 2, 200),
        }
    )
    frame.loc[::9, "a"] = np.nan
    return frame


def test_round_trip_keeps_every_fitted_attribute(tmp_path, rng):
    frame = _mixed_table(rng)
    det = VAEAnomalyDetector(
        **TINY,
        n_members=2,
        threshold=POTThreshold(risk=1e-2, initial_quantile=0.9),
        random_state=0,
    ).fit(frame)
    save_model(det, tmp_path / "m.vae")
    _assert_same_state(det, load_model(tmp_path / "m.vae"))


def test_sequence_round_trip_keeps_every_fitted_attribute(tmp_path, fitted_sequence):
    det, frame = fitted_sequence
    save_model(det, tmp_path / "s.vae")
    loaded = load_model(tmp_path / "s.vae")
    _assert_same_state(det, loaded)
    assert loaded.n_calibration_ == det.n_calibration_
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_array_equal(loaded.score_samples(frame), det.score_samples(frame))


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda s: s.update(offset_=float("nan")), "offset_ is nan"),
        (
            lambda s: s["schema_"]["__dict__"].update(
                scale_={"__array__": [0.0, 1.0, 1.0], "dtype": "<f8"}
            ),
            "column scales",
        ),
        (lambda s: s.pop("history_"), "KeyError|AttributeError|history_"),
    ],
)
def test_hand_edited_values_are_refused(tmp_path, fitted_tiny, edit, match):
    det, _ = fitted_tiny
    save_model(det, tmp_path / "m.vae")
    payload = torch.load(tmp_path / "m.vae", weights_only=True)
    meta = json.loads(payload["metadata"])
    edit(meta["model"]["state"]["__dict__"])
    payload["metadata"] = json.dumps(meta)
    torch.save(payload, tmp_path / "edited.vae")
    with pytest.raises(ModelFileError, match="inconsistent contents") as refused:
        load_model(tmp_path / "edited.vae")
    assert re.search(match, str(refused.value))


def test_format_3_file_loads_as_one_member_with_the_same_scores():
    # Written by vaeanomaly 0.3.0 (nn.Linear layers, no member axis).
    loaded = load_model(DATA / "format3_mixed.vae")
    assert loaded.n_members == 1
    assert loaded.trim is None
    assert not loaded.dequantize


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda s: s.update(heads_=["cauchy"] * 3), "unknown likelihood heads"),
        (lambda s: s.update(heads_=["categorical"] * 3), "categorical columns differ"),
        (lambda s: s.pop("mean_"), r"fitted values \['mean_'\] are missing"),
    ],
)
def test_the_schema_refuses_its_own_damaged_state(tmp_path, fitted_tiny, edit, match):
    det, _ = fitted_tiny
    save_model(det, tmp_path / "m.vae")
    payload = torch.load(tmp_path / "m.vae", weights_only=True)
    meta = json.loads(payload["metadata"])
    edit(meta["model"]["state"]["__dict__"]["schema_"]["__dict__"])
    payload["metadata"] = json.dumps(meta)
    torch.save(payload, tmp_path / "edited.vae")
    with pytest.raises(ModelFileError, match=match):
        load_model(tmp_path / "edited.vae")


def test_sequence_file_from_before_the_local_level_keeps_the_training_levels(
    tmp_path, fitted_sequence
):
    # A model written by 0.4 had no level_window parameter and no level_ state:
    # it must load as the detector it was (level_window=None), not the default.
    _, frame = fitted_sequence
    det = SequenceVAEDetector(
        window=4,
        level_window=None,
        ar_order=4,
        detector=VAEAnomalyDetector(**TINY, random_state=0),
    ).fit(frame)
    save_model(det, tmp_path / "s.vae")
    payload = torch.load(tmp_path / "s.vae", weights_only=True)
    meta = json.loads(payload["metadata"])
    del meta["model"]["params"]["__dict__"]["level_window"]
    del meta["model"]["state"]["__dict__"]["level_"]
    payload["metadata"] = json.dumps(meta)
    torch.save(payload, tmp_path / "old.vae")
    loaded = load_model(tmp_path / "old.vae")
    assert loaded.level_window is None
    assert loaded.level_ is None
    assert_array_equal(loaded.score_samples(frame), det.score_samples(frame))
