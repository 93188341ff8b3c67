import copy
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
from conftest import TINY, make_blob
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from vaeanomaly import TrainingError, VAEAnomalyDetector
from vaeanomaly.thresholds import POTThreshold

SCORE_METHODS = ["elbo", "iwae", "recon_prob", "recon_error", "rarest_value"]


@pytest.fixture(scope="module")
def blob_model():
    """``VAEAnomalyDetector(**TINY, random_state=0)`` fitted on ``blob``, once,
    for the tests that only read it (the same model a fit in each would give)."""
    X, _ = make_blob(np.random.default_rng(0))  # conftest's rng and blob
    return VAEAnomalyDetector(**TINY, random_state=0).fit(X)


@pytest.mark.parametrize("score_method", SCORE_METHODS)
def test_far_points_score_lower(blob, score_method):
    X, y = blob
    det = VAEAnomalyDetector(**TINY, score_method=score_method, random_state=0).fit(X)
    scores = det.score_samples(X)
    assert scores.shape == (len(X),)
    assert roc_auc_score(y, -scores) > 0.95


def test_predict_decision_function_and_offset(blob):
    X, _ = blob
    det = VAEAnomalyDetector(**TINY, contamination=0.05, random_state=0).fit(X)
    decision = det.decision_function(X)
    assert_allclose(decision, det.score_samples(X) - det.offset_)
    pred = det.predict(X)
    assert set(np.unique(pred)) <= {-1, 1}
    assert_array_equal(pred == -1, decision < 0)
    assert (pred == -1).sum() == pytest.approx(0.05 * len(X), abs=1)
    assert_array_equal(det.fit_predict(X), pred)


def test_scores_are_deterministic_and_row_independent(blob):
    X, _ = blob
    det = VAEAnomalyDetector(**TINY, random_state=3).fit(X)
    first = det.score_samples(X)
    assert_array_equal(det.score_samples(X), first)
    assert_allclose(det.score_samples(X[::-1]), first[::-1], rtol=1e-6)
    assert_allclose(det.score_samples(X[10:13]), first[10:13], rtol=1e-6)


def test_same_random_state_same_model(blob):
    X, _ = blob
    a = VAEAnomalyDetector(**TINY, random_state=5).fit(X).score_samples(X)
    b = VAEAnomalyDetector(**TINY, random_state=5).fit(X).score_samples(X)
    assert_array_equal(a, b)


def test_fit_leaves_global_torch_rng_alone(blob):
    import torch

    X, _ = blob
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    VAEAnomalyDetector(**TINY, random_state=0).fit(X)
    assert_array_equal(torch.rand(3).numpy(), expected.numpy())


def test_more_draws_reduce_score_noise(blob, blob_model):
    X, _ = blob
    det = copy.deepcopy(blob_model)  # set_params below changes it
    # The 64-draw ELBO is much closer to its large-sample value than one draw.
    reference = det.set_params(n_draws=4096).score_samples(X[:50])
    err1 = np.abs(det.set_params(n_draws=1).score_samples(X[:50]) - reference).mean()
    err64 = np.abs(det.set_params(n_draws=64).score_samples(X[:50]) - reference).mean()
    assert err64 < err1 / 2


def test_pandas_in_keeps_names_and_feature_contributions(blob_frame):
    frame, y = blob_frame
    frame.index = pd.RangeIndex(100, 100 + len(frame))
    det = VAEAnomalyDetector(**TINY, random_state=0).fit(frame)
    assert list(det.feature_names_in_) == list(frame.columns)
    contrib = det.score_features(frame)
    assert isinstance(contrib, pd.DataFrame)
    assert list(contrib.columns) == list(frame.columns)
    assert contrib.index.equals(frame.index)
    # The far points' contributions are larger than the inliers'.
    assert (
        contrib.to_numpy()[y == 1].sum(1).mean()
        > 3 * contrib.to_numpy()[y == 0].sum(1).mean()
    )
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        assert isinstance(det.score_features(frame.to_numpy()), np.ndarray)


