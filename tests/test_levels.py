import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from vaeanomaly.levels import LocalLevel


def noisy_ramp(rng, n=4000, slope=0.02):
    """A channel that drifts by ``slope`` SD per reading: 80 SD over 4,000 readings."""
    t = np.arange(n, dtype=float)
    return (slope * t + rng.normal(size=n))[:, None]


def test_slow_drift_stays_near_its_level_however_far_it_goes(rng):
    drift = noisy_ramp(rng)
    level = LocalLevel(window=1000).fit(drift[:500])
    distances = level.transform(drift)[:, 0]
    # The ramp moves the median and widens the spread together: a linear drift
    # over the window sits about 2 MADs (1.35 spreads) above its level.
    assert np.abs(distances).max() < 6
    assert abs(np.median(distances[1000:]) - 2 / 1.4826) < 0.3


def test_a_fast_step_stands_out_while_it_is_young_then_becomes_normal(rng):
    flat = rng.normal(size=(3000, 1))
    level = LocalLevel(window=1000).fit(flat[:500])
    flat[1000:, 0] += 6.0  # a step of 6 SD that never goes back
    distances = level.transform(flat)[:, 0]
    assert distances[1000:1450].mean() > 4.5  # young: a fault, undiminished
    assert abs(np.median(distances[2000:])) < 1  # after window/2: normal


def test_a_fault_does_not_drag_the_level_or_spread_towards_itself(rng):
    flat = rng.normal(size=(2000, 1))
    level = LocalLevel(window=1000).fit(flat[:500])
    faulty = flat.copy()
    faulty[1000:1400, 0] -= 5.0
    distances = level.transform(faulty)[:, 0]
    # 400 faulty readings in a window of 1,000: a plain median/MAD level moves
    # and widens towards them (about -1.9 by the end); the gate keeps them out
    # while they are young.
    assert distances[1350:1400].mean() < -3.8
    ungated = LocalLevel(window=1000, gate=1e9).fit(flat[:500]).transform(faulty)
    assert ungated[1350:1400, 0].mean() > -2.5
    # and after the fault the channel is at its old level again
    assert abs(np.median(distances[1450:])) < 0.5


def test_the_first_readings_use_the_training_level(rng):
    cycle = np.sin(np.arange(600) / 15)[:, None] + 0.05 * rng.normal(size=(600, 1))
    level = LocalLevel(window=1000).fit(cycle[:400])
    # Fewer than window / 4 readings: measured against the training level.
    short = level.transform(cycle[400:])
    assert_allclose(short, (cycle[400:] - level.level_) / level.spread_)
    assert level.spread_[0] >= level.scale_[0]


def test_missing_readings_stay_missing_and_frames_keep_their_labels(rng):
    frame = pd.DataFrame(rng.normal(size=(600, 2)), columns=["a", "b"])
    level = LocalLevel(window=200).fit(frame)
    gappy = frame.copy()
    gappy.iloc[300:320, 0] = np.nan
    out = level.transform(gappy)
    assert list(out.columns) == ["a", "b"]
    assert_array_equal(out.index, frame.index)
    assert out["a"].iloc[300:320].isna().all()
    assert out.iloc[320:].notna().all().all()


def test_a_constant_channel_is_measured_in_units_of_one(rng):
    X = np.column_stack([np.full(300, 7.0), rng.normal(size=300)])
    level = LocalLevel(window=100).fit(X)
    assert level.scale_[0] == 1.0
    assert np.isfinite(level.transform(X)).all()


def test_bad_settings_name_the_parameter():
    with pytest.raises(ValueError, match="'window' parameter of LocalLevel"):
        LocalLevel(window=1).fit(np.zeros((10, 1)))
    with pytest.raises(ValueError, match="'gate' parameter of LocalLevel"):
        LocalLevel(gate=0).fit(np.zeros((10, 1)))
