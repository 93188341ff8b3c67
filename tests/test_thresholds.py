"""Tests for vaeanomaly.thresholds: each method against theory on known data."""

import ast
import math
import re
from pathlib import Path

import numpy as np
import pytest
from _require import importorskip
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone

from vaeanomaly import thresholds as th
from vaeanomaly._gpd import fit_gpd, gpd_log_likelihood, gpd_tail_quantile
from vaeanomaly.thresholds import (
    SPOT,
    THRESHOLDS,
    BestFThreshold,
    ContaminationThreshold,
    FixedThreshold,
    FPRThreshold,
    IQRThreshold,
    POTThreshold,
    RobustZScoreThreshold,
    apply_threshold,
    make_threshold,
    spot_flags,
    threshold_from_best_f,
    threshold_from_contamination,
    threshold_from_fpr,
    threshold_from_iqr,
    threshold_from_pot,
    threshold_from_quantile,
    threshold_from_robust_z,
)

PACKAGE = Path(__file__).resolve().parents[1] / "vaeanomaly"
Z_75 = 0.6744897501960817  # standard normal 0.75 quantile


def gpd_sample(rng, shape, scale, size):
    """Generalised Pareto draws by inverse CDF (shape 0: exponential)."""
    u = rng.uniform(size=size)
    if shape == 0:
        return -scale * np.log(u)
    return scale / shape * (u**-shape - 1.0)


def normal_fpr(threshold):
    """P(N(0, 1) > threshold), exactly."""
    return 0.5 * math.erfc(threshold / math.sqrt(2.0))


# ------------------------------------------------------------ module rules
@pytest.mark.parametrize(
    "filename",
    ["thresholds.py", "_threshold_base.py", "_tail_thresholds.py", "_gpd.py"],
)
def test_module_imports_only_numpy_sklearn_base_and_stdlib(filename):
    tree = ast.parse((PACKAGE / filename).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module)
    allowed = {"copy", "inspect", "math", "numbers", "typing"}
    allowed |= {"numpy", "numpy.typing", "vaeanomaly._gpd"}
    allowed |= {"vaeanomaly._threshold_base", "vaeanomaly._tail_thresholds"}
    # scikit-learn's estimator base (parameters, clone, validation); no torch.
    allowed |= {"sklearn.base", "vaeanomaly._compat", "vaeanomaly._state"}
    assert imported <= allowed, imported - allowed


def test_all_lists_public_names():
    classes = {cls.__name__ for cls in THRESHOLDS.values()} | {"BaseThreshold"}
    functions = {n for n in vars(th) if n.startswith("threshold_from_")}
    others = {
        "THRESHOLDS",
        "make_threshold",
        "apply_threshold",
        "spot_flags",
        "fit_offset",
    }
    assert set(th.__all__) == classes | functions | others
    assert len(functions) == 7


# ------------------------------------------------------------ contamination
@pytest.mark.parametrize("n", [1000, 1003, 17])
@pytest.mark.parametrize("contamination", [0.01, 0.05, 0.1, 0.25, 0.5])
def test_contamination_flags_expected_fraction_and_matches_sklearn(n, contamination):
    scores = np.random.default_rng(n).normal(size=n)  # distinct, higher = normal
    method = ContaminationThreshold(contamination).fit(scores)
    # sklearn's IsolationForest rule: offset_ = percentile(score_samples, 100 c)
    assert_allclose(method.threshold_, np.percentile(scores, 100 * contamination))
    expected = math.ceil((n - 1) * contamination - 1e-9)
    assert method.predict(scores).sum() == expected
    if n == 1000:  # the fraction asked for, exactly
        assert expected == contamination * n
    assert threshold_from_contamination(scores, contamination) == method.threshold_


def test_quantile_function_is_contamination_complement():
    scores = np.random.default_rng(1).normal(size=500)
    for orientation in ("normality", "anomaly"):
        assert_allclose(
            threshold_from_quantile(scores, 0.9, orientation=orientation),
            threshold_from_contamination(scores, 0.1, orientation=orientation),
        )


