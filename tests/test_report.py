"""The HTML report: its content, its escaping, and how it behaves in Chromium."""

import copy
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _require import importorskip, skip_or_fail
from click.testing import CliRunner

importorskip("jinja2", "the report extra is not installed (jinja2)")
importorskip("matplotlib", "the report extra is not installed (matplotlib)")

import _chromium  # noqa: E402  (tests/ is on sys.path: pytest's rootdir-less import)

from vaeanomaly import VAEAnomalyDetector, write_report  # noqa: E402
from vaeanomaly._report_plots import decimate  # noqa: E402
from vaeanomaly.cli.main import vaeanomaly  # noqa: E402
from vaeanomaly.sequence import SequenceVAEDetector, flagged_periods  # noqa: E402
from vaeanomaly.thresholds import ContaminationThreshold  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MACHINE = ROOT / "examples" / "data" / "machine.csv"
TINY = {
    "hidden_dims": (8,),
    "latent_dim": 2,
    "max_epochs": 4,
    "min_steps": 0,
    "n_draws": 4,
    "random_state": 0,
}
HOSTILE = "<script>alert(1)</script>"
PWN = '<img src=x onerror="window.__pwned=1">'


@pytest.fixture(scope="module")
def browser():
    executable = _chromium.find()
    if executable is None:
        skip_or_fail(
            "headless Chromium not found (apt-get install chromium, or set "
            "VAEANOMALY_CHROMIUM to its path)"
        )
    chrome = _chromium.Browser(executable)
    yield chrome
    chrome.close()


def assert_clean(facts, n_images):
    """Loaded offline, no errors, every image decoded, no script of any kind."""
    assert facts["console"] == []
    assert facts["requests"] == []
    assert facts["dialogs"] == []
    assert facts["scripts"] == 0
    assert facts["handlers"] == 0
    assert facts["pwned"] is None
    assert len(facts["images"]) == n_images
    for image in facts["images"]:
        assert image["complete"], image["alt"]
        assert image["width"] > 0, image["alt"]


def expected_top(scores, offset, labels, top=20):
    order = np.argsort(scores, kind="stable")
    return [labels[i] for i in order if scores[i] < offset][:top]


# --------------------------------------------------------------- in Chromium
def test_browser_checks_catch_a_bad_page(browser, tmp_path):
    # The checks below would pass on an empty page; show that they see trouble.
    page = tmp_path / "bad.html"
    page.write_text(
        "<!DOCTYPE html><p>x</p><img src='http://127.0.0.1:9/a.png'>"
        "<script>console.error('boom'); window.__pwned = 1; alert(2)</script>"
    )
    facts = browser.visit(page)
    assert any("boom" in line for line in facts["console"])
    assert facts["requests"] == ["http://127.0.0.1:9/a.png"]
    assert facts["dialogs"] == ["2"]
    assert facts["scripts"] == 1
    assert facts["pwned"] == "1"
    assert facts["images"][0]["width"] == 0


@pytest.mark.slow  # about 5 s: the demo recording
def test_demo_recording_in_chromium(browser, tmp_path):
    frame = pd.read_csv(MACHINE, parse_dates=["timestamp"])
    X = frame.drop(columns="timestamp")
    detector = SequenceVAEDetector(window=5, detector=VAEAnomalyDetector(**TINY)).fit(
        X.iloc[:1000]
    )
    path = tmp_path / "machine.html"
    page = write_report(
        detector,
        X,
        path,
        time=frame["timestamp"],
        reference=X.iloc[:1000],
        source="machine.csv",
    )
    assert path.read_text(encoding="utf-8") == page
    scores = detector.score_samples(X)
    flags = scores < detector.offset_
    labels = [str(t) for t in frame["timestamp"]]
    top = expected_top(scores, detector.offset_, labels)
    assert top, "the tiny model should flag the injected faults"
    n_periods = len(flagged_periods(flags))
    # histogram, timeline, up to 3 period plots, heatmap, training curve
    facts = browser.visit(path, screenshot=tmp_path / "machine.png")
    assert_clean(facts, n_images=4 + min(n_periods, 3))
    assert facts["anomalyLabels"] == top
    assert facts["anomalyRows"] == min(20, int(flags.sum()))
    assert facts["periodRows"] == min(20, n_periods)
    assert (tmp_path / "machine.png").stat().st_size > 10_000


