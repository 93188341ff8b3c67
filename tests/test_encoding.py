"""Categorical columns and missing values: the encoding and the detector on it."""

import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from conftest import TINY
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.compose import make_column_transformer
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from vaeanomaly import VAEAnomalyDetector, load_model, save_model
from vaeanomaly._encoding import TableEncoder
from vaeanomaly._model import VAE, Rows
from vaeanomaly._values import (
    categorical_columns,
    column_levels,
    column_resolution,
    table_values,
)
from vaeanomaly.likelihoods import UNKNOWN_LEVEL_MASS, FactorizedLikelihood
from vaeanomaly.scoring import SCORE_METHODS

BASE = {"idle": 0.0, "run": 2.0, "boost": 4.0}
#: Settings for the mixed-table tests: small, but trained long enough to learn
#: which reading goes with which mode.
MIXED = {
    "hidden_dims": (32,),
    "latent_dim": 2,
    "batch_size": 32,
    "max_epochs": 150,
    "patience": None,
    "n_draws": 8,
}


def machine_table(rng, n):
    """Operating mode (text) and a reading whose level depends on the mode."""
    mode = rng.choice(list(BASE), size=n, p=[0.3, 0.5, 0.2])
    reading = np.array([BASE[m] for m in mode]) + 0.3 * rng.normal(size=n)
    return pd.DataFrame({"mode": mode, "reading": reading, "other": rng.normal(size=n)})