# --------------------------------------------------------------- orientation
def _symmetry_cases():
    rng = np.random.default_rng(2)
    anomaly = rng.exponential(size=5000)
    labels = (anomaly > 3.0).astype(int)
    labels[:50] = 1 - labels[:50]  # not separable
    return [
        (ContaminationThreshold(0.05), anomaly, None),
        (RobustZScoreThreshold(3.0), anomaly, None),
        (IQRThreshold(1.5), anomaly, None),
        (POTThreshold(risk=1e-3), anomaly, None),
        (SPOT(risk=1e-3, n_init=4000), anomaly, None),
        (FPRThreshold(0.01), anomaly, None),
        (BestFThreshold(2.0), anomaly, labels),
    ]


@pytest.mark.parametrize(
    ("method", "anomaly", "y"),
    _symmetry_cases(),
    ids=[type(case[0]).__name__ for case in _symmetry_cases()],
)
def test_orientation_symmetry(method, anomaly, y):
    """Normality scores = -anomaly scores: same flags, threshold_ negated."""
    as_anomaly = make_threshold(method, orientation="anomaly").fit(anomaly, y)
    as_normality = make_threshold(method, orientation="normality").fit(-anomaly, y)
    assert as_normality.threshold_ == -as_anomaly.threshold_
    fresh = np.random.default_rng(3).exponential(scale=2.0, size=2000)
    flags = as_anomaly.predict(fresh)
    assert_array_equal(as_normality.predict(-fresh), flags)
    assert_array_equal(flags, fresh > as_anomaly.threshold_)
    assert_array_equal(as_normality.predict(-fresh), -fresh < as_normality.threshold_)


def test_fixed_threshold_and_apply_threshold_orientation():
    scores = np.array([-3.0, -1.0, 0.0, 2.0])
    assert_array_equal(FixedThreshold(-1.0).fit().predict(scores), [1, 0, 0, 0])
    method = FixedThreshold(-1.0, orientation="anomaly").fit(scores)
    assert_array_equal(method.predict(scores), [0, 0, 1, 1])
    assert_array_equal(
        apply_threshold(scores, 0.0, orientation="anomaly"), [0, 0, 0, 1]
    )
    assert FixedThreshold(2).fit(scores).threshold_ == 2.0


def test_predict_returns_bool_and_accepts_column_vector():
    scores = np.arange(20.0)
    method = ContaminationThreshold(0.1, orientation="anomaly").fit(scores[:, None])
    flags = method.predict(scores.reshape(-1, 1).astype(np.float32))
    assert flags.dtype == bool
    assert flags.shape == (20,)
    assert_array_equal(method.fit_predict(list(scores)), flags)


# ----------------------------------------------------------------- robust z
def test_robust_z_matches_normal_theory():
    scores = np.random.default_rng(4).normal(size=100_000)
    method = RobustZScoreThreshold(z=3.5, orientation="anomaly").fit(scores)
    # median 0 and 1.4826 * MAD = 1 for N(0, 1): threshold = 3.5 (2% tolerance)
    assert_allclose(method.threshold_, 3.5, rtol=0.02)
    assert_allclose(method.scale_, 1.0, rtol=0.02)
    assert_allclose(1.4826 * Z_75, 1.0, rtol=1e-4)


def test_robust_z_barely_moves_with_outliers_unlike_mean_std():
    rng = np.random.default_rng(5)
    clean = rng.normal(size=10_000)
    dirty = np.r_[clean, rng.normal(20.0, 1.0, size=1_000)]  # +10% outliers
    robust = [threshold_from_robust_z(s, orientation="anomaly") for s in (clean, dirty)]
    naive = [s.mean() + 3 * s.std() for s in (clean, dirty)]
    robust_shift, naive_shift = robust[1] - robust[0], naive[1] - naive[0]
    assert 0 < robust_shift < 0.7  # theory: about 0.5
    assert naive_shift > 10 * robust_shift  # about 16
    assert (
        RobustZScoreThreshold(orientation="anomaly")
        .fit(dirty)
        .predict(dirty)[-1000:]
        .all()
    )


