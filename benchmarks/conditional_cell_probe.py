"""A row's rarest cells judged given the rest of the row (issue #24): a diagnostic.

For each of a row's k cells whose levels are rarest in training (k = 1, 3,
8), the cell is set to its column's most common level, the row is encoded,
and the actual level is scored by the decoder: ``-log p(x_j | z(x with x_j
at the mode))``, so that z cannot explain the rare level away. The row's
score is the largest of the k; ``elbo & cond`` adds its training-tail
surprisal to the ELBO's (see ``ranking_probe.tail_surprisal``). Categorical
tables only.

Usage (from the project root)::

    python benchmarks/conditional_cell_probe.py --datasets w7a --seeds 0
"""

import argparse
import time
import warnings

import numpy as np
from _evaluation import add_report_arguments, report, result_row, run_tasks
from ranking_probe import _load, tail_surprisal

from vaeanomaly import VAEAnomalyDetector
from vaeanomaly.scoring import feature_contributions

K = (1, 3, 8)


def conditional(vae, values, mod, cols):
    import torch

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


def stats(vae, values, freq_surprisal, modes):
    base = vae._batched(feature_contributions, values, vae.n_draws)
    elbo = -vae._score_samples(values)
    rare = freq_surprisal(values)  # marginal surprisal of each cell
    order = np.argsort(-rare, axis=1)[:, : max(K)]
    rows = np.arange(len(values))
    cond = np.empty((len(values), max(K)))
    for i in range(max(K)):
        cols = order[:, i]
        mod = values.copy()
        mod[rows, cols] = modes[cols]
        cond[:, i] = conditional(vae, values, mod, cols)
    return elbo, base.max(1), rare.max(1), cond, order


def evaluate(collection, name, seed):
    X_train, X_test, y = _load(collection, name, seed)
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vae = VAEAnomalyDetector(random_state=seed).fit(X_train)
    sec = time.perf_counter() - t
    vtr = vae._validate(X_train, reset=False)
    vte = vae._validate(X_test, reset=False)
    n = len(vtr)
    counts = [
        np.bincount(vtr[:, j].astype(int), minlength=int(vtr[:, j].max()) + 1)
        for j in range(vtr.shape[1])
    ]
    modes = np.array([c.argmax() for c in counts], float)

    def freq_surprisal(v):
        out = np.empty(v.shape)
        for j, c in enumerate(counts):
            codes = v[:, j].astype(int)
            f = np.where(
                (codes >= 0) & (codes < len(c)), c[np.clip(codes, 0, len(c) - 1)], 0
            )
            out[:, j] = -np.log((f + 1) / (n + len(c) + 1))
        return out

    res = {}
    for part, v in (("train", vtr), ("test", vte)):
        res[part] = stats(vae, v, freq_surprisal, modes)
    sc = {
        "elbo": res["test"][0],
        "final largest": res["test"][1],
        "independence largest": res["test"][2],
    }
    for k in K:
        tr = res["train"][3][:, :k].max(1)
        te = res["test"][3][:, :k].max(1)
        sc[f"cond largest k={k}"] = te
        sc[f"elbo & cond k={k} fisher"] = tail_surprisal(
            res["train"][0], res["test"][0]
        ) + tail_surprisal(tr, te)
    return [result_row(name, seed, k_, y, v_, sec) for k_, v_ in sc.items()]


p = argparse.ArgumentParser()
p.add_argument("--datasets", nargs="*")
add_report_arguments(p)
a = p.parse_args()
report(
    run_tasks(
        evaluate, [("categorical", d, s) for d in a.datasets for s in a.seeds], a.jobs
    ),
    a.datasets,
    a,
)