@pytest.fixture(scope="module")
def mixed():
    """Train table, and a test table whose last 40 rows pair a reading with the
    wrong mode: each column alone looks normal, only the combination is not."""
    rng = np.random.default_rng(0)
    train = machine_table(rng, 500)
    normal, wrong = machine_table(rng, 200), machine_table(rng, 40)
    wrong["mode"] = wrong["mode"].map({"idle": "boost", "run": "idle", "boost": "idle"})
    test = pd.concat([normal, wrong], ignore_index=True)
    y = np.r_[np.zeros(200), np.ones(40)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        detector = VAEAnomalyDetector(**MIXED, random_state=0).fit(train)
    return detector, train, test, y


# ------------------------------------------------------------------ encoding
def test_categorical_columns_from_dtype_names_positions_and_masks():
    frame = pd.DataFrame(
        {
            "a": [1.0, 2.0],
            "b": ["x", "y"],
            "c": pd.Categorical(["p", "q"]),
            "d": [True, False],
            "e": [1, 2],
        }
    )
    names = list(frame.columns)
    assert_array_equal(
        categorical_columns(frame, "from_dtype", names, 5), [0, 1, 1, 1, 0]
    )
    assert_array_equal(categorical_columns(frame, ["e", 1], names, 5), [0, 1, 0, 0, 1])
    assert_array_equal(
        categorical_columns(frame, [True, False, False, False, True], names, 5),
        [1, 0, 0, 0, 1],
    )
    assert not categorical_columns(frame, None, names, 5).any()
    assert not categorical_columns(frame.to_numpy(), "from_dtype", names, 5).any()
    with pytest.raises(ValueError, match="column index 7"):
        categorical_columns(frame, [7], names, 5)


def test_levels_and_codes():
    column = pd.Series(["run", "idle", None, "run"])
    levels = column_levels(column)
    assert levels == ["idle", "run"]
    categories = pd.Series(pd.Categorical(["b"], categories=["c", "b", "a"]))
    assert column_levels(categories) == ["c", "b", "a"]  # the dtype's own order
    frame = pd.DataFrame({"mode": ["run", "boost", None, pd.NA], "x": [1.0, 2, 3, 4]})
    values = table_values(frame, np.array([True, False]), [levels, None], ["mode", "x"])
    assert_array_equal(values[:, 0], [1.0, -1.0, np.nan, np.nan])  # -1: unseen level
    assert_array_equal(values[:, 1], [1.0, 2.0, 3.0, 4.0])


def test_integer_levels_match_floats_read_from_a_file_with_gaps():
    levels = column_levels(pd.Series([3, 1, 2]))
    assert levels == [1, 2, 3]
    assert all(type(v) is int for v in levels)
    values = table_values(
        pd.DataFrame({"m": [1.0, 3.0, np.nan]}), np.array([True]), [levels], ["m"]
    )
    assert_array_equal(values[:, 0], [0.0, 2.0, np.nan])


def test_text_in_a_numeric_column_names_it():
    frame = pd.DataFrame({"x": [1.0, "oops"]})
    with pytest.raises(ValueError, match=r"Column 'x' holds text .*\('oops'\)"):
        table_values(frame, np.array([False]), [None], ["x"])


def test_encoder_layout():
    encoder = TableEncoder(
        mean=np.array([10.0, 0.0, 0.0]),
        scale=np.array([2.0, 1.0, 1.0]),
        levels=[None, ["a", "b", "c"], None],
        indicators=np.array([True, False, False]),
    )
    assert encoder.n_inputs == 1 + 3 + 1 + 1
    assert encoder.n_levels == [3]
    values = np.array([[12.0, 2.0, 1.0], [np.nan, -1.0, 0.0], [10.0, np.nan, 1.0]])
    inputs, targets, mask = encoder.encode(values)
    # number | one-hot of 3 levels | flag | missing indicator of column 0
    assert_array_equal(
        inputs,
        [
            [1.0, 0, 0, 1, 1, 0],
            [0.0, 0, 0, 0, 0, 1],  # missing -> 0 + indicator; unseen -> no level
            [0.0, 0, 0, 0, 1, 0],
        ],
    )
    assert_array_equal(targets, [[1.0, 2.0, 1.0], [0.0, -1.0, 0.0], [0.0, 0.0, 1.0]])
    assert_array_equal(mask, [[1, 1, 1], [0, 1, 1], [1, 0, 1]])


def test_plain_numeric_tables_are_not_copied_twice():
    encoder = TableEncoder(
        mean=np.zeros(2),
        scale=np.ones(2),
        levels=[None, None],
        indicators=np.zeros(2, dtype=bool),
    )
    inputs, targets, mask = encoder.encode(np.ones((3, 2)))
    assert inputs is targets
    assert mask is None


# ------------------------------------------------------------------ scoring
def test_masked_cells_do_not_change_any_score():
    torch.manual_seed(0)
    lik = FactorizedLikelihood(["gaussian_column", "categorical"], n_levels=[3])
    vae = VAE(5, 2, (8,), lik).double().eval()
    inputs = torch.randn(4, 5, dtype=torch.float64)
    targets = torch.tensor([[0.5, 1.0], [1.0, 2.0], [-1.0, 0.0], [0.2, 1.0]]).double()
    mask = torch.tensor([[True, True], [True, False], [False, True], [True, True]])
    eps = torch.randn(6, 1, 2, dtype=torch.float64)
    other = targets.clone()
    other[2, 0] = 99.0  # whatever is hidden must not matter
    other[1, 1] = 0.0
    for name, fn in SCORE_METHODS.items():
        first = fn(vae, Rows(inputs, targets, mask), eps)
        second = fn(vae, Rows(inputs, other, mask), eps)
        assert_allclose(first.detach(), second.detach(), err_msg=name)


# ------------------------------------------------------------------ detector
@pytest.mark.slow  # about 4.5 s: fits a one-hot baseline too
def test_anomalies_in_the_categorical_column_are_found(mixed):
    detector, train, test, y = mixed
    assert detector.schema_.heads_ == [
        "categorical",
        "student_t_column",
        "student_t_column",
    ]
    assert detector.schema_.categories_[0] == ["boost", "idle", "run"]
    auroc = roc_auc_score(y, -detector.score_samples(test))
    baseline = make_pipeline(
        make_column_transformer(
            (OneHotEncoder(sparse_output=False), ["mode"]),
            (StandardScaler(), ["reading", "other"]),
        ),
        StandardScaler(),
        VAEAnomalyDetector(**MIXED, random_state=0),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        baseline.fit(train)
    baseline_auroc = roc_auc_score(y, -baseline.score_samples(test))
    print(f"AUROC native {auroc:.3f}, one-hot + StandardScaler {baseline_auroc:.3f}")
    assert auroc > 0.9
    assert auroc >= baseline_auroc - 0.05
    # The blame goes to the mode of the wrong rows, not to the reading.
    blame = detector.score_features(test).iloc[200:]
    assert (blame["mode"] > blame["other"]).mean() > 0.8


def test_unseen_level_scores_as_unusual_and_does_not_fail(mixed):
    detector, _, test, _ = mixed
    row = test.iloc[[0]].copy()
    unseen = row.assign(mode="turbo")
    assert detector.score_samples(unseen)[0] < detector.score_samples(row)[0]
    contribution = detector.score_features(unseen)["mode"].iloc[0]
    assert contribution == pytest.approx(-np.log(UNKNOWN_LEVEL_MASS))
    assert detector.predict(unseen)[0] == -1


def test_bool_and_category_dtypes_and_forced_integer_codes(rng):
    n = 200
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "valve_open": rng.random(n) > 0.5,
            "site": pd.Categorical(rng.choice(["north", "south"], size=n)),
            "mode_id": rng.choice([1, 2, 3], size=n),
        }
    )
    detector = VAEAnomalyDetector(
        **TINY, categorical_features=["valve_open", "site", "mode_id"], random_state=0
    ).fit(frame)
    assert detector.schema_.heads_[1:] == ["categorical"] * 3
    assert detector.schema_.categories_[1] == [False, True]
    assert detector.schema_.categories_[3] == [1, 2, 3]
    assert detector.module_.n_inputs == 1 + 2 + 2 + 3
    assert np.isfinite(detector.score_samples(frame)).all()
    # From dtype alone, the integer codes stay numeric.
    auto = VAEAnomalyDetector(**TINY, random_state=0).fit(frame)
    assert auto.schema_.heads_[3] == "student_t_column"


