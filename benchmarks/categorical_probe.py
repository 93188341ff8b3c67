"""One categorical table, one seed: where a VAE's likelihood stands.

A diagnostic beside ``categorical.py`` for tables where the VAE loses (w7a,
whose fits take minutes): one fit, every score method, and each score's
*ratio* to the independence model (``log p_VAE(x) - log p_indep(x)``, the
background-model correction of Ren et al., 2019, and Serrà et al., 2020).
A ratio that ranks the anomalies as *more* normal than the score itself
says that the model explains the anomalies' couplings of levels better than
the normal rows' ones: the anomaly class is a coherent cluster, not a set of
unlikely rows. ``--pyod`` adds PyOD's VAE on one-hot columns. ``--latent`` adds scores
from the latent space (issue #24): the distance of a row's posterior mean
to its k-th nearest training posterior mean (k = 10, n/100, n/20), the
negative log-density of a Gaussian mixture (5 and 20 components) fitted to
the training means, and the rank averages of each with the ELBO, and of the
ELBO with the independence model (AVF).

Usage::

    python benchmarks/categorical_probe.py w7a --seed 0 --set trim=None --pyod
    python benchmarks/categorical_probe.py w7a --json benchmarks/results/probe.json
    python benchmarks/categorical_probe.py solarflare chess --latent
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from _evaluation import add_set_argument, parse_params
from _provenance import write_result
from categorical import avf_scores, baseline_scores, split
from sklearn.metrics import average_precision_score, roc_auc_score

from vaeanomaly import VAEAnomalyDetector
from vaeanomaly.scoring import SCORE_METHODS


def _metrics(y, anomaly_scores) -> list[float]:
    return [
        round(float(roc_auc_score(y, anomaly_scores)), 3),
        round(float(average_precision_score(y, anomaly_scores)), 3),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "tables", nargs="+", help="table names in ../shared/data/categorical"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pyod", action="store_true", help="add PyOD's VAE")
    parser.add_argument("--latent", action="store_true", help="add latent-space scores")
    parser.add_argument(
        "--json", type=Path, default=None, help="also write the result here"
    )
    add_set_argument(parser)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = [_probe(table, args) for table in args.tables]
    if args.json:
        write_result(args.json, rows if len(rows) > 1 else rows[0])


def _probe(table: str, args: argparse.Namespace) -> dict:
    X_train, X_test, y_train, y = split(table, args.seed)
    log_indep = -avf_scores(X_train, X_test)  # log p under independence
    out: dict = {"table": table, "seed": args.seed, "set": args.set}
    # How many cells of a row hold a level other than the column's most
    # common one, for the anomalies and the normal rows of the training part.
    unusual = (X_train != X_train.mode().iloc[0]).sum(axis=1).to_numpy()
    out["uncommon levels per row (anomalies, normal)"] = [
        round(float(unusual[y_train == 1].mean()), 2),
        round(float(unusual[y_train == 0].mean()), 2),
    ]
    out["AVF"] = _metrics(y, -log_indep)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vae = VAEAnomalyDetector(random_state=args.seed, **parse_params(args.set))
        vae.fit(X_train)
    out["vae_fit_s"] = round(time.perf_counter() - start, 1)
    for method in SCORE_METHODS:
        score = vae.set_params(score_method=method).score_samples(X_test)
        out[f"vae[{method}]"] = _metrics(y, -score)
        if method in ("elbo", "iwae"):
            out[f"vae[{method}] - log p_indep"] = _metrics(y, -(score - log_indep))
    if args.pyod:
        start = time.perf_counter()
        out["PyOD VAE"] = _metrics(
            y, baseline_scores("PyOD VAE", X_train, X_test, args.seed)
        )
        out["pyod_fit_s"] = round(time.perf_counter() - start, 1)
    if args.latent:
        out.update(_latent_scores(vae, X_train, X_test, y, log_indep, table))
    print(json.dumps(out), flush=True)
    return out


def _latent_means(vae: VAEAnomalyDetector, X) -> np.ndarray:
    """Posterior means of the rows (mean over ensemble members)."""
    rows = vae._to_rows(vae._validate(X, reset=False), torch.device("cpu"))
    with torch.inference_mode():
        q_z = vae.module_.encode(rows.inputs)
    return q_z.base_dist.loc.mean(0).numpy()


def _latent_scores(vae, X_train, X_test, y, log_indep, table) -> dict:
    """Latent-space density scores, alone and rank-averaged with the ELBO."""
    from scipy.stats import rankdata
    from sklearn.mixture import GaussianMixture
    from sklearn.neighbors import NearestNeighbors

    elbo = -vae.set_params(score_method="elbo").score_samples(X_test)
    z_train, z_test = _latent_means(vae, X_train), _latent_means(vae, X_test)
    out = {"elbo + AVF (ranks)": _metrics(y, rankdata(elbo) + rankdata(-log_indep))}
    n = len(z_train)
    for k in (10, max(10, n // 100), max(10, n // 20)):
        distance = NearestNeighbors(n_neighbors=k).fit(z_train).kneighbors(z_test)[0]
        out[f"latent knn k={k}"] = _metrics(y, distance[:, -1])
        out[f"elbo + latent knn k={k} (ranks)"] = _metrics(
            y, rankdata(elbo) + rankdata(distance[:, -1])
        )
    for components in (5, 20):
        mixture = GaussianMixture(components, random_state=0).fit(z_train)
        density = -mixture.score_samples(z_test)
        out[f"latent gmm {components}"] = _metrics(y, density)
        out[f"elbo + latent gmm {components} (ranks)"] = _metrics(
            y, rankdata(elbo) + rankdata(density)
        )
    return out


if __name__ == "__main__":
    main()
