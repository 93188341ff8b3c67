"""
Categories and gaps
===================

A plant table with an operating mode, a line code and holes.

No one-hot encoding or imputation by hand: text columns are modelled with a
Categorical likelihood, integer codes are named in ``categorical_features``,
and empty cells are left out of the likelihood. The anomalies here are rows
whose reading does not fit their mode: each column alone looks normal.

Run ``python examples/mixed_table.py`` (add ``--quick`` for a fast toy run).
"""

import argparse

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from vaeanomaly import VAEAnomalyDetector

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--quick", action="store_true", help="few epochs, for CI")
args = parser.parse_args()

rng = np.random.default_rng(0)
LEVEL = {"idle": 20.0, "run": 60.0, "boost": 90.0}  # temperature by mode


def plant(n):
    mode = rng.choice(list(LEVEL), size=n, p=[0.3, 0.5, 0.2])
    return pd.DataFrame(
        {
            "mode": mode,
            "line": rng.choice([7, 8, 9], size=n),
            "temp": np.array([LEVEL[m] for m in mode]) + 3 * rng.normal(size=n),
            "vibration": rng.gamma(2.0, 1.0, size=n),
        }
    )


train = plant(2000)
train = train.mask(rng.random(train.shape) < 0.05)  # 5% of cells empty
test = plant(300)
wrong = test.index[:15]  # a reading that belongs to another mode
test.loc[wrong, "mode"] = test.loc[wrong, "mode"].map(
    {"idle": "boost", "run": "idle", "boost": "idle"}
)
test.loc[20, "mode"] = "turbo"  # a level never seen in training
test.loc[21, "temp"] = np.nan  # a gap

# %%
# Fit with the mode and the line code named as categories; the empty cells
# need nothing.

detector = VAEAnomalyDetector(
    categorical_features=["mode", "line"],
    max_epochs=3 if args.quick else 200,
    random_state=0,
).fit(train)
print("heads:", dict(zip(train.columns, detector.schema_.heads_, strict=True)))

scores = detector.score_samples(test)
truth = np.isin(test.index, wrong)
print(f"AUROC on the rows with a wrong mode: {roc_auc_score(truth, -scores):.3f}")
# %%
# Which column made each row odd: the mode, for the rows whose reading
# belongs to another mode; a gap adds nothing.

blame = detector.score_features(test)
print("Most unusual column of the 5 lowest-scoring rows:")
worst = np.argsort(scores)[:5]
print(blame.iloc[worst].idxmax(axis=1).to_string())
print("Row with the unseen mode 'turbo':", blame.loc[20].round(2).to_dict())
print("Row with a gap (NaN contribution):", blame.loc[21].round(2).to_dict())
