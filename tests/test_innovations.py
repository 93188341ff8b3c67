import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from vaeanomaly import VAEAnomalyDetector
from vaeanomaly.innovations import LinearInnovations
from vaeanomaly.sequence import SequenceVAEDetector


def drifting_plant(rng, n=1000):
    """A temperature that warms steadily and a noisy flow rate."""
    t = np.arange(n, dtype=float)
    return pd.DataFrame(
        {
            "temperature": 0.01 * t + 0.02 * rng.normal(size=n),
            "flow": 5.0 + rng.normal(size=n),
        },
        index=pd.date_range("2026-05-01", periods=n, freq="s"),
    )


def test_a_drift_beyond_the_training_range_is_predicted_from_its_past(rng):
    plant = drifting_plant(rng)
    step = LinearInnovations(order=3).fit(plant.iloc[:300])
    errors = step.transform(plant)
    raw_z = (plant - plant.iloc[:300].mean()) / plant.iloc[:300].std()
    # By the end the temperature is 10 standard deviations above training...
    assert raw_z["temperature"].iloc[-100:].min() > 8
    # ...yet its prediction errors stay as small as in training.
    train_spread = errors["temperature"].iloc[3:300].std()
    assert errors["temperature"].iloc[-100:].abs().max() < 6 * train_spread


def test_a_level_shift_of_a_noisy_channel_lasts_in_its_errors(rng):
    plant = drifting_plant(rng)
    plant.iloc[600:700, 1] -= 3.0  # the flow drops for 100 readings
    errors = LinearInnovations(order=3).fit(plant.iloc[:300]).transform(plant)
    assert errors["flow"].iloc[610:700].mean() < -2.0
    assert abs(errors["flow"].iloc[300:600].mean()) < 0.3


def test_keeps_index_and_columns_and_arrays_stay_arrays(rng):
    plant = drifting_plant(rng, n=50)
    step = LinearInnovations(order=2).fit(plant)
    out = step.transform(plant)
    assert list(out.columns) == ["temperature", "flow"]
    assert out.index.equals(plant.index)
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        assert_allclose(step.transform(plant.to_numpy()), out.to_numpy())
    assert step.coef_.shape == (4, 2)


def test_a_missing_reading_gets_a_missing_error_and_later_ones_are_defined(rng):
    plant = drifting_plant(rng, n=200)
    step = LinearInnovations(order=3).fit(plant)
    gap = plant.copy()
    gap.iloc[100:110, 1] = np.nan
    errors = step.transform(gap)
    assert errors["flow"].iloc[100:110].isna().all()
    assert errors["temperature"].notna().all()
    assert errors.iloc[110:].notna().all().all()
    # Training skips the timestamps whose reading or past is incomplete.
    assert_allclose(LinearInnovations(order=3).fit(gap).coef_, step.coef_, atol=0.2)


def test_bad_input_says_what_is_wrong(rng):
    with pytest.raises(ValueError, match="needs at least 2 timestamps"):
        LinearInnovations(order=4).fit(np.zeros((5, 2)))
    step = LinearInnovations(order=2).fit(drifting_plant(rng, n=50))
    with (
        pytest.raises(ValueError, match="X has 3 features, but .* expecting 2"),
        pytest.warns(UserWarning, match="X does not have valid feature names"),
    ):
        step.transform(np.zeros((10, 3)))


def test_sequence_detector_ignores_drift_but_finds_the_drop(rng):
    plant = drifting_plant(rng)
    plant.iloc[700:800, 1] -= 3.0
    train, test = plant.iloc[:300], plant.iloc[300:]
    normal = np.r_[0:400, 500:700]  # test positions without the drop

    def flags(**params):
        det = SequenceVAEDetector(
            window=5,
            detector=VAEAnomalyDetector(max_epochs=60, random_state=0),
            **params,
        ).fit(train)
        return det.predict(test) == -1

    raw = flags(level_window=None, ar_order=0)
    assert raw[normal].mean() > 0.5  # raw readings: the warming is an alarm
    # The prediction step alone, and the local level with it (the default).
    for found in (flags(level_window=None, ar_order=4), flags()):
        assert found[normal].mean() < 0.1
        assert found[410:500].mean() > 0.5  # the drop is found
