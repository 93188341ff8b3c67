import warnings

import numpy as np
import pandas as pd
import pytest
from _require import skip_or_fail
from conftest import TINY
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning

from vaeanomaly import DataError, DriftWarning, VAEAnomalyDetector
from vaeanomaly.sequence import (
    SequenceVAEDetector,
    _covering_mean,
    _covering_min,
    flagged_periods,
)
from vaeanomaly.windows import SlidingWindows, fill_gaps, window_view


def test_window_view_pads_so_every_timestamp_has_a_window():
    X = np.arange(10.0).reshape(5, 2)
    views = window_view(X, 3)
    assert views.shape == (5, 3, 2)
    assert_array_equal(views[0], [[0, 1], [0, 1], [0, 1]])
    assert_array_equal(views[4], X[2:5])
    assert window_view(X, 3, pad=None).shape == (3, 3, 2)


def test_window_longer_than_series_without_padding():
    with pytest.raises(ValueError, match="shorter than window=5"):
        window_view(np.zeros((3, 1)), 5, pad=None)


def test_sliding_windows_names_index_and_step():
    index = pd.date_range("2026-01-01", periods=6, freq="s")
    frame = pd.DataFrame({"a": np.arange(6.0), "b": -np.arange(6.0)}, index=index)
    out = SlidingWindows(window=3, step=2).fit_transform(frame)
    assert list(out.columns) == ["a@t-2", "b@t-2", "a@t-1", "b@t-1", "a@t-0", "b@t-0"]
    assert list(out.index) == list(
        index[[1, 3, 5]]
    )  # counted back from the last reading
    assert_array_equal(out.loc[index[5]].to_numpy(), [3, -3, 4, -4, 5, -5])
    no_pad = SlidingWindows(window=3, pad=None).fit_transform(frame.to_numpy())
    assert no_pad.shape == (4, 6)


def test_fill_gaps_within_limit_and_error_beyond():
    frame = pd.DataFrame({"a": [1.0, np.nan, np.nan, 4.0, np.nan, np.nan, np.nan, 8.0]})
    with pytest.raises(
        ValueError, match="Channel 'a' has a gap .* longer than max_gap=2"
    ):
        fill_gaps(frame, 2)
    assert_array_equal(fill_gaps(frame, 3)["a"], [1, 1, 1, 4, 4, 4, 4, 8])


def test_covering_aggregates():
    scores = np.array([5.0, 1.0, 3.0, 2.0])
    assert_allclose(_covering_mean(scores, 2), [3.0, 2.0, 2.5, 2.0])
    assert_allclose(_covering_min(scores, 2), [1.0, 1.0, 2.0, 2.0])


@pytest.fixture
def recording(rng):
    t = np.arange(800)
    frame = pd.DataFrame(
        {
            "pump": np.sin(t / 15) + 0.05 * rng.normal(size=800),
            "valve": np.cos(t / 15) + 0.05 * rng.normal(size=800),
            "temp": 0.5 * np.sin(t / 15 + 1) + 0.05 * rng.normal(size=800),
        },
        index=pd.date_range("2026-03-01", periods=800, freq="s"),
    )
    return frame


# With one variance per column, blame used to land on 'temp': the column
# scales had barely left their unit start when training stopped, so the
# encoder moved z to explain the valve's jump. The scales' larger step size
# (LIKELIHOOD_LR_FACTOR) fixed it; both heads must attribute the jump right.
@pytest.mark.slow  # about 2 s per head
@pytest.mark.parametrize("likelihood", ["gaussian", "gaussian_column"])
def test_sequence_detector_finds_a_broken_relation_and_blames_the_channel(
    recording, likelihood
):
    train, test = recording.iloc[:600], recording.iloc[600:].copy()
    test.iloc[100:110, 1] += 1.5  # the valve departs from the pump's rhythm
    det = SequenceVAEDetector(
        window=5,
        detector=VAEAnomalyDetector(
            max_epochs=100, likelihood=likelihood, random_state=0
        ),
    ).fit(train)
    scores = det.score_samples(test)
    assert scores.shape == (200,)
    assert np.argmin(scores) in range(100, 115)
    blame = det.score_features(test)
    assert list(blame.columns) == ["pump", "valve", "temp"]
    assert blame.iloc[100:110].sum().idxmax() == "valve"
    # Normal times: each channel's blame at or below 0 (its usual range) at
    # most timestamps.
    assert (blame.iloc[:90] <= 0.5).mean().min() > 0.75
    flags = pd.Series(det.predict(test) == -1, index=test.index)
    periods = flagged_periods(flags, blame)
    hit = periods[
        (periods["start"] <= test.index[109]) & (periods["end"] >= test.index[100])
    ]
    assert len(hit) >= 1
    assert hit["top_channels"].iloc[0].startswith("valve")


