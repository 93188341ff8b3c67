"""
Quick start
===========

Fit on a table, score it, and see which columns made rows odd.

Run ``python examples/quickstart.py`` (add ``--quick`` for a fast toy run).
"""

import argparse
from pathlib import Path

import pandas as pd

from vaeanomaly import VAEAnomalyDetector

try:
    HERE = Path(__file__).resolve().parent
except NameError:  # run by the documentation's gallery, from this folder
    HERE = Path.cwd()
DATA = HERE / "data" / "machine.csv"

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--quick", action="store_true", help="few epochs, for CI")
args = parser.parse_args()

# %%
# Fit on the demo pump recording: 2,000 minutes of five sensors, in their
# own units. ``predict`` gives -1 for the rows past the threshold.

frame = pd.read_csv(DATA, parse_dates=["timestamp"], index_col="timestamp")
detector = VAEAnomalyDetector(max_epochs=5 if args.quick else 200, random_state=0)
detector.fit(frame)  # raw sensor units: standardize=True scales each column

scores = pd.Series(detector.score_samples(frame), index=frame.index, name="score")
flags = detector.predict(frame) == -1
print(f"{flags.sum()} of {len(frame)} rows flagged (offset_ = {detector.offset_:.2f})")

# %%
# ``score_features`` splits a row's score by column, in nats: the column with
# the most is the one that made the row odd.

blame = detector.score_features(frame)
worst = scores.nsmallest(5).index
report = pd.DataFrame(
    {
        "score": scores[worst].round(2),
        "most_unusual_column": blame.loc[worst].idxmax(axis=1),
    }
)
print(report.to_string())
