"""Generate the demo sensor table ``machine.csv`` (and its labelled copy).

A pump with five sensors, sampled once a minute for 2,000 minutes. The
readings follow one hidden load level, so they move together; a few short
episodes break that relation (a blocked pipe: pressure up while flow drops; a
bearing fault: vibration up; a sensor glitch: temperature jumps). Run it from
anywhere; it writes next to itself and is deterministic.
"""

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def make(n_rows: int = 2000, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    minutes = np.arange(n_rows)
    load = (
        0.6 + 0.25 * np.sin(2 * np.pi * minutes / 480) + 0.05 * rng.normal(size=n_rows)
    )
    frame = pd.DataFrame(
        {
            "timestamp": pd.date_range("2026-01-05 08:00", periods=n_rows, freq="min"),
            "temperature": 40 + 25 * load + rng.normal(0, 0.8, n_rows),
            "pressure": 2.0 + 3.0 * load + rng.normal(0, 0.08, n_rows),
            "flow": 120 * load + rng.normal(0, 2.0, n_rows),
            "vibration": 0.2 + 0.3 * load**2 + np.abs(rng.normal(0, 0.02, n_rows)),
            "current": 8 + 10 * load + rng.normal(0, 0.3, n_rows),
        }
    )
    label = np.zeros(n_rows, dtype=int)
    for start, length in [(350, 12), (1210, 8)]:  # blocked pipe
        rows = slice(start, start + length)
        frame.loc[rows, "pressure"] += 1.5
        frame.loc[rows, "flow"] -= 35
        label[rows] = 1
    rows = slice(800, 815)  # bearing fault
    frame.loc[rows, "vibration"] += 0.35
    label[rows] = 1
    for row in (1500, 1730, 1904):  # temperature sensor glitches
        frame.loc[row, "temperature"] -= 30
        label[row] = 1
    frame = frame.round(
        {"temperature": 2, "pressure": 3, "flow": 2, "vibration": 4, "current": 3}
    )
    return frame.assign(label=label)


if __name__ == "__main__":
    data = make()
    data.drop(columns="label").to_csv(HERE / "machine.csv", index=False)
    data.to_csv(HERE / "machine_labeled.csv", index=False)
    print(f"wrote {len(data)} rows to {HERE}")
