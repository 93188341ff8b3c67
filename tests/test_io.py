import json
import pickle
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


def test_methods_save_and_load(tmp_path, fitted_tiny):
    det, frame = fitted_tiny
    det.save(tmp_path / "m.vae")
    assert_array_equal(
        VAEAnomalyDetector.load(tmp_path / "m.vae").predict(frame), det.predict(frame)
    )


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
    assert meta["fitted"]["feature_names_in_"] == ["a", "b", "c"]
    assert meta["fitted"]["n_samples_fit_"] == 200


def test_unfitted_model_cannot_be_saved(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        save_model(VAEAnomalyDetector(), tmp_path / "m.vae")


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "not a readable vaeanomaly model file"),
        (b"timestamp,a,b\n1,2,3\n", "not a readable vaeanomaly model file"),
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
    with pytest.raises(ModelFileError, match="not a readable vaeanomaly model file"):
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


@pytest.fixture
def fitted_sequence(rng):
    import pandas as pd

    from vaeanomaly.sequence import SequenceVAEDetector

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
    assert loaded.ar_order == det.ar_order == 4
    assert loaded.calibration_fraction == det.calibration_fraction == 0.25
    assert_array_equal(loaded.innovations_.coef_, det.innovations_.coef_)
    assert_array_equal(loaded.score_samples(frame), det.score_samples(frame))
    assert loaded.offset_ == det.offset_
    # the training ranges that the drift check measures against
    assert_array_equal(loaded.channel_range_, det.channel_range_)
    assert_array_equal(loaded.channel_scale_, det.channel_scale_)


def test_version_2_sequence_file_windows_raw_readings(tmp_path, fitted_sequence):
    _, frame = fitted_sequence
    # What format 2 could hold: one member, no trimming, no floors.
    single = {"n_members": 1, "trim": None, "dequantize": False}
    det = SequenceVAEDetector(
        window=4,
        ar_order=0,
        detector=VAEAnomalyDetector(**TINY, **single, random_state=0),
    ).fit(frame)
    save_model(det, tmp_path / "s.vae")
    payload = torch.load(tmp_path / "s.vae", weights_only=True)
    meta = json.loads(payload["metadata"])
    meta["format_version"] = 2
    for key in ("ar_order", "innovations_", "calibration_fraction"):
        del meta["sequence"][key]
    for key in (*single, "n_trimmed_", "resolution_"):
        meta["params" if key in single else "fitted"].pop(key)
    payload["metadata"] = json.dumps(meta)
    # nn.Linear's layout: weight (n_out, n_in), bias and scales without axes.
    payload["state_dict"] = {
        key: value[0].T.contiguous() if key.endswith(".weight") else value.flatten()
        for key, value in payload["state_dict"].items()
    }
    torch.save(payload, tmp_path / "old.vae")
    loaded = load_model(tmp_path / "old.vae")
    assert loaded.ar_order == 0
    assert loaded.calibration_fraction == 0.0
    assert loaded.innovations_ is None
    assert_array_equal(loaded.score_samples(frame), det.score_samples(frame))


def test_format_3_file_loads_as_one_member_with_the_same_scores():
    # Written by vaeanomaly 0.3.0 (nn.Linear layers, no member axis).
    data = Path(__file__).parent / "data"
    loaded = load_model(data / "format3_mixed.vae")
    assert loaded.n_members == 1
    assert loaded.trim is None
    assert not loaded.dequantize
    rows = pd.read_csv(data / "format3_rows.csv")
    expected = json.loads((data / "format3_scores.json").read_text())
    # rtol: the rows went through a CSV file, which rounds the last digit.
    assert_allclose(loaded.score_samples(rows), expected, rtol=1e-7)