def test_robust_z_zero_mad_falls_back_to_mean_absolute_deviation():
    scores = np.r_[np.zeros(90), np.arange(1.0, 11.0)]  # MAD = 0
    method = RobustZScoreThreshold(z=2.0, orientation="anomaly").fit(scores)
    assert_allclose(method.scale_, 1.2533 * 55 / 100)
    assert_allclose(method.threshold_, 2.0 * 1.2533 * 0.55)
    assert method.center_ == 0.0


@pytest.mark.parametrize("orientation", ["normality", "anomaly"])
def test_robust_z_constant_scores_flag_only_later_departures(orientation):
    method = RobustZScoreThreshold(orientation=orientation).fit(np.full(50, 4.0))
    assert method.threshold_ == 4.0
    assert method.scale_ == 0.0
    assert not method.predict(np.full(50, 4.0)).any()
    beyond = 3.0 if orientation == "normality" else 5.0
    assert method.predict([beyond, 4.0]).tolist() == [True, False]


# ---------------------------------------------------------------------- IQR
def test_iqr_matches_tukey_fence_on_normal_data():
    scores = np.random.default_rng(6).normal(size=100_000)
    expected = Z_75 + 1.5 * 2 * Z_75  # Q3 + 1.5 IQR = 2.698 for N(0, 1)
    assert_allclose(threshold_from_iqr(scores, orientation="anomaly"), expected, 0.02)
    q1, q3 = np.percentile(scores, [25, 75])
    assert_allclose(
        threshold_from_iqr(scores, 3.0, orientation="anomaly"), q3 + 3 * (q3 - q1)
    )
    assert_allclose(threshold_from_iqr(scores), q1 - 1.5 * (q3 - q1))  # lower fence


# ---------------------------------------------------------------- GPD / POT
@pytest.mark.parametrize(
    ("shape", "n"), [(-0.3, 300), (0.0, 2000), (0.3, 500), (1.0, 200)]
)
def test_gpd_fit_matches_scipy(shape, n):
    stats = importorskip("scipy.stats")
    excesses = gpd_sample(np.random.default_rng(7), shape, 2.0, n)
    gamma, sigma = fit_gpd(excesses)
    ref_gamma, _, ref_sigma = stats.genpareto.fit(excesses, floc=0)
    assert_allclose([gamma, sigma], [ref_gamma, ref_sigma], rtol=1e-3, atol=1e-3)
    ours = gpd_log_likelihood(excesses, gamma, sigma)
    assert_allclose(ours, stats.genpareto.logpdf(excesses, gamma, scale=sigma).sum())
    assert (
        ours
        >= stats.genpareto.logpdf(excesses, ref_gamma, scale=ref_sigma).sum() - 1e-6
    )


def test_gpd_tail_quantile_is_continuous_at_zero_shape():
    exponential = gpd_tail_quantile(3.0, 0.0, 2.0, 1e-4, 10_000, 200)
    assert_allclose(exponential, 3.0 - 2.0 * math.log(1e-4 * 10_000 / 200))
    assert_allclose(gpd_tail_quantile(3.0, 1e-9, 2.0, 1e-4, 10_000, 200), exponential)


@pytest.mark.parametrize("orientation", ["normality", "anomaly"])
def test_robust_z_from_deviations_is_fit(orientation):
    # The summaries Dask computes give the method that fit gives, to the bit.
    rng = np.random.default_rng(0)
    for scores in (rng.normal(size=500), np.r_[np.zeros(300), rng.normal(size=9)]):
        fitted = RobustZScoreThreshold(z=3.0, orientation=orientation).fit(scores)
        median = np.median(scores)
        deviation = np.abs(scores - median)
        summarised = RobustZScoreThreshold.from_deviations(
            median,
            np.median(deviation),
            deviation.mean(),
            z=3.0,
            orientation=orientation,
        )
        assert summarised.threshold_ == fitted.threshold_
        assert summarised.center_ == fitted.center_
        assert summarised.scale_ == fitted.scale_


