import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.metrics import average_precision_score

from vaeanomaly.range_metrics import _buffered, auc_pr, range_auc_pr, vus_pr


def test_auc_pr_matches_average_precision_with_ties():
    rng = np.random.default_rng(0)
    labels = (rng.random(300) < 0.2).astype(int)
    scores = np.round(rng.normal(size=300) + labels, 1)  # many ties
    assert_allclose(auc_pr(labels, scores), average_precision_score(labels, scores))


def test_buffer_zero_on_a_perfect_ranking_is_one():
    assert range_auc_pr([0, 1, 1, 0], [0.1, 0.9, 0.8, 0.2], buffer=0) == 1.0


def test_buffered_labels_by_hand():
    # buffer 4: two readings of slope each side; before the episode at distance
    # d the label is sqrt(1 - d/4); after it the slope starts at the last
    # anomalous reading, so only one reading (distance 1) is added.
    got = _buffered(np.array([0, 0, 0, 1, 1, 0, 0, 0], dtype=float), 4)
    want = [0, np.sqrt(0.5), np.sqrt(0.75), 1, 1, np.sqrt(0.75), 0, 0]
    assert_allclose(got, want)


def test_range_auc_pr_by_hand_with_a_buffer():
    # buffer 2: labels [sqrt(.5), 1, 1, 0]; P = (2 + 2 + sqrt(.5)) / 2.
    # thresholds 0.9, 0.8, 0.2, 0.1 give (recall, precision):
    # (1/P, 1), (2/P, 1), (2/P, 2/3), (1, (2 + sqrt(.5)) / 4).
    p = (4 + np.sqrt(0.5)) / 2
    last = (2 + np.sqrt(0.5)) / 4
    want = 2 / p + (1 - 2 / p) * (2 / 3 + last) / 2
    got = range_auc_pr([0, 1, 1, 0], [0.1, 0.9, 0.8, 0.2], buffer=2)
    assert_allclose(got, want)


def test_existence_reward_counts_episodes_found():
    # Two episodes; the second is found only at the lowest threshold.
    labels = [1, 0, 0, 0, 1]
    scores = [0.9, 0.5, 0.4, 0.3, 0.1]
    # thresholds: 0.9 -> TP 1, recall 1/2 * (1 of 2 found) = 0.25, precision 1
    # 0.5, 0.4, 0.3 -> recall 0.25, precision 1/2, 1/3, 1/4
    # 0.1 -> recall 1, precision 2/5
    want = 0.25 * 1 + 0.75 * (0.25 + 0.4) / 2
    assert_allclose(range_auc_pr(labels, scores, buffer=0), want)


def test_vus_pr_is_the_mean_over_buffers():
    rng = np.random.default_rng(1)
    labels = np.zeros(200)
    labels[50:70] = labels[140:150] = 1
    scores = rng.normal(size=200) + 2 * labels
    slices = [range_auc_pr(labels, scores, b) for b in range(11)]
    assert_allclose(vus_pr(labels, scores, max_buffer=10), np.mean(slices))
    # a detector that fires just after each episode starts gains from buffers
    late = np.roll(labels, 3).astype(float)
    assert vus_pr(labels, late, max_buffer=10) > auc_pr(labels, late)


@pytest.mark.parametrize(
    ("labels", "scores", "match"),
    [
        ([0, 0, 0], [1, 2, 3], "at least one 1"),
        ([0, 1, 2], [1, 2, 3], "0 \\(normal\\) and 1"),
        ([0, 1], [1.0, np.nan], "non-finite"),
        ([0, 1, 0], [1.0, 2.0], "same length"),
    ],
)
def test_bad_input_is_named(labels, scores, match):
    with pytest.raises(ValueError, match=match):
        vus_pr(labels, scores)
