"""A row's rarest cells judged given the rest of the row (issue #24): a diagnostic.

For each of a row's k cells whose levels are rarest in training (k = 1, 3,
8), the cell is set to its column's most common level, the row is encoded,
and the actual level is scored by the decoder: ``-log p(x_j | z(x with x_j
at the mode))``, so that z cannot explain the rare level away. The row's
score is the largest of the k; ``elbo & cond`` adds its training-tail
surprisal to the ELBO's (see ``_probes.tail_surprisal``). Categorical
tables only.

Usage (from the project root)::

    python benchmarks/conditional_cell_probe.py --datasets w7a --seeds 0
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from _evaluation import add_report_arguments, report, result_row, run_tasks
from _probes import fit_timed, load_set, tail_surprisal
from categorical import level_surprisals

from vaeanomaly import VAEAnomalyDetector
from vaeanomaly.scoring import feature_contributions

K = (1, 3, 8)


def conditional(vae, values, mod, cols):
    """``-log p(x_j | z(mod))`` of each row's cell ``cols``, z from the row ``mod``."""
    module = vae._scoring_copy()
    eps = vae._score_noise(vae.n_draws, torch.device("cpu")).to(torch.float64)
    enc = vae.schema_.encoder
    out = []
    with torch.inference_mode():
        for a in range(0, len(values), 500):
            inp = torch.as_tensor(enc.encode(mod[a : a + 500])[0])
            tgt = torch.as_tensor(enc.encode(values[a : a + 500])[1])
            o = module(inp, eps)
            lp = -o.p_x.log_prob_features(tgt).mean(dim=(0, 1)).numpy()
            out.append(lp[np.arange(len(lp)), cols[a : a + 500]])
    return np.concatenate(out)


def stats(vae, values, rare, modes):
    """ELBO, largest cell, rarest level, and the k rarest cells judged conditionally."""
    base = vae._batched(feature_contributions, values, vae.n_draws)
    elbo = -vae._score_samples(values)
    order = np.argsort(-rare, axis=1)[:, : max(K)]
    rows = np.arange(len(values))
    cond = np.empty((len(values), max(K)))
    for i in range(max(K)):
        cols = order[:, i]
        mod = values.copy()
        mod[rows, cols] = modes[cols]
        cond[:, i] = conditional(vae, values, mod, cols)
    return elbo, base.max(1), rare.max(1), cond


def evaluate(name: str, seed: int) -> list[dict]:
    """Fit once; one result row per statistic."""
    X_train, X_test, y = load_set("categorical", name, seed)
    vae = VAEAnomalyDetector(random_state=seed)
    seconds = fit_timed(vae, X_train)
    vtr = vae._validate(X_train, reset=False)
    modes = np.array(
        [np.bincount(vtr[:, j].astype(int)).argmax() for j in range(vtr.shape[1])],
        float,
    )
    res = {
        part: stats(
            vae, vae._validate(X, reset=False), level_surprisals(X_train, X), modes
        )
        for part, X in (("train", X_train), ("test", X_test))
    }
    scores = {
        "elbo": res["test"][0],
        "final largest": res["test"][1],
        "independence largest": res["test"][2],
    }
    elbo_tail = tail_surprisal(res["train"][0], res["test"][0])
    for k in K:
        train, test = res["train"][3][:, :k].max(1), res["test"][3][:, :k].max(1)
        scores[f"cond largest k={k}"] = test
        scores[f"elbo & cond k={k} fisher"] = elbo_tail + tail_surprisal(train, test)
    return [result_row(name, seed, k, y, v, seconds) for k, v in scores.items()]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--datasets", nargs="+", required=True)
    add_report_arguments(parser)
    args = parser.parse_args()
    tasks = [(name, seed) for name in args.datasets for seed in args.seeds]
    report(run_tasks(evaluate, tasks, args.jobs), args.datasets, args)


if __name__ == "__main__":
    main()