def test_pot_from_peaks_is_fit_and_checks_the_same():
    scores = -np.random.default_rng(1).exponential(size=5000)  # normality
    fitted = POTThreshold(risk=1e-3, initial_quantile=0.9).fit(scores)
    low = -np.quantile(-scores, 0.9)  # fit's initial threshold, as fit takes it
    peaks = low - scores[scores < low]
    summarised = POTThreshold.from_peaks(
        low, peaks, scores.size, risk=1e-3, initial_quantile=0.9
    )
    assert summarised.threshold_ == fitted.threshold_
    assert summarised.initial_threshold_ == fitted.initial_threshold_
    assert summarised.n_peaks_ == fitted.n_peaks_
    with pytest.raises(ValueError, match="at least 10 are needed"):
        POTThreshold.from_peaks(low, peaks[:5], scores.size)
    with pytest.raises(ValueError, match="is not below the fraction"):
        POTThreshold.from_peaks(low, peaks, scores.size, risk=0.5)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pot_exponential_tail_near_theory(seed):
    scores = np.random.default_rng(seed).exponential(size=100_000)
    pot = POTThreshold(risk=1e-4, orientation="anomaly").fit(scores)
    # P(Exp(1) > z) = 1e-4 at z = -log(1e-4) = 9.21; tolerance 10%
    assert_allclose(pot.threshold_, -math.log(1e-4), rtol=0.10)
    assert abs(pot.gpd_shape_) < 0.1  # exponential tail: shape 0
    assert_allclose(pot.gpd_scale_, 1.0, rtol=0.1)
    assert_allclose(pot.initial_threshold_, np.quantile(scores, 0.98))
    assert pot.n_peaks_ == np.sum(scores > pot.initial_threshold_) == 2000


def test_pot_heavy_tail_near_theory():
    shape, risk = 0.25, 1e-4  # whole sample is GPD(0.25, 1)
    scores = gpd_sample(np.random.default_rng(8), shape, 1.0, 200_000)
    expected = (risk**-shape - 1) / shape  # = 36.0
    pot_value = threshold_from_pot(scores, risk, 0.95, orientation="anomaly")
    assert_allclose(pot_value, expected, rtol=0.15)


def test_pot_normality_orientation_function():
    scores = np.random.default_rng(0).exponential(size=20_000)
    value = threshold_from_pot(-scores, risk=1e-3)
    method = POTThreshold(risk=1e-3).fit(-scores)
    assert value == method.threshold_ < method.initial_threshold_ < 0


# ----------------------------------------------------------------------- SPOT
def test_spot_state_equals_batch_fit_on_kept_peaks():
    rng = np.random.default_rng(9)
    calibration, stream = rng.exponential(size=3000), rng.exponential(size=6000)
    spot = SPOT(risk=1e-3, orientation="anomaly").fit(calibration)
    first = spot.threshold_
    flags = spot.update(stream)
    t = np.quantile(calibration, 0.98)
    kept = np.r_[calibration, stream[~flags]]
    peaks = kept[kept > t] - t
    assert spot.n_peaks_ == peaks.size
    assert_allclose([spot.gpd_shape_, spot.gpd_scale_], fit_gpd(peaks), rtol=1e-9)
    # alarms: beyond the threshold in force when they arrived, never peaks
    assert_array_equal(flags, stream > spot.thresholds_)
    assert spot.thresholds_.shape == stream.shape
    assert spot.thresholds_[0] == first
    assert spot.thresholds_[-1] == spot.threshold_


