"""The defaults follow the table's width: what a wide table gets, and what decides."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import roc_auc_score

from vaeanomaly import VAEAnomalyDetector
from vaeanomaly._wide import (
    NARROW_MAX_EPOCHS,
    WIDE_COLUMNS,
    WIDE_HIDDEN_WIDTH,
    WIDE_MAX_EPOCHS,
    auto_max_epochs,
    is_wide,
)


def low_rank_table(n_rows, n_cols, seed=0, rank=4):
    """Rows near a ``rank``-dimensional subspace, like an embedding table."""
    rng = np.random.default_rng(seed)
    factors = rng.normal(size=(n_rows, rank))
    loadings = rng.normal(size=(rank, n_cols))
    return factors @ loadings + 0.3 * rng.normal(size=(n_rows, n_cols))


def fit_recording_passes(X, **params):
    records = []
    detector = VAEAnomalyDetector(random_state=0, **params)
    detector.fit(X, callback=records.append)
    return detector, records


def test_the_width_rule_counts_measured_columns_from_a_fixed_number():
    assert not is_wide(WIDE_COLUMNS - 1)
    assert is_wide(WIDE_COLUMNS)
    assert auto_max_epochs(WIDE_COLUMNS) == WIDE_MAX_EPOCHS
    assert auto_max_epochs(WIDE_COLUMNS - 1) == NARROW_MAX_EPOCHS


def test_a_wide_table_gets_gaussian_columns_one_layer_one_fit_and_fewer_epochs():
    X = low_rank_table(120, WIDE_COLUMNS)
    detector, records = fit_recording_passes(X)
    assert set(detector.schema_.heads_) == {"gaussian_column"}
    assert detector.hidden_dims_ == (WIDE_HIDDEN_WIDTH,)
    assert detector.max_epochs_ == WIDE_MAX_EPOCHS
    assert detector.n_trimmed_ == 0
    assert {r["fit_pass"] for r in records} == {1}
    assert {(r["n_passes"], r["max_epochs"]) for r in records} == {(1, WIDE_MAX_EPOCHS)}
    assert len(records) <= WIDE_MAX_EPOCHS


def test_one_column_fewer_keeps_the_narrow_defaults():
    X = low_rank_table(120, WIDE_COLUMNS - 1)
    detector, records = fit_recording_passes(X, max_epochs=3)
    assert set(detector.schema_.heads_) == {"student_t_column"}
    assert len(detector.hidden_dims_) == 2
    assert {r["fit_pass"] for r in records} == {1, 2}  # the ranking fit, then the fit
    assert {r["n_passes"] for r in records} == {2}


def test_columns_of_zeros_and_ones_and_categories_do_not_make_a_table_wide():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        rng.integers(0, 2, size=(80, WIDE_COLUMNS + 20)),
        columns=[f"flag{j}" for j in range(WIDE_COLUMNS + 20)],
    )
    frame["colour"] = pd.Categorical(rng.choice(["red", "blue"], size=80))
    frame["x"] = rng.normal(size=80)
    detector = VAEAnomalyDetector(max_epochs=2, random_state=0).fit(frame)
    assert detector.schema_.n_measured == 1
    assert detector.schema_.heads_[-1] == "student_t_column"
    assert len(detector.hidden_dims_) == 2


def test_explicit_settings_win_over_the_width_defaults():
    X = low_rank_table(100, WIDE_COLUMNS)
    detector, records = fit_recording_passes(
        X,
        likelihood="student_t_column",
        hidden_dims=(16, 8),
        trim=0.1,
        max_epochs=3,
    )
    assert set(detector.schema_.heads_) == {"student_t_column"}
    assert detector.hidden_dims_ == (16, 8)
    assert detector.max_epochs_ == 3
    assert detector.n_trimmed_ > 0
    assert {r["fit_pass"] for r in records} == {1, 2}


def test_a_wide_fit_cut_below_its_own_epochs_warns_its_default_does_not():
    X = low_rank_table(150, WIDE_COLUMNS, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        VAEAnomalyDetector(random_state=0).fit(X)
    with pytest.warns(ConvergenceWarning, match="max_epochs=2"):
        VAEAnomalyDetector(max_epochs=2, min_steps=0, random_state=0).fit(X)


def test_a_wide_default_fit_finds_rows_off_the_subspace():
    rng = np.random.default_rng(42)  # not the table's own stream
    X = low_rank_table(400, 200, seed=3)
    detector = VAEAnomalyDetector(random_state=0).fit(X[:300])
    test = X[300:].copy()
    labels = np.zeros(len(test), dtype=bool)
    labels[:10] = True
    test[:10] += rng.normal(scale=1.5, size=(10, 200))  # off the subspace
    assert roc_auc_score(labels, -detector.score_samples(test)) > 0.95