def test_feature_contributions_point_at_the_odd_column(rng):
    X = rng.normal(size=(500, 4))
    X[:, 1] = X[:, 0] + 0.05 * rng.normal(size=500)
    det = VAEAnomalyDetector(**TINY, random_state=0).fit(X)
    odd = np.array([[0.5, 0.5, 0.0, 0.0]])
    odd[0, 3] = 7.0
    assert np.argmax(det.score_features(odd)[0]) == 3


def test_standardize_makes_units_irrelevant(blob, blob_model):
    X, _ = blob
    scales = np.array([1e-3, 1.0, 1e3, 50.0])
    a = blob_model
    b = VAEAnomalyDetector(**TINY, random_state=0).fit(X * scales)
    assert_allclose(
        a.score_samples(X), b.score_samples(X * scales), rtol=1e-3, atol=1e-3
    )


def test_auto_likelihood_picks_bernoulli_for_binary_columns(rng):
    X = np.c_[rng.normal(size=200), rng.integers(0, 2, 200), rng.normal(size=200)]
    det = VAEAnomalyDetector(**TINY, random_state=0).fit(X)
    assert det.schema_.heads_ == [
        "student_t_column",
        "bernoulli",
        "student_t_column",
    ]
    assert det.schema_.mean_[1] == 0
    assert det.schema_.scale_[1] == 1


@pytest.mark.parametrize(
    "likelihood", ["gaussian", "gaussian_column", "gaussian_fixed", "bernoulli"]
)
def test_each_likelihood_fits(rng, likelihood):
    X = rng.uniform(size=(200, 3))
    det = VAEAnomalyDetector(**TINY, likelihood=likelihood, random_state=0).fit(X)
    assert np.all(np.isfinite(det.score_samples(X)))


def test_bernoulli_rejects_values_outside_unit_interval(rng):
    X = rng.normal(size=(50, 2))
    with pytest.raises(
        ValueError, match=r"likelihood='bernoulli' needs values in \[0, 1\]"
    ):
        VAEAnomalyDetector(**TINY, likelihood="bernoulli", standardize=False).fit(X)


def test_history_and_early_stopping(blob):
    X, _ = blob
    params = {"hidden_dims": (16,), "latent_dim": 2, "max_epochs": 500, "patience": 3}
    params.update(n_members=1, trim=None)  # one plain fit, as the counts assume
    det = VAEAnomalyDetector(**params, min_steps=0, random_state=0)
    det.fit(X)
    assert det.n_iter_ == len(det.history_) < 500
    assert set(det.history_[0]) >= {"epoch", "train_loss", "valid_loss", "dur"}
    best = min(h["valid_loss"] for h in det.history_)
    assert det.history_[det.best_epoch_ - 1]["valid_loss"] == best
    # min_steps holds early stopping back: 367 training rows are 3 steps of 128
    # per epoch, so 300 steps take at least 100 epochs.
    held = VAEAnomalyDetector(**params, min_steps=300, random_state=0).fit(X)
    assert det.n_iter_ < 100 <= held.n_iter_ < 500


def test_convergence_warning_when_still_improving(blob):
    X, _ = blob
    with pytest.warns(ConvergenceWarning, match="max_epochs=1"):
        VAEAnomalyDetector(**{**TINY, "max_epochs": 1}, random_state=0).fit(X)


def test_callback_and_verbose(blob, capsys):
    X, _ = blob
    seen = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        VAEAnomalyDetector(**{**TINY, "max_epochs": 3}, verbose=1, random_state=0).fit(
            X, callback=seen.append
        )
    # Two fits: the second after trimming (trim="auto").
    assert [h["epoch"] for h in seen] == [1, 2, 3, 1, 2, 3]
    assert [h["fit_pass"] for h in seen] == [1, 1, 1, 2, 2, 2]
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "epoch    1" in captured.err


def test_kl_warmup_ramps_beta(blob):
    X, _ = blob
    det = VAEAnomalyDetector(
        **{**TINY, "max_epochs": 6, "patience": None}, kl_warmup=4, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        det.fit(X)
    assert [h["beta"] for h in det.history_] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]