def test_sequence_detector_first_timestamps_are_scored(recording):
    det = SequenceVAEDetector(
        window=20, detector=VAEAnomalyDetector(**TINY, random_state=0)
    ).fit(recording)
    scores = det.score_samples(recording.iloc[:5])
    assert np.all(np.isfinite(scores))
    assert scores.shape == (5,)


@pytest.mark.parametrize("aggregate", ["last", "mean", "min"])
def test_aggregates_give_one_score_per_timestamp(recording, aggregate):
    det = SequenceVAEDetector(
        window=4,
        aggregate=aggregate,
        detector=VAEAnomalyDetector(**TINY, random_state=0),
    )
    det.fit(recording.iloc[:300])
    assert det.score_samples(recording.iloc[300:400]).shape == (100,)
    assert det.predict(recording.iloc[300:400]).shape == (100,)


def test_sequence_detector_missing_channel(recording):
    det = SequenceVAEDetector(
        window=3, detector=VAEAnomalyDetector(**TINY, random_state=0)
    ).fit(recording)
    with pytest.raises(ValueError, match=r"Channel\(s\) \['temp'\] were used in fit"):
        det.score_samples(recording.drop(columns="temp"))


def test_recording_errors_are_data_errors(recording):
    # The schema checks recordings too: bad data is a DataError, as for tables.
    det = SequenceVAEDetector(
        window=3, detector=VAEAnomalyDetector(**TINY, random_state=0)
    ).fit(recording)
    with pytest.raises(DataError, match="were used in fit but are missing"):
        det.score_samples(recording.drop(columns="temp"))
    text = recording.astype(object)
    text.iloc[5, 0] = "n/a"
    with pytest.raises(DataError, match=r"holds text where readings belong \('n/a'\)"):
        det.score_samples(text)
    blank = recording.copy()
    blank.iloc[10:20] = np.nan
    with pytest.raises(DataError, match="have no reading at all in their window"):
        det.score_samples(blank)


def test_integer_channel_labels_fit_score_blame_and_drift(recording):
    # A frame with integer column labels (say, from a numpy array) used to
    # fit and then fail to score: channels_ holds the labels as text.
    unnamed = recording.set_axis([0, 1, 2], axis=1)
    det = SequenceVAEDetector(
        window=3, detector=VAEAnomalyDetector(**TINY, random_state=0)
    ).fit(unnamed.iloc[:300])
    assert det.channels_ == ["0", "1", "2"]
    scores = det.score_samples(unnamed.iloc[300:400])
    assert scores.shape == (100,)
    assert np.all(np.isfinite(scores))
    assert list(det.score_features(unnamed.iloc[300:400]).columns) == ["0", "1", "2"]
    shifted = unnamed.iloc[300:400].copy()
    shifted[1] += 100.0
    assert list(det.drift(shifted)["channel"]) == ["1"]
    with pytest.warns(DriftWarning, match="'1'"):
        det.score_samples(shifted)
    with pytest.raises(ValueError, match=r"Channel\(s\) \['2'\] were used in fit"):
        det.score_samples(unnamed.drop(columns=2))


def test_default_window_model_keeps_the_gaussian_head(recording):
    from vaeanomaly.sequence import WINDOW_LIKELIHOOD

    assert WINDOW_LIKELIHOOD == "gaussian_column"
    det = SequenceVAEDetector(window=3, calibration_fraction=0.0)
    det.fit(recording.iloc[:100])
    assert set(det.detector_.schema_.heads_) == {"gaussian_column"}
    assert det.detector is None  # the parameter is left as given
    # A window model given with likelihood="auto" gets the same head; a head
    # named by the user is kept.
    for given, expected in [("auto", "gaussian_column"), ("student_t_column",) * 2]:
        model = VAEAnomalyDetector(likelihood=given, max_epochs=2, min_steps=0)
        det = SequenceVAEDetector(window=3, calibration_fraction=0.0, detector=model)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            det.fit(recording.iloc[:100])
        assert set(det.detector_.schema_.heads_) == {expected}
        assert model.likelihood == given


def test_flagged_periods_without_blame():
    periods = flagged_periods([True, True, False, True])
    assert periods[["start", "end", "length"]].to_numpy().tolist() == [
        [0, 1, 2],
        [3, 3, 1],
    ]