@pytest.fixture(scope="module")
def mixed():
    rng = np.random.default_rng(3)
    n = 300
    frame = pd.DataFrame(
        {
            "mode": rng.choice(["idle", "run", "clean"], size=n, p=[0.3, 0.6, 0.1]),
            "line": rng.choice([7, 8], size=n),
            "temp": rng.normal(50, 2, size=n),
            "pressure": rng.normal(3, 0.1, size=n),
        }
    )
    frame.loc[frame["mode"] == "run", "temp"] += 10
    frame.loc[rng.choice(n, 30, replace=False), "temp"] = np.nan
    frame.loc[rng.choice(n, 20, replace=False), "mode"] = None
    frame.loc[[5, 17], "pressure"] = [9.0, -4.0]
    frame.loc[40, "mode"] = "never-seen"
    detector = VAEAnomalyDetector(
        **TINY, categorical_features=["mode", "line"], contamination=0.05
    ).fit(frame)
    return frame, detector


def test_mixed_table_with_gaps_in_chromium(browser, tmp_path, mixed):
    frame, detector = mixed
    path = tmp_path / "mixed.html"
    page = write_report(detector, frame, path, source="plant.csv")
    scores = detector.score_samples(frame)
    top = expected_top(scores, detector.offset_, [str(i) for i in frame.index])
    facts = browser.visit(path)
    assert_clean(facts, n_images=3)  # histogram, heatmap, training curve
    assert facts["anomalyLabels"] == top
    missing = int(frame.isna().sum().sum())
    assert f"{missing} (" in facts["text"]  # the summary's missing cells
    assert "categorical (4 levels)" in page
    assert "categorical (2 levels)" in page
    assert "Score over time" not in facts["text"]


def hostile_table(n_rows=40, n_cols=500):
    rng = np.random.default_rng(5)
    names = [f"c{j}" for j in range(n_cols)]
    names[:6] = [HOSTILE, PWN, "$x$", "price $ 5", "\"q\" & 's'", "y" * 300]
    frame = pd.DataFrame(rng.normal(size=(n_rows, n_cols)), columns=names)
    frame.insert(
        2,
        "</td><b>cell</b>",
        rng.choice(["<b>bold</b>", "<script>window.__pwned=2</script>"], n_rows),
    )
    frame.index = [f"<i>r{i}</i>" for i in range(n_rows)]
    return frame


@pytest.fixture(scope="module")
def hostile():
    frame = hostile_table()
    return frame, VAEAnomalyDetector(**TINY).fit(frame)


@pytest.mark.parametrize("flagged", [1, 0])
def test_hostile_table_in_chromium(browser, tmp_path, hostile, flagged):
    frame, detector = hostile
    scores = np.sort(detector.score_samples(frame))
    cut = (scores[0] + scores[1]) / 2 if flagged else scores[0] - 1.0
    path = tmp_path / "hostile.html"
    write_report(detector, frame, path, threshold=cut, source=f"{HOSTILE}.csv")
    facts = browser.visit(path)
    assert_clean(facts, n_images=3 if flagged else 2)
    assert facts["anomalyRows"] == flagged
    if flagged:
        assert facts["anomalyLabels"] == [
            frame.index[np.argmin(detector.score_samples(frame))]
        ]
    else:
        assert "nothing is flagged" in facts["text"]
    # The names and cells are on the page as text.
    assert HOSTILE in facts["text"]
    assert PWN in facts["text"]
    assert "</td><b>cell</b>" in facts["text"]


# ------------------------------------------------------------- the HTML itself
def test_everything_from_the_file_is_escaped(hostile):
    frame, detector = hostile
    page = write_report(detector, frame, threshold=np.inf, source=f"{HOSTILE}.csv")
    assert "<script" not in page.lower()
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=&#34;window.__pwned=1&#34;&gt;" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    lowest = frame.index[np.argmin(detector.score_samples(frame))]
    assert f"<td>{lowest.replace('<', '&lt;').replace('>', '&gt;')}</td>" in page
    # Images are data URIs; nothing else is referenced.
    sources = re.findall(r'\b(?:src|href)="([^"]*)"', page)
    assert sources
    assert all(s.startswith("data:image/svg+xml;base64,") for s in sources)
    assert "default-src 'none'" in page
    template = (ROOT / "vaeanomaly" / "templates" / "report.html.j2").read_text()
    assert "|safe" not in template.replace(" ", "")
    assert "Markup" not in template


def test_no_pyplot_state_and_no_backend_change(fitted_tiny):
    import matplotlib
    import matplotlib.pyplot as plt

    detector, frame = fitted_tiny
    backend, figures = matplotlib.get_backend(), plt.get_fignums()
    write_report(detector, frame)
    assert plt.get_fignums() == figures
    assert matplotlib.get_backend() == backend


