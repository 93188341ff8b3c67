"""Dask scale-out, on a real distributed.LocalCluster with 2 worker processes."""

import numpy as np
import pandas as pd
import pytest
from _require import importorskip
from numpy.testing import assert_allclose

# A LocalCluster of two worker processes, and fits: about 13 s in all.
pytestmark = pytest.mark.slow

importorskip("dask.dataframe", "the dask extra is not installed")
distributed = importorskip("distributed", "the dask extra is not installed")

import dask.array as da  # noqa: E402
import dask.dataframe as dd  # noqa: E402
from conftest import TINY  # noqa: E402

from vaeanomaly import VAEAnomalyDetector  # noqa: E402
from vaeanomaly import dask as vdask  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    with distributed.Client(cluster) as client:
        yield client
    cluster.close()


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 3))
    X[:, 1] += X[:, 0]
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    det = VAEAnomalyDetector(**TINY, random_state=0).fit(frame)
    return det, frame


def test_scores_equal_in_memory_scores(client, data):
    det, frame = data
    lazy = vdask.score(det, dd.from_pandas(frame, npartitions=7))
    assert_allclose(lazy.compute().to_numpy(), det.score_samples(frame), rtol=1e-6)


def test_model_is_in_the_graph_once(data):
    det, frame = data
    lazy = vdask.score(det, dd.from_pandas(frame, npartitions=7))
    graph = dict(lazy.__dask_graph__())
    holding = [key for key, task in graph.items() if _contains(task, det)]
    assert len(holding) == 1


def _contains(task, obj):
    if task is obj:
        return True
    if isinstance(task, (tuple, list)):
        return any(_contains(t, obj) for t in task)
    for attr in ("args", "kwargs", "value"):
        inner = getattr(task, attr, None)
        if (
            inner is not None
            and inner is not task
            and _contains(
                inner if not isinstance(inner, dict) else tuple(inner.values()), obj
            )
        ):
            return True
    return False


def test_feature_contributions_and_dask_arrays(client, data):
    det, frame = data
    out = vdask.score(
        det, dd.from_pandas(frame, npartitions=3), features=True
    ).compute()
    assert list(out.columns) == ["score", "contrib_a", "contrib_b", "contrib_c"]
    assert_allclose(
        out[["contrib_a", "contrib_b", "contrib_c"]].to_numpy(),
        det.score_features(frame).to_numpy(),
        rtol=1e-6,
    )
    plain = VAEAnomalyDetector(**TINY, random_state=0).fit(frame.to_numpy())
    arr = da.from_array(frame.to_numpy(), chunks=(500, 3))
    assert_allclose(
        vdask.score(plain, arr).compute().to_numpy(),
        plain.score_samples(frame.to_numpy()),
        rtol=1e-6,
    )


def test_wrong_input(data):
    det, frame = data
    with pytest.raises(TypeError, match="dask DataFrame or dask Array"):
        vdask.score(det, frame)
    with pytest.raises(ValueError, match=r"Column\(s\) \['c'\] were used in training"):
        vdask.score(det, dd.from_pandas(frame.drop(columns="c"), npartitions=2))


def test_thresholds_over_distributed_scores(client, data):
    det, frame = data
    scores = vdask.score(det, dd.from_pandas(frame, npartitions=4))
    local = det.score_samples(frame)
    for contamination in (0.001, 0.05):
        offset = vdask.offset_from_scores(
            scores, "contamination", contamination=contamination
        )
        assert offset == pytest.approx(np.quantile(local, contamination), rel=1e-9)
    median = np.median(local)
    mad = np.median(np.abs(local - median))
    assert vdask.offset_from_scores(scores, "robust_z") == pytest.approx(
        median - 3.5 * 1.4826 * mad, rel=0.05
    )
    from vaeanomaly.thresholds import POTThreshold, fit_offset

    pot_local = fit_offset(POTThreshold(risk=1e-3, initial_quantile=0.9), local)
    pot_dask = vdask.offset_from_scores(scores, "pot", risk=1e-3, initial_quantile=0.9)
    assert pot_dask == pytest.approx(pot_local, rel=1e-6)


def test_fit_sample(client, data):
    _, frame = data
    big = dd.from_pandas(pd.concat([frame] * 5, ignore_index=True), npartitions=5)
    det = vdask.fit_sample(
        VAEAnomalyDetector(**TINY, random_state=0), big, n_rows=1500, random_state=0
    )
    assert 1200 < det.n_samples_fit_ < 1800
    assert np.isfinite(det.offset_)


def test_parallel_post_fit(client, data):
    dask_ml = importorskip("dask_ml.wrappers", "dask-ml is not installed")
    det, frame = data
    wrapped = dask_ml.ParallelPostFit(det)
    ddf = dd.from_pandas(frame, npartitions=4)
    assert_allclose(wrapped.predict(ddf).compute(), det.predict(frame))