def test_long_gaps_are_masked_and_blamed_as_missing():
    t = np.arange(800)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "a": np.sin(t / 10) + 0.05 * rng.normal(size=800),
            "b": np.cos(t / 10) + 0.05 * rng.normal(size=800),
            "c": 0.1 * rng.normal(size=800),
        }
    )
    frame.loc[100:130, "b"] = np.nan  # longer than max_gap=5
    model = VAEAnomalyDetector(**TINY, random_state=0)
    detector = SequenceVAEDetector(window=5, detector=model).fit(frame)
    assert np.isfinite(detector.score_samples(frame)).all()
    test = frame.copy()
    test.loc[500:510, "a"] += 2.0
    test.loc[600:640, "c"] = np.nan
    blame = detector.score_features(test)
    assert blame.iloc[503].idxmax() == "a"
    assert np.isnan(blame.loc[620, "c"])
    assert (detector.predict(test)[501:511] == -1).mean() > 0.8
    strict = SequenceVAEDetector(
        window=5, detector=VAEAnomalyDetector(**TINY, missing="error")
    )
    with pytest.raises(ValueError, match="gap of missing readings longer"):
        strict.fit(frame)
    blank = frame.copy()
    blank.loc[300:320, :] = np.nan
    with pytest.raises(ValueError, match="have no reading at all in their window"):
        detector.score_samples(blank)


def test_threshold_comes_from_the_held_out_end_of_the_recording(recording):
    inner = VAEAnomalyDetector(**TINY, random_state=0)
    det = SequenceVAEDetector(window=4, detector=inner).fit(recording)
    assert det.n_calibration_ == 200  # the last 25% of 800 readings
    # The same threshold by hand: a detector that learned the first 600
    # readings scores the last 200, and robust_z is fitted on those scores.
    early = SequenceVAEDetector(window=4, calibration_fraction=0.0, detector=inner).fit(
        recording.iloc[:600]
    )
    held_out = early.score_samples(recording)[600:]
    median = np.median(held_out)
    mad = np.median(np.abs(held_out - median))
    assert det.offset_ == pytest.approx(median - 3.5 * 1.4826 * mad, rel=1e-9)
    # The kept model learned all 800 readings.
    assert det.detector_.n_samples_fit_ == 800


def test_threshold_from_training_scores_without_calibration(recording):
    inner = VAEAnomalyDetector(**TINY, random_state=0)
    none = SequenceVAEDetector(window=4, calibration_fraction=0.0, detector=inner)
    assert none.fit(recording).n_calibration_ == 800
    short = SequenceVAEDetector(window=4, detector=inner).fit(recording.iloc[:100])
    assert short.n_calibration_ == 100  # 25 held-out readings are too few


def test_drift_names_the_channels_and_times_and_warns(recording):
    import warnings

    from vaeanomaly import DriftWarning

    inner = VAEAnomalyDetector(**TINY, random_state=0)
    det = SequenceVAEDetector(window=4, detector=inner).fit(recording.iloc[:400])
    low, high = det.channel_range_
    assert_allclose(low, recording.iloc[:400].min())
    assert_allclose(high, recording.iloc[:400].max())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing drifts in the training stretch
        det.score_samples(recording.iloc[:400])
    assert det.drift(recording).empty
    drifted = recording.copy()
    drifted.iloc[600:, 2] += 20.0  # 'temp' warms far beyond its training range
    drifted.iloc[700:, 0] -= 40.0  # 'pump' reads far too low
    report = det.drift(drifted)
    assert report["channel"].tolist() == ["pump", "temp"]  # farthest first
    temp = report.set_index("channel").loc["temp"]
    assert temp["n_readings"] == 200
    assert temp["first"] == drifted.index[600]
    assert temp["last"] == drifted.index[-1]
    assert temp["max_sd"] > 10
    with pytest.warns(DriftWarning, match=r"2 channel\(s\).*'pump'.*'temp'") as got:
        det.score_samples(drifted)
    assert got[0].message.report.equals(report)
    # distances below n_sd are not reported
    assert det.drift(drifted, n_sd=1e6).empty


def test_skab_anomaly_free_recording_drifts_on_named_channels(shared_dir):
    from vaeanomaly import DriftWarning

    path = shared_dir / "data" / "skab" / "anomaly-free" / "anomaly-free.csv"
    if not path.exists():
        skip_or_fail(f"SKAB's anomaly-free recording not found at {path}")
    frame = pd.read_csv(path, sep=";", index_col="datetime", parse_dates=True)
    # The drift check needs the training ranges only: a 2-epoch window model.
    inner = VAEAnomalyDetector(**{**TINY, "max_epochs": 2}, random_state=0)
    det = SequenceVAEDetector(window=10, detector=inner).fit(frame.iloc[:400])
    with pytest.warns(DriftWarning, match="'Thermocouple'") as got:
        det.score_samples(frame)
    report = got[0].message.report
    assert report["channel"].iloc[0] == "Thermocouple"
    assert report["max_sd"].iloc[0] > 40
    assert report["first"].iloc[0] > frame.index[399]


def test_a_text_channel_is_named():
    import pandas as pd

    from vaeanomaly.sequence import SequenceVAEDetector

    rec = pd.DataFrame({"p": np.arange(50.0), "state": ["on"] * 50})
    with pytest.raises(ValueError, match="Channel 'state' holds text .*'on'"):
        SequenceVAEDetector(window=3).fit(rec)