@pytest.mark.parametrize(
    ("threshold", "expected"),
    [(None, None), (-1e9, 0), ("contamination", 20), (ContaminationThreshold(0.1), 20)],
)
def test_threshold_choices(fitted_tiny, threshold, expected):
    detector, frame = fitted_tiny
    page = write_report(detector, frame, threshold=threshold, top=50)
    flagged = int(re.search(r'id="n-flagged">([\d,]+)<', page).group(1))
    if expected is None:
        expected = int((detector.score_samples(frame) < detector.offset_).sum())
    assert flagged == expected


def test_an_array_is_scored_as_an_array(recwarn):
    X = np.random.default_rng(2).normal(size=(150, 3))
    detector = VAEAnomalyDetector(**TINY).fit(X)
    page = write_report(
        detector, X, threshold=np.quantile(detector.score_samples(X), 0.05)
    )
    assert "<td>x0</td>" in page  # columns named as scikit-learn would
    assert not [w for w in recwarn if "feature names" in str(w.message)]
    # integer column names: the model names them x0.., and so does the page
    page = write_report(detector, pd.DataFrame(X), threshold=-1e9)
    assert "<td>x2</td>" in page


def test_time_of_the_wrong_length_is_refused(fitted_tiny):
    detector, frame = fitted_tiny
    with pytest.raises(ValueError, match="time has 3 values but X has 200 rows"):
        write_report(detector, frame, time=[1, 2, 3])


def test_decimate_keeps_extremes_and_bounds_the_length():
    rng = np.random.default_rng(0)
    y = rng.normal(size=100_000)
    y[12_345], y[67_890] = 50.0, -50.0
    x, kept = decimate(np.arange(len(y)), y, max_points=1000)
    assert len(kept) <= 1000
    assert kept.max() == 50.0
    assert kept.min() == -50.0
    assert x[kept.argmax()] == 12_345
    assert np.all(np.diff(x) > 0)
    short = np.arange(10.0)
    assert np.array_equal(decimate(short, short)[1], short)
    gap = np.r_[np.ones(500), np.full(500, np.nan)]
    assert np.isnan(decimate(np.arange(1000), gap, max_points=100)[1]).any()


def test_a_long_series_makes_a_small_page(tmp_path):
    rng = np.random.default_rng(1)
    n = 100_000
    frame = pd.DataFrame(rng.normal(size=(n, 3)), columns=["a", "b", "c"])
    frame.iloc[::997, 0] += 8
    detector = VAEAnomalyDetector(**TINY).fit(frame.iloc[:2000])
    page = write_report(
        detector, frame, time=pd.date_range("2026-01-01", periods=n, freq="s")
    )
    assert len(page.encode()) < 600_000


