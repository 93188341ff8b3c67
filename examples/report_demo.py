"""
The HTML report
===============

The report of the demo pump recording, and a screenshot of it.

Fits a SequenceVAEDetector (windows of 5 readings) on the first 960 minutes
of ``examples/data/machine.csv`` (two load cycles), writes the report of the
whole recording with ``write_report``, and, when headless Chromium is
installed, a PNG screenshot of the page::

    python examples/report_demo.py            # machine_report.html (+ .png)
    python examples/report_demo.py --quick    # a few epochs, for CI

The command line gives the same kind of page::

    vaeanomaly report examples/data/machine.csv --time-col timestamp \
        -o machine_report.html

Needs the ``report`` extra: pip install "vaeanomaly[report]".
"""

import argparse
import os
import shutil
import subprocess
import time
from pathlib import Path

import pandas as pd

from vaeanomaly import VAEAnomalyDetector, write_report
from vaeanomaly.sequence import SequenceVAEDetector

try:
    HERE = Path(__file__).resolve().parent
except NameError:  # run by the documentation's gallery, from this folder
    HERE = Path.cwd()

parser = argparse.ArgumentParser(
    description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
)
parser.add_argument("--out", default="machine_report.html")
parser.add_argument("--train-rows", type=int, default=960)
parser.add_argument("--quick", action="store_true", help="few epochs, for CI")
parser.add_argument(
    "--whole-page", dest="top", action="store_false", help="screenshot it all"
)
args = parser.parse_args()

frame = pd.read_csv(HERE / "data" / "machine.csv", parse_dates=["timestamp"])
readings = frame.drop(columns="timestamp")
train = readings.iloc[: args.train_rows]
if args.quick:
    vae = VAEAnomalyDetector(
        hidden_dims=(8,), max_epochs=3, min_steps=0, random_state=0
    )
else:
    vae = VAEAnomalyDetector(random_state=0)
detector = SequenceVAEDetector(window=5, detector=vae).fit(train)

# %%
# ``write_report`` writes one self-contained page: it opens offline in any
# browser.

start = time.perf_counter()
page = write_report(
    detector,
    readings,
    args.out,
    time=frame["timestamp"],
    reference=train,
    source="examples/data/machine.csv",
)
seconds = time.perf_counter() - start
print(f"wrote {args.out}: {len(page.encode()) / 1024:.0f} KB in {seconds:.1f} s")

# %%
# A screenshot of the page's top, taken with headless Chromium.

chromium = next(
    (
        shutil.which(n)
        for n in ("chromium", "chromium-browser", "google-chrome")
        if shutil.which(n)
    ),
    None,
)
if chromium is None:
    print("no headless Chromium found (apt-get install chromium): no screenshot")
    raise SystemExit(0)
png = Path(args.out).with_suffix(".png")
command = [
    chromium,
    "--headless",
    "--disable-gpu",
    "--hide-scrollbars",
    f"--window-size=1200,{1200 if args.top else 7200}",
    f"--screenshot={png.resolve()}",
    Path(args.out).resolve().as_uri(),
]
if hasattr(os, "geteuid") and os.geteuid() == 0:
    command.insert(1, "--no-sandbox")  # Chromium refuses to run as root otherwise
result = subprocess.run(
    command, capture_output=True, text=True, timeout=120, check=False
)
if result.returncode != 0 or not png.exists():
    print(f"the screenshot failed: {result.stderr.strip()[-500:]}")
else:
    print(f"wrote {png}")
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise SystemExit(0) from None
    fig, ax = plt.subplots(figsize=(10, 10 if args.top else 60))
    ax.imshow(plt.imread(png))
    ax.set_axis_off()
    fig.tight_layout()