def test_spot_n_init_and_function_match_fit_then_update():
    stream = np.random.default_rng(10).exponential(size=5000)
    manual = SPOT(risk=1e-3).fit(-stream[:3000])
    manual_flags = manual.update(-stream[3000:])
    auto = SPOT(risk=1e-3, n_init=3000).fit(-stream)
    flags, history = spot_flags(-stream, 3000, risk=1e-3)
    assert auto.threshold_ == manual.threshold_
    assert_array_equal(history, manual.thresholds_)
    assert_array_equal(flags, manual_flags)
    assert_array_equal(flags, -stream[3000:] < history)


def test_spot_alarm_is_not_a_peak():
    rng = np.random.default_rng(11)
    spot = SPOT(risk=1e-3, orientation="anomaly").fit(rng.exponential(size=2000))
    before = (spot.n_peaks_, spot.threshold_)
    assert spot.update([1e6]).tolist() == [True]
    assert (spot.n_peaks_, spot.threshold_) == before
    between = 0.5 * (spot.initial_threshold_ + spot.threshold_)  # a new peak
    assert spot.update([between]).tolist() == [False]
    assert spot.n_peaks_ == before[0] + 1
    assert spot.threshold_ != before[1]
    below = spot.initial_threshold_ - 0.1  # only counts towards n
    assert spot.update([below]).tolist() == [False]
    assert spot.n_peaks_ == before[0] + 1


def test_spot_stationary_stream_settles_near_batch_pot():
    """SPOT tracks batch POT, a little below it because alarms are censored."""
    scores = np.random.default_rng(12).exponential(size=25_000)
    spot = SPOT(risk=1e-3, n_init=5000, orientation="anomaly").fit(scores)
    batch = POTThreshold(risk=1e-3, orientation="anomaly").fit(scores).threshold_
    # documented bias: about 10% below batch POT at risk=1e-3 (allow 0-20%)
    assert 0.80 * batch < spot.threshold_ < 1.02 * batch
    assert_allclose(spot.threshold_, -math.log(1e-3), rtol=0.2)
    # variability of the threshold shrinks as peaks accumulate
    history = spot.thresholds_
    assert np.ptp(history[-5000:]) < np.ptp(history[:5000])
    alarm_rate = np.mean(scores[5000:] > history)
    assert alarm_rate < 4e-3  # risk is 1e-3; censoring roughly doubles it


# ------------------------------------------------------------------------ FPR
@pytest.mark.parametrize(
    ("n", "alpha"), [(99, 0.05), (19, 0.05), (1000, 0.01), (50, 0.3)]
)
def test_fpr_threshold_is_conformal_order_statistic(n, alpha):
    scores = np.random.default_rng(13).normal(size=n)
    k = math.ceil((n + 1) * (1 - alpha) - 1e-9)
    method = FPRThreshold(alpha, orientation="anomaly").fit(scores)
    assert method.rank_ == k
    assert method.threshold_ == np.sort(scores)[k - 1]


def test_fpr_rule_holds_over_repeated_draws():
    """Mean FPR over 2000 draws of n=99 clean scores, alpha=0.05: exactly 5/100."""
    rng = np.random.default_rng(14)
    draws = rng.normal(size=(2000, 99))
    fprs = [
        normal_fpr(threshold_from_fpr(d, 0.05, orientation="anomaly")) for d in draws
    ]
    # per-draw FPR ~ Beta(5, 95): sd 0.0217, so the mean has sd 0.0005; 4 sd = 0.002
    assert np.mean(fprs) <= 0.05 + 0.002
    assert_allclose(np.mean(fprs), 0.05, atol=0.002)
    # fresh data, normality orientation: the same rule
    fresh = rng.normal(size=(200, 1000))
    realised = [
        np.mean(-f < threshold_from_fpr(-d, 0.05))
        for d, f in zip(draws[:200], fresh, strict=True)
    ]
    # per-draw sd: sqrt(0.0217**2 + 0.05 * 0.95 / 1000) = 0.023; 4 sd of the mean
    assert np.mean(realised) <= 0.05 + 4 * 0.023 / math.sqrt(200)