def test_threshold_parameter_sets_offset(blob):
    X, _ = blob
    det = VAEAnomalyDetector(
        **TINY, threshold=POTThreshold(risk=1e-2, initial_quantile=0.9), random_state=0
    )
    det.fit(X)
    assert det.threshold_ is not det.threshold
    assert det.offset_ == pytest.approx(det.threshold_.threshold_)
    by_name = VAEAnomalyDetector(**TINY, threshold="iqr", random_state=0).fit(X)
    assert_array_equal(
        by_name.predict(X) == -1, by_name.score_samples(X) < by_name.offset_
    )


def test_threshold_and_contamination_conflict(blob):
    X, _ = blob
    with pytest.raises(
        ValueError, match="Keep contamination='auto' when you pass threshold"
    ):
        VAEAnomalyDetector(**TINY, threshold="pot", contamination=0.1).fit(X)


def test_not_fitted():
    with pytest.raises(NotFittedError, match="VAEAnomalyDetector"):
        VAEAnomalyDetector().score_samples(np.zeros((2, 2)))


@pytest.mark.parametrize(
    ("X", "params", "match"),
    [
        (
            np.array([[1.0, np.nan], [2.0, 3.0], [0.0, 1.0]]),
            {"missing": "error"},
            r"'column 1' \(1 NaN, 0 inf\)",
        ),
        (
            np.array([[1.0, np.inf], [2.0, 3.0], [0.0, 1.0]]),
            {"missing": "error"},
            r"'column 1' \(0 NaN, 1 inf\)",
        ),
        (
            np.array([[1.0, np.inf], [2.0, np.nan], [0.0, 1.0]]),
            {},
            r"infinity in 'column 1' \(1 inf\)",
        ),
        (
            pd.DataFrame({"temp": [1.0, np.nan, 2.0], "flow": [1.0, 2.0, 3.0]}),
            {"missing": "error"},
            r"'temp' \(1 NaN, 0 inf\)\. Fill the missing values",
        ),
        (
            pd.DataFrame({"temp": [1.0, np.nan, 2.0], "mode": ["a", None, "b"]}),
            {},
            r"1 row\(s\) of X have no observed value \(rows 1\)",
        ),
        (
            pd.DataFrame({"temp": [1.0, np.inf, 2.0], "mode": ["a", "b", "b"]}),
            {},
            r"infinity in 'temp' \(1 inf\)",
        ),
        (
            pd.DataFrame({"temp": [1.0, np.nan, 2.0], "mode": ["a", "b", "b"]}),
            {"missing": "error"},
            r"'temp' \(1 NaN, 0 inf\)",
        ),
        (
            pd.DataFrame({"temp": [1.0, 2.0, 3.0], "mode": [None, None, None]}),
            {"categorical_features": ["mode"]},
            r"Categorical column\(s\) \['mode'\] have no values in X",
        ),
        (
            pd.DataFrame({"a": [1.0, 2.0, 3.0], "t": pd.date_range("2026", periods=3)}),
            {},
            r"Column\(s\) \['t'\] hold dates, times or durations",
        ),
        (
            pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [[1], [2], [1]]}),
            {},
            r"Column 'b' holds values that cannot be categories \(unhashable",
        ),
        (np.zeros((0, 3)), {}, "0 sample"),
        (np.zeros((1, 3)), {}, "1 sample"),
        (
            pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["x", "y", "z"]}),
            {"categorical_features": None},
            r"Column\(s\) \['b'\] hold text where numbers belong",
        ),
        (
            pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["x", "y", "z"]}),
            {"categorical_features": ["a"]},
            r"Column 'b' holds text where numbers belong \('x'\)",
        ),
        (
            pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["x", "y", "z"]}),
            {"categorical_features": ["c"]},
            r"names column 'c', which is not in X",
        ),
    ],
)
def test_bad_training_data(X, params, match):
    with pytest.raises(ValueError, match=match):
        VAEAnomalyDetector(**TINY, **params).fit(X)


def test_constant_column_is_fine(rng):
    X = np.c_[rng.normal(size=100), np.full(100, 3.0)]
    det = VAEAnomalyDetector(**TINY, random_state=0).fit(X)
    assert det.schema_.scale_[1] == 1.0
    assert np.all(np.isfinite(det.score_samples(X)))
    # A change in the constant column lowers the score, and stays finite.
    moved = X[:1].copy()
    moved[0, 1] = 4.0
    assert np.isfinite(det.score_samples(moved)[0])
    assert det.score_samples(moved)[0] < det.score_samples(X[:1])[0]