# ------------------------------------------------- the README's first command
def readme_report_command():
    """The README's first command, less its ``pip install`` part."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"^```bash\n(.*?)^```", text, re.S | re.M)
    assert block, "README.md has no ```bash block"
    install, command = block.group(1).splitlines()[0].split(" && ", 1)
    assert install.startswith("pip install "), install
    assert command.startswith("vaeanomaly report "), command
    return shlex.split(command)


@pytest.mark.slow  # about 12 s: fits the README's model
def test_readme_first_command_makes_a_page_a_person_can_read(browser, tmp_path):
    # Run exactly as a new user would, from a copy of the files it reads, with
    # the installed console script; then look at the page in Chromium.
    argv = readme_report_command()
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])
    exe = shutil.which(argv[0], path=path)
    if exe is None:
        skip_or_fail(
            "the vaeanomaly console script is not installed (pip install -e .)"
        )
    done = subprocess.run(
        [exe, *argv[1:]],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout == ""
    page = tmp_path / argv[argv.index("-o") + 1]
    assert f"Wrote the report to '{page.name}'" in done.stderr
    flagged = int(re.search(r"; ([\d,]+) flagged as anomalies", done.stderr)[1])
    top_rows = re.findall(r"^  timestamp (\S+ \S+)  score", done.stderr, re.M)
    assert flagged > 0
    assert top_rows

    facts = browser.visit(page, screenshot=tmp_path / "readme.png")
    source = argv[argv.index("report") + 1]
    assert facts["title"] == f"Anomaly report: {source}"
    assert facts["flagged"] == f"{flagged:,}"
    n_periods = facts["periodRows"]
    # histogram, timeline, up to 3 period plots, heatmap, training curve
    assert_clean(facts, n_images=4 + min(n_periods, 3))
    assert facts["anomalyRows"] == min(20, flagged)
    assert facts["anomalyLabels"][: len(top_rows)] == top_rows
    assert "Top anomalies" in facts["text"]
    assert (tmp_path / "readme.png").stat().st_size > 10_000


# ------------------------------------------------------------------ the CLI
@pytest.fixture(scope="module")
def windowed_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "pump.vae"
    result = CliRunner().invoke(
        vaeanomaly,
        [
            "fit",
            str(MACHINE),
            "-o",
            str(path),
            "--time-col",
            "timestamp",
            "--window",
            "5",
            "--epochs",
            "3",
            "--hidden-dims",
            "8",
            "--latent-dim",
            "2",
            "-q",
        ],
    )
    assert result.exit_code == 0, result.output
    return path


def test_report_command_with_a_model(tmp_path, windowed_model):
    out = tmp_path / "pump.html"
    result = CliRunner().invoke(
        vaeanomaly,
        [
            "report",
            str(MACHINE),
            "-m",
            str(windowed_model),
            "--time-col",
            "timestamp",
            "-o",
            str(out),
            "--top",
            "5",
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "Wrote the report to" in result.stderr
    page = out.read_text(encoding="utf-8")
    assert "Flagged periods" in page
    assert "2026-01-05 08:00:00 to" in page
    assert "the time column (--time-col)" in page
    assert page.count("<tr><td>") <= 5 + 5 + 5  # anomalies, periods, columns


def test_detect_writes_scores_and_report(tmp_path, windowed_model):
    out = tmp_path / "pump.html"
    result = CliRunner().invoke(
        vaeanomaly,
        [
            "detect",
            str(MACHINE),
            "-m",
            str(windowed_model),
            "--time-col",
            "timestamp",
            "--report",
            str(out),
            "-q",
        ],
    )
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 2001
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_existing_report_is_refused_before_any_work(tmp_path):
    out = tmp_path / "r.html"
    out.write_text("keep me")
    result = CliRunner().invoke(
        vaeanomaly, ["detect", str(MACHINE), "--report", str(out)]
    )
    assert result.exit_code == 2
    assert "already exists. Pass --force" in result.stderr
    assert "fitting" not in result.stderr
    assert out.read_text() == "keep me"


def test_without_the_extra_the_command_names_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "jinja2", None)
    monkeypatch.delitem(sys.modules, "vaeanomaly.report", raising=False)
    result = CliRunner().invoke(
        vaeanomaly, ["report", str(MACHINE), "-o", str(tmp_path / "r.html")]
    )
    assert result.exit_code == 2
    assert 'pip install "vaeanomaly[report]"' in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_report_help():
    result = CliRunner().invoke(vaeanomaly, ["report", "--help"])
    assert result.exit_code == 0
    assert "--time-col" in result.output
    assert "--window" in result.output


def test_contributions_above_usual_are_signed_once(fitted_tiny):
    # A top column can cost less than its usual level: "-0.05", never "+-0.05".
    detector, frame = fitted_tiny
    page = write_report(detector, frame, threshold="contamination", top=50)
    excess = re.findall(r"</span> ([^<]*)</span>", page)
    assert excess
    assert all(re.fullmatch(r"[+-][\d.e+-]+|\(missing\)", e) for e in excess), excess
    assert not [e for e in excess if e.startswith("+-")]
    assert any(e.startswith("-") for e in excess)


@pytest.mark.parametrize(
    ("method", "says"),
    [
        ("elbo", "Scores are log-likelihoods under the model (the ELBO"),
        ("recon_error", "Scores are minus the squared error"),
        ("rarest_value", "Scores are the log-probability of each row"),
    ],
)
def test_the_page_says_what_the_scores_are(fitted_tiny, method, says):
    detector, frame = fitted_tiny
    detector = copy.deepcopy(detector).set_scoring(score_method=method)
    assert says in write_report(detector, frame, threshold="contamination")


def test_the_page_says_how_a_window_models_threshold_was_set(tmp_path):
    # A recording's threshold comes from held-out readings scored by a second
    # model; the page said "fitted on the training scores" for every model.
    t = np.arange(400)
    frame = pd.DataFrame({"a": np.sin(t / 10), "b": np.cos(t / 10)})
    detector = SequenceVAEDetector(window=3, detector=VAEAnomalyDetector(**TINY)).fit(
        frame
    )
    path = tmp_path / "r.html"
    write_report(detector, frame, path)
    page = path.read_text(encoding="utf-8")
    assert "on the scores of the last 100 training rows, from a second model" in page
    assert "fitted on the training scores" not in page