# --------------------------------------------------------------------- best F
def test_best_f_recovers_perfect_cut_on_separable_data():
    rng = np.random.default_rng(15)
    scores = np.r_[rng.normal(0, 1, 300), rng.normal(10, 1, 20)]  # anomaly scores
    y = np.r_[np.zeros(300, int), np.ones(20, int)]
    method = BestFThreshold(orientation="anomaly").fit(scores, y)
    assert method.best_score_ == 1.0
    assert scores[y == 0].max() < method.threshold_ < scores[y == 1].min()
    assert_array_equal(method.predict(scores), y.astype(bool))
    assert threshold_from_best_f(-scores, y) == -method.threshold_


@pytest.mark.parametrize("beta", [0.5, 1.0, 2.0])
def test_best_f_matches_brute_force(beta):
    rng = np.random.default_rng(16)
    scores = np.round(rng.normal(size=200), 1)  # many ties
    y = (scores + rng.normal(size=200) > 1.5).astype(int)
    method = BestFThreshold(beta, orientation="anomaly").fit(scores, y)

    def f_beta(flags):
        tp = np.sum(flags & (y == 1))
        precision, recall = tp / max(flags.sum(), 1), tp / y.sum()
        return (1 + beta**2) * precision * recall / (beta**2 * precision + recall or 1)

    best = max(f_beta(scores > c) for c in np.r_[np.unique(scores), scores.min() - 1])
    assert_allclose(method.best_score_, best)
    assert_allclose(f_beta(method.predict(scores)), best)


# ------------------------------------------------------------------- registry
@pytest.mark.parametrize("name", sorted(THRESHOLDS))
def test_make_threshold_from_name(name):
    method = make_threshold(name, orientation="anomaly")
    assert type(method) is THRESHOLDS[name]
    assert method.orientation == "anomaly"
    assert not hasattr(method, "threshold_")
    assert repr(method).startswith(type(method).__name__ + "(")


def test_make_threshold_from_instance_is_unfitted_copy():
    original = POTThreshold(risk=1e-3, initial_quantile=0.9)
    original.fit(np.random.default_rng(0).exponential(size=1000))
    made = make_threshold(original)
    assert made is not original
    assert made.get_params() == original.get_params()
    assert not hasattr(made, "threshold_")
    before = original.threshold_
    made.fit(np.arange(1000.0))
    assert original.threshold_ == before
    assert make_threshold(original, risk=0.01).risk == 0.01
    assert make_threshold("mad", z=3.0).get_params() == {
        "z": 3.0,
        "orientation": "normality",
    }


def test_make_threshold_accepts_duck_typed_object():
    class Mine:
        def fit(self, scores, y=None):
            self.threshold_ = 0.0
            return self

        def predict(self, scores):
            return np.asarray(scores) < 0

    mine = Mine()
    made = make_threshold(mine)
    assert isinstance(made, Mine)
    assert made is not mine


def test_set_params_and_get_params():
    method = IQRThreshold().set_params(k=3.0, orientation="anomaly")
    assert method.get_params() == {"k": 3.0, "orientation": "anomaly"}
    copied = clone(method)
    assert copied.get_params() == method.get_params()
    assert repr(method) == "IQRThreshold(k=3.0, orientation='anomaly')"
    with pytest.raises(ValueError, match=r"Invalid parameter 'kk' for estimator"):
        method.set_params(kk=1)