def test_rows_with_gaps_are_scored_on_what_they_have(blob_frame):
    X, y = blob_frame
    rng = np.random.default_rng(3)
    holes = X.mask(rng.random(X.shape) < 0.2)
    holes.iloc[:, :] = np.where(holes.isna().all(axis=1).to_numpy()[:, None], X, holes)
    detector = VAEAnomalyDetector(**TINY, random_state=0).fit(holes)
    assert detector.schema_.indicators_.all()
    assert detector.module_.n_inputs == 2 * X.shape[1]
    scores = detector.score_samples(holes)
    assert np.isfinite(scores).all()
    assert roc_auc_score(y, -scores) > 0.9
    contributions = detector.score_features(holes)
    assert_array_equal(contributions.isna().to_numpy(), holes.isna().to_numpy())
    # Hiding the one far-off cell of a row makes the row look normal again.
    far = X.iloc[[0]].copy()
    far.iloc[0, 1] = 50.0
    hidden = far.copy()
    hidden.iloc[0, 1] = np.nan
    assert detector.predict(far)[0] == -1
    assert detector.predict(hidden)[0] == 1
    assert detector.score_samples(hidden)[0] > detector.score_samples(far)[0] + 20


def test_gaps_only_at_score_time_are_masked(blob_frame):
    X, _ = blob_frame
    detector = VAEAnomalyDetector(**TINY, random_state=0).fit(X)
    assert not detector.schema_.indicators_.any()
    gap = X.iloc[:5].copy()
    gap.iloc[:, 2] = np.nan
    assert np.isfinite(detector.score_samples(gap)).all()
    strict = VAEAnomalyDetector(**TINY, missing="error", random_state=0).fit(X)
    with pytest.raises(ValueError, match=r"'flow' \(5 NaN, 0 inf\)"):
        strict.score_samples(gap)


def test_scores_per_observed_cell_compare_rows_with_and_without_gaps(blob_frame):
    X, _ = blob_frame
    inliers = X.iloc[:400]
    gappy = inliers.copy()
    gappy.iloc[:, 2:] = np.nan  # half of every row missing
    detector = VAEAnomalyDetector(**TINY, random_state=0).fit(inliers)
    full, half = detector.score_samples(inliers), detector.score_samples(gappy)
    per_cell = detector.set_params(score_per_cell=True)
    full_cell, half_cell = (
        per_cell.score_samples(inliers),
        per_cell.score_samples(gappy),
    )
    # Per cell, complete rows keep their ranking (scores / n_features)...
    assert_allclose(full_cell, full / X.shape[1])
    # ...and rows with half their cells sit on the same scale as complete rows,
    # whereas their summed scores sit far from the complete rows'.
    gap_sum = abs(np.median(half) - np.median(full)) / np.std(full)
    gap_cell = abs(np.median(half_cell) - np.median(full_cell)) / np.std(full_cell)
    print(
        f"median gap in sd of complete rows: sum {gap_sum:.2f}, per cell {gap_cell:.2f}"
    )
    assert gap_cell < 0.5 < gap_sum