def test_empty_hidden_dims_gives_a_linear_vae(rng):
    # () asks for no hidden layer: a linear encoder and decoder, not the default.
    X = rng.normal(size=(200, 4)) @ rng.normal(size=(4, 4))
    det = VAEAnomalyDetector(**{**TINY, "hidden_dims": ()}, random_state=0).fit(X)
    assert det.hidden_dims_ == ()
    assert len(det.module_.encoder.body) == 0
    assert len(det.module_.decoder.body) == 0
    far = X[:1] + 10 * X.std(axis=0)
    assert det.score_samples(far)[0] < np.median(det.score_samples(X))


def test_wrong_columns_at_score_time(fitted_tiny):
    det, frame = fitted_tiny
    with (
        pytest.raises(ValueError, match="3 features"),
        pytest.warns(UserWarning, match="does not have valid feature names"),
    ):
        det.score_samples(frame.to_numpy()[:, :2])
    renamed = frame.rename(columns={"c": "z"})
    with pytest.raises(ValueError, match="Feature names unseen at fit time:\n- z"):
        det.score_samples(renamed)


def test_parameter_validation_message():
    with pytest.raises(
        ValueError,
        match="'n_draws' parameter of VAEAnomalyDetector must be an int in the range",
    ):
        VAEAnomalyDetector(n_draws=0).fit(np.zeros((5, 2)))


def test_joblib_round_trip(tmp_path, fitted_tiny):
    det, frame = fitted_tiny
    path = tmp_path / "det.joblib"
    joblib.dump(det, path)
    loaded = joblib.load(path)
    assert_array_equal(loaded.score_samples(frame), det.score_samples(frame))
    assert loaded.predict(frame).tolist() == det.predict(frame).tolist()


def test_pickled_state_holds_a_state_dict_not_a_module(fitted_tiny):
    det, _ = fitted_tiny
    state = det.__getstate__()
    assert isinstance(state["module_"], dict)
    assert "module_" in det.__dict__
    assert not isinstance(det.__dict__["module_"], dict)


def test_unpickling_checks_the_state_as_a_model_file_does(fitted_tiny):
    det, frame = fitted_tiny
    state = det.__getstate__()
    assert isinstance(state["schema_"], dict)  # the schema's fitted values
    copy = VAEAnomalyDetector.__new__(VAEAnomalyDetector)
    copy.__setstate__(state)
    assert_array_equal(copy.score_samples(frame), det.score_samples(frame))
    with pytest.raises(ValueError, match="offset_ is nan"):
        VAEAnomalyDetector.__new__(VAEAnomalyDetector).__setstate__(
            {**state, "offset_": float("nan")}
        )
    unfitted = VAEAnomalyDetector(latent_dim=3)
    unfitted.__setstate__(VAEAnomalyDetector(latent_dim=5).__getstate__())
    assert unfitted.latent_dim == 5
    assert not hasattr(unfitted, "module_")


def test_pipeline_with_scaler_and_pandas_output(blob_frame):
    frame, y = blob_frame
    pipe = make_pipeline(
        StandardScaler().set_output(transform="pandas"),
        VAEAnomalyDetector(**TINY, standardize=False, random_state=0),
    )
    pipe.fit(frame)
    assert roc_auc_score(y, -pipe.score_samples(frame)) > 0.95
    assert pipe.predict(frame).shape == (len(frame),)


def test_column_transformer_with_one_hot(rng):
    frame = pd.DataFrame(
        {
            "mode": rng.choice(["idle", "run"], 300),
            "temp": rng.normal(size=300),
            "load": rng.normal(size=300),
        }
    )
    pre = ColumnTransformer(
        [
            ("cat", OneHotEncoder(sparse_output=False), ["mode"]),
            ("num", StandardScaler(), ["temp", "load"]),
        ]
    )
    pipe = make_pipeline(pre, VAEAnomalyDetector(**TINY, random_state=0)).fit(frame)
    assert pipe[-1].schema_.heads_ == [
        "bernoulli",
        "bernoulli",
        "student_t_column",
        "student_t_column",
    ]
    assert np.all(np.isfinite(pipe.score_samples(frame)))