# ------------------------------------------------------------------ bad input
BAD_SCORES = [
    ([], ValueError, "scores is empty; got shape (0,). Pass at least one score."),
    (
        [1.0, np.nan],
        ValueError,
        "scores must be finite; got 1 NaN or inf value(s), the first nan at index 1",
    ),
    ([np.inf, 1.0], ValueError, "the first inf at index 0. Remove or impute"),
    (
        np.ones((3, 4)),
        ValueError,
        "must have shape (n,) or (n, 1), one score per sample; got shape (3, 4).",
    ),
    (np.ones((1, 3)), ValueError, "got shape (1, 3)"),
    (5.0, ValueError, "got shape ()"),
    (["a", "b"], TypeError, "scores must be a numeric array; got dtype '<U1'"),
    ([True, False], TypeError, "got dtype 'bool'. Pass the continuous scores"),
    (None, TypeError, "scores must be an array of numbers; got None."),
    ([1.0, "x", None], TypeError, "scores must contain only numbers"),
]


@pytest.mark.parametrize(("scores", "error", "match"), BAD_SCORES)
def test_bad_scores_raise(scores, error, match):
    with pytest.raises(error, match=re.escape(match)):
        ContaminationThreshold().fit(scores)
    fitted = ContaminationThreshold().fit(np.arange(10.0))
    with pytest.raises(error, match=re.escape(match)):
        fitted.predict(scores)


def _bad(cls_name: str, name: str, expected: str, got: str) -> str:
    # scikit-learn's InvalidParameterError (a ValueError and a TypeError).
    return (
        f"The '{name}' parameter of {cls_name} must be {expected}. Got {got} instead."
    )


BAD_PARAMETERS = [
    (
        ContaminationThreshold(0.0),
        ValueError,
        _bad(
            "ContaminationThreshold",
            "contamination",
            "a float in the range (0.0, 0.5]",
            "0.0",
        ),
    ),
    (ContaminationThreshold(0.6), ValueError, "(0.0, 0.5]. Got 0.6 instead."),
    (ContaminationThreshold(np.nan), ValueError, "(0.0, 0.5]. Got nan instead."),
    (ContaminationThreshold("0.1"), TypeError, "Got '0.1' instead."),
    (ContaminationThreshold(True), TypeError, "Got True instead."),
    (
        ContaminationThreshold(orientation="anomalous"),
        ValueError,
        "The 'orientation' parameter of ContaminationThreshold must be a str among",
    ),
    (ContaminationThreshold(orientation=None), ValueError, "Got None instead."),
    (
        POTThreshold(risk=0.0),
        ValueError,
        _bad("POTThreshold", "risk", "a float in the range (0.0, 1.0)", "0.0"),
    ),
    (POTThreshold(risk=1.0), ValueError, "(0.0, 1.0). Got 1.0 instead."),
    (
        POTThreshold(initial_quantile=1.0),
        ValueError,
        "The 'initial_quantile' parameter of POTThreshold must be a float in the "
        "range (0.0, 1.0). Got 1.0 instead.",
    ),
    (
        POTThreshold(risk=0.05),
        ValueError,
        "risk=0.05 is not below the fraction of scores above the initial threshold "
        "(20/1000). Lower risk",
    ),
    (
        POTThreshold(initial_quantile=0.995),
        ValueError,
        "Only 5 of 1000 scores lie above the initial threshold (the "
        "initial_quantile=0.995 quantile); at least 10 are needed to fit the tail. "
        "Lower initial_quantile (e.g. 0.9) or pass about 2000 scores or more.",
    ),
    (SPOT(n_init=0), ValueError, "The 'n_init' parameter of SPOT must be"),
    (SPOT(n_init=1001), ValueError, "got 1001. Pass the number of leading scores"),
    (SPOT(n_init=1.5), TypeError, "The 'n_init' parameter of SPOT must be"),
    (
        FPRThreshold(alpha=0.0),
        ValueError,
        _bad("FPRThreshold", "alpha", "a float in the range (0.0, 1.0)", "0.0"),
    ),
    (FPRThreshold(alpha=1.5), ValueError, "(0.0, 1.0). Got 1.5 instead."),
    (
        FPRThreshold(alpha=1e-4),
        ValueError,
        "FPRThreshold with alpha=0.0001 needs at least 9999 clean scores (n >= "
        "1/alpha - 1); got 1000. Pass more validation scores, or raise alpha to at "
        "least 0.000999.",
    ),
    (RobustZScoreThreshold(z=0), ValueError, "The 'z' parameter of Robust"),
    (IQRThreshold(k=-1), ValueError, "The 'k' parameter of IQRThreshold must be"),
    (BestFThreshold(beta=0), ValueError, "The 'beta' parameter of BestFThreshold"),
    (BestFThreshold(), ValueError, "BestFThreshold needs labels: call fit(scores, y)"),
    (
        FixedThreshold(),
        ValueError,
        "FixedThreshold needs a finite value; got None. Pass a finite threshold",
    ),
    (FixedThreshold(np.inf), ValueError, "needs a finite value; got inf."),
]


