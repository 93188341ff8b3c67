"""
Sensor walk-through
===================

Windows, per-timestamp scores, blame, and a plot.

Trains a SequenceVAEDetector on the first part of a recording, scores the
rest, lists each flagged period with the channels to blame, and saves a PNG:
the channels, the score, the threshold and the flagged periods shaded::

    python examples/sensor_walkthrough.py                      # demo pump data
    python examples/sensor_walkthrough.py ../shared/data/skab/valve1/1.csv --sep ';' \
        --time-col datetime --drop anomaly changepoint --train-rows 400

Needs the ``plot`` extra (matplotlib) for the PNG; without it the plot is skipped.
"""

import argparse
from pathlib import Path

import pandas as pd

from vaeanomaly import VAEAnomalyDetector
from vaeanomaly.sequence import SequenceVAEDetector, flagged_periods

try:
    HERE = Path(__file__).resolve().parent
except NameError:  # run by the documentation's gallery, from this folder
    HERE = Path.cwd()

parser = argparse.ArgumentParser(
    description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
)
parser.add_argument("csv", nargs="?", default=HERE / "data" / "machine.csv")
parser.add_argument("--sep", default=",")
parser.add_argument("--time-col", default="timestamp")
parser.add_argument(
    "--drop", nargs="*", default=[], help="columns that are not channels"
)
parser.add_argument(
    "--train-rows", type=int, default=960, help="two load cycles of the demo data"
)
parser.add_argument("--window", type=int, default=5)
parser.add_argument("--out", default="sensor_walkthrough.png")
parser.add_argument("--quick", action="store_true", help="few epochs, for CI")
args = parser.parse_args()

# %%
# Train on the first two load cycles, score the whole recording, and list the
# flagged periods after the training part with the channels to blame.

frame = pd.read_csv(
    args.csv, sep=args.sep, parse_dates=[args.time_col], index_col=args.time_col
)
frame = frame.drop(columns=args.drop)
train = frame.iloc[: args.train_rows]

vae = VAEAnomalyDetector(max_epochs=5 if args.quick else 200, random_state=0)
detector = SequenceVAEDetector(window=args.window, detector=vae).fit(train)

scores = pd.Series(detector.score_samples(frame), index=frame.index)
flags = pd.Series(detector.predict(frame) == -1, index=frame.index)
flags.iloc[: args.train_rows] = False  # report only the part the model did not train on
blame = detector.score_features(frame)
periods = flagged_periods(flags, blame)
print(
    f"{int(flags.sum())} flagged timestamps in {len(periods)} periods "
    f"after row {args.train_rows}"
)
print(periods.to_string(index=False))

# %%
# The channels, the score, the threshold and the flagged periods shaded.

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("matplotlib is not installed (pip install -e '.[plot]'): no plot.")
    raise SystemExit(0) from None

channels = list(frame.columns)
fig, axes = plt.subplots(
    len(channels) + 1, 1, sharex=True, figsize=(11, 1.4 * (len(channels) + 1))
)
for ax, channel in zip(axes, channels, strict=False):
    ax.plot(frame.index, frame[channel], lw=0.8)
    ax.set_ylabel(channel, rotation=0, ha="right", fontsize=8)
axes[-1].plot(scores.index, scores, lw=0.8, color="black")
axes[-1].axhline(detector.offset_, color="red", ls="--", lw=1, label="threshold")
axes[-1].set_yscale("symlog")  # a few very unlikely windows would flatten the rest
axes[-1].set_ylabel("score", rotation=0, ha="right", fontsize=8)
axes[-1].legend(loc="lower left", fontsize=8)
for ax in axes:
    ax.axvspan(frame.index[0], frame.index[args.train_rows - 1], color="0.9", lw=0)
    for start, end in zip(periods["start"], periods["end"], strict=False):
        ax.axvspan(start, end, color="red", alpha=0.25, lw=0)
axes[0].set_title(
    "channels, score (higher = more normal), "
    "training part in grey, flagged periods in red"
)
fig.tight_layout()
fig.savefig(args.out, dpi=110)
print(f"saved {args.out}")