def test_mixed_model_round_trips_through_model_file_and_joblib(mixed, tmp_path):
    detector, _, test, _ = mixed
    holes = test.copy()
    holes.loc[3, "reading"] = np.nan
    holes.loc[4, "mode"] = None
    holes.loc[5, "mode"] = "turbo"
    expected = detector.score_samples(holes)
    save_model(detector, tmp_path / "m.vae")
    assert_allclose(load_model(tmp_path / "m.vae").score_samples(holes), expected)
    joblib.dump(detector, tmp_path / "m.joblib")
    assert_allclose(joblib.load(tmp_path / "m.joblib").score_samples(holes), expected)


def test_columns_must_keep_their_kind(mixed):
    detector, _, test, _ = mixed
    with pytest.raises(ValueError, match=r"Column 'reading' holds text"):
        detector.score_samples(test.assign(reading="high"))
    with pytest.raises(ValueError, match="feature names"):
        detector.score_samples(test.rename(columns={"mode": "state"}))


@pytest.mark.slow  # about 2.5 s: an ADBench set
def test_hiding_a_fifth_of_the_cells_loses_little_auroc(shared_dir):
    """ADBench Ionosphere, 20% of cells hidden in train and test parts."""
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import MinMaxScaler

    data = np.load(shared_dir / "data" / "adbench" / "18_Ionosphere.npz")
    X_train, X_test, _, y_test = train_test_split(
        data["X"], data["y"], test_size=0.3, stratify=data["y"], random_state=0
    )
    scaler = MinMaxScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    rng = np.random.default_rng(0)

    def hide(X):
        out = X.copy()
        out[rng.random(X.shape) < 0.2] = np.nan
        return out

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        complete = VAEAnomalyDetector(random_state=0).fit(X_train)
        masked = VAEAnomalyDetector(random_state=0).fit(hide(X_train))
    auroc_complete = roc_auc_score(y_test, -complete.score_samples(X_test))
    auroc_masked = roc_auc_score(y_test, -masked.score_samples(hide(X_test)))
    print(f"AUROC complete {auroc_complete:.3f}, 20% hidden {auroc_masked:.3f}")
    assert auroc_masked > auroc_complete - 0.05


def test_column_resolution_finds_the_step_of_discrete_columns(rng):
    counts = rng.integers(0, 40, size=300).astype(float)
    scaled = (counts - counts.min()) / (counts.max() - counts.min())  # min-max
    values = np.column_stack(
        [counts, scaled, rng.normal(size=300), np.full(300, 2.0), counts]
    )
    values[::7, 4] = np.nan
    step = column_resolution(values)
    assert_allclose(step[[0, 4]], 1.0)
    assert_allclose(step[1], 1.0 / (counts.max() - counts.min()), rtol=1e-9)
    assert 0 < step[2] < 0.1  # continuous: a tiny step, so no floor to speak of
    assert step[3] == 0.0  # constant


def test_discrete_columns_cannot_collapse_the_gaussian_scale(rng):
    # A 3-valued column (as in ADBench's donors): without a floor its learned
    # scale shrinks around the three values and a one-step miss costs a fortune.
    codes = rng.integers(0, 3, size=600).astype(float)
    X = np.column_stack([codes, codes + 0.1 * rng.normal(size=600)])
    params = {**TINY, "max_epochs": 80, "min_steps": 0, "trim": None}
    det = VAEAnomalyDetector(**params, random_state=0).fit(X)
    head = det.module_.likelihood.heads["student_t_column"]
    floor = 1.0 / det.schema_.scale_[0] / np.sqrt(12)
    assert head.min_scale[0].item() == pytest.approx(floor, rel=1e-5)
    assert head.min_scale[1].item() == pytest.approx(1e-2)
    learned = torch.nn.functional.softplus(head.raw_scale) + head.min_scale
    assert torch.all(learned[..., 0] >= floor)  # every member's
    plain = VAEAnomalyDetector(**params, dequantize=False, random_state=0).fit(X)
    assert np.all(plain.schema_.resolution_ == 0)