@pytest.mark.parametrize(("method", "error", "match"), BAD_PARAMETERS)
def test_bad_parameters_raise_in_fit(method, error, match):
    scores = np.random.default_rng(17).exponential(size=1000)
    with pytest.raises(error, match=re.escape(match)):
        method.fit(scores)


def test_fpr_minimum_sample_size_is_exact():
    FPRThreshold(0.05).fit(np.arange(19.0))  # n = 1/alpha - 1 works
    with pytest.raises(ValueError, match=r"needs at least 19 clean scores"):
        FPRThreshold(0.05).fit(np.arange(18.0))


BAD_LABELS = [
    (np.zeros(6), "y contains no anomalies (no 1s), so F-beta is undefined."),
    ([1, 0], "y must have shape (6,), one label per score; got shape (2,)."),
    (
        [1, -1, 1, -1, 1, -1],
        "y must contain only 0 (normal) and 1 (anomaly); got values [-1, 1]. For "
        "scikit-learn's -1/+1 predictions pass (y == -1).astype(int).",
    ),
    (["a", "b", "a", "b", "a", "b"], "y must contain only 0 (normal) and 1"),
]


@pytest.mark.parametrize(("y", "match"), BAD_LABELS)
def test_best_f_bad_labels_raise(y, match):
    with pytest.raises(ValueError, match=re.escape(match)):
        BestFThreshold().fit(np.arange(6.0), y)


@pytest.mark.parametrize("method", [ContaminationThreshold(), POTThreshold(), SPOT()])
def test_predict_before_fit_raises(method):
    match = f"This {type(method).__name__} is not fitted yet. Call fit(scores)"
    with pytest.raises(ValueError, match=re.escape(match)):
        method.predict([1.0, 2.0])
    if isinstance(method, SPOT):
        with pytest.raises(ValueError, match=re.escape(match)):
            method.update([1.0])


def test_make_threshold_bad_specs_raise():
    with pytest.raises(
        ValueError, match=r"Unknown threshold method 'potts'. Use one of \["
    ):
        make_threshold("potts")
    with pytest.raises(
        ValueError, match=r"POTThreshold has no parameter\(s\) \['riks'\]"
    ):
        make_threshold("pot", riks=0.1)
    with pytest.raises(TypeError, match=r"got 0.5 of type float. Pass e.g. 'pot'"):
        make_threshold(0.5)
    with pytest.raises(TypeError, match=r"got the class POTThreshold. Instantiate it"):
        make_threshold(POTThreshold)


def test_spot_flags_bad_n_init():
    with pytest.raises(ValueError, match=r"n_init must be in \[1, 3\]"):
        spot_flags([1.0, 2.0, 3.0], 5)
    with pytest.raises(TypeError, match=r"n_init must be an int; got None"):
        spot_flags([1.0, 2.0, 3.0], None)


@pytest.mark.parametrize("orientation", ["normality", "anomaly"])
def test_fit_offset_is_in_normality_orientation(orientation):
    normality = -np.arange(100.0)  # row 99 is the most anomalous
    method = th.ContaminationThreshold(0.05, orientation=orientation)
    offset = th.fit_offset(method, normality)
    assert (normality < offset).sum() == 5
    assert method.threshold_ == (offset if orientation == "normality" else -offset)