def test_clone_and_grid_search(blob):
    X, y = blob
    det = VAEAnomalyDetector(**TINY, random_state=0)
    assert clone(det).get_params() == det.get_params()

    def auroc(estimator, X, y):
        return roc_auc_score(y, -estimator.score_samples(X))

    cv = StratifiedKFold(2, shuffle=True, random_state=0)
    search = GridSearchCV(det, {"latent_dim": [1, 2]}, scoring=auroc, cv=cv)
    search.fit(X, y)
    assert search.best_params_["latent_dim"] in (1, 2)
    assert search.best_score_ > 0.9


def test_long_tables_get_epochs_of_bounded_length(blob, monkeypatch):
    import vaeanomaly._training as training

    X, _ = blob
    monkeypatch.setattr(training, "MAX_EPOCH_ROWS", 128)
    seen = []
    original = training.Trainer.train_step

    def recording_step(self, batch, beta):
        seen.append(batch.targets[:, 0].tolist())
        return original(self, batch, beta)

    monkeypatch.setattr(training.Trainer, "train_step", recording_step)
    det = VAEAnomalyDetector(
        **{**TINY, "max_epochs": 6, "patience": None},
        batch_size=64,
        validation_fraction=0.0,
        trim=None,  # one fit, whose steps the test counts
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        det.fit(X)
    # 408 rows: every epoch is 128 rows, 2 steps of 64, and the next epoch
    # goes on where the last stopped, so 3 epochs see 384 different rows.
    assert det.n_iter_ == 6
    assert [len(batch) for batch in seen] == [64] * 12
    assert len({value for batch in seen[:6] for value in batch}) == 384


def test_trim_refits_without_the_rows_the_first_fit_finds_least_likely(
    blob, blob_model
):
    X, y = blob
    params = {**TINY, "min_steps": 0, "random_state": 0}
    auto = blob_model  # VAEAnomalyDetector(**params).fit(X): TINY has min_steps=0
    # The far points are among the rows left out of the second fit.
    assert y.sum() <= auto.n_trimmed_ < 0.25 * len(X)
    share = VAEAnomalyDetector(**params, trim=0.1).fit(X)
    assert share.n_trimmed_ == pytest.approx(0.1 * len(X), abs=1)
    assert VAEAnomalyDetector(**params, trim=None).fit(X).n_trimmed_ == 0
    assert roc_auc_score(y, -auto.score_samples(X)) > 0.95


def _planted_group(
    seed: int, n_rows: int = 2000, n_group: int = 60
) -> tuple[pd.DataFrame, np.ndarray]:
    """Categorical rows from four prototypes, plus a group of near-copies of a fifth.

    Each normal cell is redrawn at random with probability 0.3; the group's
    prototype holds a level no normal row has in three of its ten columns,
    and its cells are redrawn with probability 0.05: a small, coherent group.
    """
    rng = np.random.default_rng(seed)
    prototypes = rng.integers(0, 4, size=(4, 10))
    normal = prototypes[rng.integers(0, 4, n_rows)]
    normal = np.where(
        rng.random(normal.shape) < 0.3, rng.integers(0, 4, normal.shape), normal
    )
    prototype = rng.integers(0, 4, 10)
    prototype[:3] = 4
    group = np.tile(prototype, (n_group, 1))
    group = np.where(
        rng.random(group.shape) < 0.05, rng.integers(0, 4, group.shape), group
    )
    levels = np.array(list("abcde"))[np.vstack([normal, group])]
    X = pd.DataFrame(levels, columns=[f"c{j}" for j in range(10)])
    return X, np.r_[np.zeros(n_rows), np.ones(n_group)]


@pytest.mark.slow  # four default fits of 2,060 rows (a few seconds each)
def test_trim_leaves_out_a_small_group_of_similar_rows(monkeypatch):
    # A flexible model learns a coherent group as one more mode and
    # scores it as normal; the heavily KL-weighted first fit cannot, so the
    # group is trimmed and the final model finds it unlikely.
    X, y = _planted_group(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        weights = {}
        found = VAEAnomalyDetector(random_state=0).fit(
            X,
            callback=lambda r: weights.setdefault(r["fit_pass"], set()).add(r["beta"]),
        )
        # Only the ranking fit trains at the heavy KL weight.
        assert weights == {1: {4.0}, 2: {1.0}}
        assert found.n_trimmed_ >= 0.9 * y.sum()
        assert roc_auc_score(y, -found.score_samples(X)) > 0.95
        # The same fit with a first fit at the final KL weight: the group is
        # kept and scores as more normal than most rows.
        monkeypatch.setattr("vaeanomaly.estimator._RANKING_BETA", 1.0)
        learned = VAEAnomalyDetector(random_state=0).fit(X)
    assert roc_auc_score(y, -learned.score_samples(X)) < 0.7


@pytest.mark.slow  # two fits of 2,060 rows (a few seconds each)
def test_rarest_value_finds_a_learnt_group_and_misses_a_combination():
    # Without trimming the model learns the planted group and the
    # ELBO scores it as normal; its rare levels stay rare in their columns'
    # marginals, so "rarest_value" finds it.
    X, y = _planted_group(0)
    detector = VAEAnomalyDetector(trim=None, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        detector.fit(X)
    assert roc_auc_score(y, -detector.score_samples(X)) < 0.7
    detector.set_params(score_method="rarest_value")
    assert roc_auc_score(y, -detector.score_samples(X)) > 0.95
    # Rows made of common levels in a combination no training row has: the
    # ELBO finds them, the rarest value cannot (each value is common).
    rng = np.random.default_rng(1)
    normal = X.iloc[: len(y) - int(y.sum())]
    mixed = normal.sample(60, random_state=1).to_numpy().copy()
    for row in mixed:
        row[:] = rng.permutation(row)
    clean = VAEAnomalyDetector(random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clean.fit(normal)
    test = pd.concat(
        [normal.sample(600, random_state=2), pd.DataFrame(mixed, columns=X.columns)]
    )
    labels = np.r_[np.zeros(600), np.ones(60)]
    by_elbo = roc_auc_score(labels, -clean.score_samples(test))
    by_rarest = roc_auc_score(
        labels, -clean.set_params(score_method="rarest_value").score_samples(test)
    )
    assert by_elbo > 0.9  # measured 0.97 and 0.83
    assert by_rarest < by_elbo - 0.05


def test_rarest_value_takes_at_least_256_prior_draws(blob_model, blob):
    # Its marginals are mixtures over the draws: 16 were too coarse
    # (benchmarks/decisions/rarest-value-score.md). describe() says what is used.
    from vaeanomaly.scoring import rarest_value

    X, _ = blob
    det = copy.deepcopy(blob_model).set_scoring(score_method="rarest_value")
    det.set_scoring(n_draws=16)
    assert det.describe()["n_draws"] == 256
    values = det.schema_.transform(X[:20])
    assert_array_equal(
        det.score_samples(X[:20]), det._batched(rarest_value, values, 256)
    )
    assert not np.array_equal(
        det.score_samples(X[:20]), det._batched(rarest_value, values, 16)
    )
    det.set_scoring(n_draws=300)
    assert det.describe()["n_draws"] == 300
    assert_array_equal(
        det.score_samples(X[:20]), det._batched(rarest_value, values, 300)
    )
    assert det.set_scoring(score_method="elbo", n_draws=8).describe()["n_draws"] == 8


def test_a_diverging_fit_stops_with_a_clear_error():
    # A fit that used to return untrained weights silently.
    X = np.random.default_rng(0).normal(size=(300, 4)) * 1e30
    det = VAEAnomalyDetector(
        max_epochs=5, standardize=False, min_steps=0, random_state=0
    )
    with pytest.raises(TrainingError, match="Lower learning_rate.*standardize=True"):
        det.fit(X)
    assert not hasattr(det, "offset_")


def test_unknown_device_and_duplicate_columns_are_named(rng):
    X = rng.normal(size=(20, 2))
    with pytest.raises(ValueError, match="device='tpu' is not a device torch knows"):
        VAEAnomalyDetector(device="tpu").fit(X)
    twice = pd.DataFrame(X, columns=["a", "a"])
    with pytest.raises(ValueError, match=r"Column name\(s\) \['a'\] appear more"):
        VAEAnomalyDetector(**TINY).fit(twice)


def test_auto_batch_grows_with_the_table_and_the_step_size_with_it(rng):
    small = VAEAnomalyDetector(**TINY, trim=None, random_state=0)
    small.fit(rng.normal(size=(300, 3)))
    # 270 training rows: the smallest batch, at the base rate.
    assert small.batch_size_ == 128
    assert small.learning_rate_ == pytest.approx(1e-3)
    large = VAEAnomalyDetector(**{**TINY, "max_epochs": 2}, trim=None, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        large.fit(rng.normal(size=(20_000, 3)))
    # 18,000 training rows: the largest batch, at sqrt(8) times the base rate.
    assert large.batch_size_ == 1024
    assert large.learning_rate_ == pytest.approx(1e-3 * 8**0.5)
    fixed = VAEAnomalyDetector(
        **TINY, batch_size=50, learning_rate=0.01, trim=None, random_state=0
    ).fit(rng.normal(size=(300, 3)))
    assert (fixed.batch_size_, fixed.learning_rate_) == (50, 0.01)


EXTREMES = [1e308, -1e308, np.finfo(np.float64).max, np.finfo(np.float64).min, 1e200]


@pytest.mark.parametrize(
    "score_method", ["elbo", "iwae", "recon_prob", "recon_error", "rarest_value"]
)
@pytest.mark.parametrize("likelihood", ["auto", "gaussian_column", "gaussian"])
def test_any_finite_reading_scores_finite_and_lowest(rng, likelihood, score_method):
    # A data logger's sentinel (1e308) squared overflows float64: it must
    # still give a finite score, the lowest of its table, with its column
    # named by score_features.
    X = rng.normal(size=(300, 3))
    det = VAEAnomalyDetector(
        max_epochs=5, likelihood=likelihood, score_method=score_method, random_state=0
    ).fit(X)
    test = X[:8].copy()
    columns = [1, 2, 0, 0, 2]
    for row, (value, column) in enumerate(zip(EXTREMES, columns, strict=True)):
        test[row, column] = value
    scores = det.score_samples(test)
    assert np.isfinite(scores).all()
    assert scores[:5].max() < scores[5:].min()
    features = np.asarray(det.score_features(test))
    assert np.isfinite(features).all()
    assert_array_equal(features[:5].argmax(axis=1), columns)


def test_an_extreme_reading_in_a_recording_scores_finite_and_is_blamed(rng):
    from vaeanomaly.sequence import SequenceVAEDetector

    t = np.arange(600)
    frame = pd.DataFrame(
        {
            "a": np.sin(t / 10) + 0.1 * rng.normal(size=600),
            "b": np.cos(t / 10) + 0.1 * rng.normal(size=600),
        }
    )
    det = SequenceVAEDetector(
        window=5, detector=VAEAnomalyDetector(max_epochs=10, random_state=0)
    ).fit(frame.iloc[:400])
    broken = frame.copy()
    broken.iloc[500, 1] = 1e308
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the drift warning, rightly
        scores = det.score_samples(broken)
        blame = det.score_features(broken)
    assert np.isfinite(scores).all()
    assert np.argmin(scores) in range(500, 505)  # the windows that hold it
    assert (blame.iloc[500:505].idxmax(axis=1) == "b").all()


def test_a_default_fit_at_its_epoch_cap_does_not_warn_a_short_one_does():
    # The defaults, not a tiny network: this table's default fit runs to the
    # 200-epoch cap with its last epoch its best. Longer fits rank no better,
    # so the warning would ask for nothing useful; a fit capped below the
    # default and still improving was cut short, and says so.
    from vaeanomaly._wide import NARROW_MAX_EPOCHS

    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 9))
    X[:, 1] = 2 * X[:, 0] + 0.1 * X[:, 1]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        det = VAEAnomalyDetector(random_state=0).fit(X)
    assert det.max_epochs_ == NARROW_MAX_EPOCHS
    assert det.n_iter_ == det.best_epoch_ == det.max_epochs_  # still falling
    with pytest.warns(ConvergenceWarning, match="Raise max_epochs"):
        VAEAnomalyDetector(max_epochs=5, random_state=0).fit(X)
