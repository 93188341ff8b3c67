"""The figures of README.md and of the documentation site agree with the result files.

The documents are README.md and the site's own pages (``DOCUMENTS``); the
API pages come from docstrings, whose figures cite the decision record that
holds them. Every table of figures in a document and every figure in its
prose is declared
below (``TABLES``, ``PROSE``) with the result file it comes from and how the
benchmark computes it (``benchmarks/_evaluation.py``: means over seeds per set,
then over sets; average ranks; sets won and lost). The test recomputes each one,
rounds it as the README prints it, and compares the text. A regenerated result
file or an edited README table is checked as it is; the test needs editing only
when a table, a row label or a sentence that carries a figure is new. It fails

- when a README figure differs from its file, rounded as printed;
- when a table holds decimal figures but is not declared, or has a row or a
  column its declaration does not know;
- when a declared sentence is gone from the README (declare the new wording);
- when the prose holds a decimal number or a percentage that is neither a
  declared figure nor a declared non-figure (a parameter, a formula).

Everything is read from the repository: nothing is fitted and nothing skipped.
"""

import ast
import csv
import re
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from _evaluation import _per_set, average_ranks, mean_over_sets, won_lost  # noqa: E402
from _provenance import read_rows  # noqa: E402
from wide_summary import summarise as wide_summary  # noqa: E402

README = ROOT / "README.md"
RESULTS = ROOT / "benchmarks" / "results"
#: The documents whose figures are checked: the README and the site's pages.
DOCUMENTS = [
    README,
    *sorted((ROOT / "docs").glob("*.md")),
    *sorted((ROOT / "docs" / "guide").glob("*.md")),
]


# ---------------------------------------------------------------- result files
@cache
def rows_of(file: str) -> list | dict:
    return read_rows(RESULTS / file)


@dataclass(frozen=True)
class Source:
    """The rows of one detector in one result file (``*`` in a file of baselines)."""

    file: str
    detector: str


def set_names(file: str) -> list[str]:
    """The datasets a run covered, sorted as the benchmark scripts sort them."""
    return sorted({r["dataset"] for r in rows_of(file)})


def seeds_of(file: str) -> set[int]:
    return {r["seed"] for r in rows_of(file)}


def mean_of(source: Source, metric: str, names: list[str]) -> float:
    return mean_over_sets(rows_of(source.file), names, source.detector, metric)


def sets_won_lost(new: Source, old: Source, metric: str) -> tuple[int, int]:
    """As ``print_comparison``: per-set means over shared sets, won/lost by > TIE."""
    a = _per_set(rows_of(new.file), new.detector, metric)
    b = _per_set(rows_of(old.file), old.detector, metric)
    return won_lost({n: a[n] - b[n] for n in a if n in b})


def median_fit_s(file: str, detector: str = "vae") -> float:
    return float(
        np.median([r["fit_s"] for r in rows_of(file) if r["detector"] == detector])
    )


def median_fit_ratio(file: str, detector: str, baseline: str) -> float:
    """Median over sets of ``detector``'s fit time over ``baseline``'s, one run."""
    times = {}
    for r in rows_of(file):
        times.setdefault(r["detector"], {})[r["dataset"]] = r["fit_s"]
    ours, base = times[detector], times[baseline]
    return float(np.median([ours[n] / base[n] for n in ours if n in base]))


def speed_ratio(columns: int) -> float:
    """``speed.py``: our fit time over PyOD's VAE's, on the table with ``columns``."""
    (row,) = [r for r in rows_of("speed_5d6f3d5.json")["fit"] if r["cols"] == columns]
    return row["ours_s"] / row["pyod_s"]


def code_constant(path: str, name: str) -> float:
    """A module-level constant, read without importing the module (no torch)."""
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(getattr(t, "id", None) == name for t in targets):
                return ast.literal_eval(node.value)
    raise AssertionError(f"{name} is not a module constant of {path}.")


def machine_csv() -> tuple[int, int]:
    """Rows and sensor columns of the demo recording of the README's first command."""
    with open(ROOT / "examples/data/machine.csv", newline="", encoding="utf-8") as f:
        header, *body = list(csv.reader(f))
    return len(body), len([c for c in header if c != "timestamp"])


# ---------------------------------------------------------------- tables
@dataclass(frozen=True)
class Table:
    """A README table of detectors (rows) by figures (columns), and its sources.

    ``rows`` maps the start of a first-column label to its source (the longest
    matching start wins); a label not there is looked up as a detector name in
    ``baselines``. Means are over the datasets and seeds of ``sets_from``; the
    rank column ranks the ``rank_pool`` source against every detector of
    ``baselines``, as ``adbench.py --baselines`` does.
    """

    sets_from: str
    rows: dict[str, Source]
    baselines: str
    columns: dict[str, Callable[["Table", Source], float | None]]
    rank_pool: Source

    def source(self, label: str) -> Source:
        plain = label.replace("**", "").strip()
        starts = [k for k in self.rows if plain.startswith(k)]
        if starts:
            return self.rows[max(starts, key=len)]
        detectors = {r["detector"] for r in rows_of(self.baselines)}
        assert plain.strip("`") in detectors, (
            f"README row {label!r} has no source: add it to TABLES' rows, or name "
            f"a detector of {self.baselines} ({sorted(detectors)})."
        )
        return Source(self.baselines, plain.strip("`"))

    def names(self) -> list[str]:
        return set_names(self.sets_from)

    def pool(self) -> list[Source]:
        baselines = dict.fromkeys(r["detector"] for r in rows_of(self.baselines))
        return [self.rank_pool, *(Source(self.baselines, d) for d in baselines)]


def mean_column(metric: str):
    def figure(table: Table, source: Source) -> float:
        return mean_of(source, metric, table.names())

    return figure


def rank_column(table: Table, source: Source) -> float | None:
    """Average AUROC rank among ``table.pool()``, seeds of ``sets_from`` only."""
    pool = table.pool()
    seeds = seeds_of(table.sets_from)
    rows = [
        {**r, "detector": (s.file, s.detector)}
        for s in pool
        for r in rows_of(s.file)
        if r["detector"] == s.detector and r["seed"] in seeds
    ]
    ranks, n_sets = average_ranks(
        rows, table.names(), [(s.file, s.detector) for s in pool]
    )
    assert n_sets == len(table.names())
    return ranks[(source.file, source.detector)]


ADBENCH_VAE = Source("adbench.json", "vae")

#: README heading -> the table under it.
TABLES = {
    "Detection quality": Table(
        sets_from="adbench.json",
        rows={
            "`VAEAnomalyDetector()`": ADBENCH_VAE,
            '`VAEAnomalyDetector(likelihood="gaussian_column")`': Source(
                "adbench_gaussian_column_head_83cdec8.json", "vae"
            ),
            "`VAEAnomalyDetector()` of 0.3.0": Source("adbench_v0.3.json", "vae"),
            "`VAEAnomalyDetector()` of 0.4.0": Source(
                "adbench_v0.4_cfcbd2b.json", "vae"
            ),
        },
        baselines="adbench_baselines.json",
        columns={
            "mean AUROC": mean_column("auroc"),
            "mean AP": mean_column("ap"),
            "average AUROC rank (of {n})": rank_column,
        },
        rank_pool=ADBENCH_VAE,
    ),
}


# ---------------------------------------------------------------- prose
@dataclass(frozen=True)
class Figure:
    """A figure in README prose: a regex whose one group is the printed number."""

    pattern: str
    value: Callable[[], float | int]


def categorical_five() -> list[str]:
    """The five tables of the categorical runs with every seed (w7a is seed 0 only)."""
    return set_names("categorical_all_scores_cc6a7bc.json")


def categorical_mean(file: str, detector: str, metric: str = "auroc") -> float:
    return mean_of(Source(file, detector), metric, categorical_five())


def categorical_median_fit(file: str) -> float:
    """Median over the five tables of the VAE's mean fit seconds over seeds."""
    rows = [r for r in rows_of(file) if r["detector"] == "vae"]
    per_table = [
        statistics.mean(r["fit_s"] for r in rows if r["dataset"] == name)
        for name in categorical_five()
    ]
    return statistics.median(per_table)


def w7a_seed0() -> float:
    (row,) = [
        r
        for r in rows_of("categorical_w7a_seed0.json")
        if (r["detector"], r["dataset"], r["seed"]) == ("vae", "w7a", 0)
    ]
    return row["auroc"]


RAREST_W7A = Source("categorical_w7a_rarest_value.json", "rarest_value L=256")
RAREST_CATEGORICAL = Source("categorical_rarest_value.json", "rarest_value L=256")
ADBENCH_GAUSSIAN = Source("adbench_gaussian_column_head_83cdec8.json", "vae")
ADBENCH_04 = Source("adbench_v0.4.json", "vae")
ADBENCH_03 = Source("adbench_v0.3.json", "vae")


def sensor_table(file: str) -> dict:
    return rows_of(file)["table"]


WIDE_NOW, WIDE_BEFORE = "adbench_embeddings.json", "adbench_embeddings_v0.4.json"


def wide(file: str, key: str) -> float:
    """A figure of ``wide_summary.py`` for one embedding-collection run."""
    return wide_summary(rows_of(file))[key]


PROSE = [
    Figure(
        r"fit in ([\d.]+) s on the median table",
        lambda: wide(WIDE_NOW, "image_fit_s"),
    ),
    Figure(
        r"against ([\d.]+) s with the narrow defaults",
        lambda: wide(WIDE_BEFORE, "image_fit_s"),
    ),
    Figure(
        r"and in ([\d.]+) times PCA's fit time",
        lambda: wide(WIDE_NOW, "image_fit_vs_pca"),
    ),
    Figure(
        r"their mean AUROC is ([\d.]+), against",
        lambda: wide(WIDE_NOW, "image_auroc"),
    ),
    Figure(
        r"their mean AUROC is [\d.]+, against ([\d.]+) with the narrow defaults",
        lambda: wide(WIDE_BEFORE, "image_auroc"),
    ),
    Figure(
        r"with the narrow defaults, kNN's ([\d.]+), PCA's",
        lambda: wide(WIDE_NOW, "image_auroc_kNN"),
    ),
    Figure(
        r"PCA's ([\d.]+) and IsolationForest's",
        lambda: wide(WIDE_NOW, "image_auroc_PCA"),
    ),
    Figure(
        r"and IsolationForest's (\d\.\d+)",
        lambda: wide(WIDE_NOW, "image_auroc_IsolationForest"),
    ),
    Figure(
        r"the AUROC is ([\d.]+), against [\d.]+ with the narrow defaults and kNN's",
        lambda: wide(WIDE_NOW, "text_auroc"),
    ),
    Figure(
        r"the AUROC is [\d.]+, against ([\d.]+) with the narrow defaults and kNN's",
        lambda: wide(WIDE_BEFORE, "text_auroc"),
    ),
    Figure(
        r"with the narrow defaults and kNN's ([\d.]+)",
        lambda: wide(WIDE_NOW, "text_auroc_kNN"),
    ),
    Figure(
        r"the fit takes ([\d.]+) s instead of", lambda: wide(WIDE_NOW, "text_fit_s")
    ),
    Figure(
        r"the fit takes [\d.]+ s instead of ([\d.]+) s",
        lambda: wide(WIDE_BEFORE, "text_fit_s"),
    ),
    Figure(
        r"first 1,000 readings flags ([\d.]+)% of the",
        lambda: sensor_table("skab_summary.json")["fault-free alarms % (train 1,000)"],
    ),
    Figure(
        r"rest \(([\d.]+)% with the training levels",
        lambda: sensor_table("skab_summary_v0.4.json")[
            "fault-free alarms % (train 1,000)"
        ],
    ),
    Figure(
        r"first 400 flags ([\d.]+)%",
        lambda: sensor_table("skab_summary.json")["fault-free alarms % (train 400)"],
    ),
    Figure(
        r"first 400 flags [\d.]+%\s+\(([\d.]+)%\)",
        lambda: sensor_table("skab_summary_v0.4.json")[
            "fault-free alarms % (train 400)"
        ],
    ),
    Figure(r"`examples/data/machine\.csv`, ([\d,]+) rows", lambda: machine_csv()[0]),
    Figure(r"machine\.csv`, [\d,]+ rows, (\w+) sensors", lambda: machine_csv()[1]),
    Figure(
        r"mean AP on the (\d+) ADBench sets",
        lambda: len(set_names(ADBENCH_VAE.file)),
    ),
    Figure(
        r"ADBench sets from ([\d.]+) to [\d.]+ \(both under",
        lambda: mean_of(ADBENCH_GAUSSIAN, "ap", set_names(ADBENCH_VAE.file)),
    ),
    Figure(
        r"ADBench sets from [\d.]+ to ([\d.]+) \(both under 0\.4\.0's training",
        lambda: mean_of(ADBENCH_04, "ap", set_names(ADBENCH_04.file)),
    ),
    Figure(
        r"On the (\d+) ADBench development sets",
        lambda: len(set_names(ADBENCH_VAE.file)),
    ),
    Figure(
        r"against 0\.3\.0 it wins on (\d+) sets",
        lambda: sets_won_lost(ADBENCH_VAE, ADBENCH_03, "auroc")[0],
    ),
    Figure(
        r"against 0\.3\.0 it wins on \d+ sets and loses on (\d+) \(AUROC\)",
        lambda: sets_won_lost(ADBENCH_VAE, ADBENCH_03, "auroc")[1],
    ),
    Figure(
        r"A default fit takes ([\d.]+) s on the median set",
        lambda: median_fit_s("adbench_fit_time.json"),
    ),
    Figure(
        r"against ([\d.]+) s for the code before the ranking change",
        lambda: median_fit_s("adbench_fit_time_ranking_beta1_3e6c0ad.json"),
    ),
    Figure(
        r"timed back to back, and (\d+)\s+times an Isolation Forest's",
        lambda: median_fit_ratio("adbench_fit_time.json", "vae", "IsolationForest"),
    ),
    Figure(
        r"0\.4\.0 took ([\d.]+) s on the same kind of machine",
        lambda: median_fit_s("adbench_fit_time_v0.4.json"),
    ),
    Figure(
        r"x 20 rows it took ([\d.]+) times as long as PyOD's",
        lambda: speed_ratio(20),
    ),
    Figure(r"on 10,000 x 100 ([\d.]+) times", lambda: speed_ratio(100)),
    Figure(
        r"its mean AUROC \(([\d.]+)\) is\s+ahead of AVF",
        lambda: categorical_mean("categorical_9ad6e0a.json", "vae"),
    ),
    Figure(
        r"its mean AP \(([\d.]+)\) ahead of AVF's",
        lambda: categorical_mean("categorical_9ad6e0a.json", "vae", "ap"),
    ),
    Figure(
        r"ahead of AVF's\s+\(([\d.]+)\)",
        lambda: categorical_mean("categorical_baselines.json", "AVF", "ap"),
    ),
    Figure(
        r"\(mean\s+AP ([\d.]+) before, `adbench_ranking_beta1_c635870\.json`",
        lambda: mean_of(
            Source("adbench_ranking_beta1_c635870.json", "vae"),
            "ap",
            set_names("adbench_ranking_beta1_c635870.json"),
        ),
    ),
    Figure(
        r"A fit of these tables takes\s+([\d.]+) s on the median one",
        lambda: categorical_median_fit("categorical_9ad6e0a.json"),
    ),
    Figure(
        r"against ([\d.]+) s before they trained without autograd",
        lambda: categorical_median_fit("categorical_autograd_e40310f.json"),
    ),
    Figure(
        r"AVF \(the model of independent columns, ([\d.]+)\)",
        lambda: categorical_mean("categorical_baselines.json", "AVF"),
    ),
    Figure(
        r"IsolationForest \(([\d.]+)\) and PyOD's VAE",
        lambda: categorical_mean("categorical_baselines.json", "IsolationForest"),
    ),
    Figure(
        r"PyOD's VAE on one-hot columns \(([\d.]+)\)",
        lambda: categorical_mean("categorical_all_scores_cc6a7bc.json", "PyOD VAE"),
    ),
    Figure(r"binary columns, ([\d.]+), seed 0\)", w7a_seed0),
    Figure(
        r"finds them: mean AUROC ([\d.]+) and AP [\d.]+ on w7a",
        lambda: mean_of(RAREST_W7A, "auroc", ["w7a"]),
    ),
    Figure(
        r"finds them: mean AUROC [\d.]+ and AP ([\d.]+) on w7a",
        lambda: mean_of(RAREST_W7A, "ap", ["w7a"]),
    ),
    Figure(
        r"their mean AUROC ([\d.]+);",
        lambda: mean_of(RAREST_CATEGORICAL, "auroc", categorical_five()),
    ),
    Figure(
        r"it gets probability (\d\.\d+), so it scores",
        lambda: code_constant("vaeanomaly/likelihoods.py", "UNKNOWN_LEVEL_MASS"),
    ),
    Figure(
        r"scores as unusual \(([\d.]+) nats",
        lambda: (
            -np.log(code_constant("vaeanomaly/likelihoods.py", "UNKNOWN_LEVEL_MASS"))
        ),
    ),
    Figure(
        r"each of ([\d,]+) stretches",
        lambda: code_constant("vaeanomaly/_report_plots.py", "MAX_POINTS") // 2,
    ),
]

#: Decimal numbers and percentages in the prose that are not measured figures.
NOT_FIGURES = {
    "costs 2.5 log(1 + k": "the Student-t density's formula",
    "more than 3.5 robust": "the trim rule's cut, a parameter",
    "median + 3.5 MADs": "robust_z's cut, a parameter",
    "initial 98% quantile": "pot's initial_quantile, a parameter",
    "1.4826 MADs": "the MAD's factor to a Gaussian SD, a constant",
    "Python 3.11 or newer": "a version the package needs",
    "PyTorch 2.1 or newer": "a version the package needs",
}

WORDS = "zero one two three four five six seven eight nine ten".split()


# ---------------------------------------------------------------- document parsing
def documents() -> dict[str, str]:
    """Each document's text by its path relative to the repository."""
    return {
        str(path.relative_to(ROOT)): path.read_text(encoding="utf-8")
        for path in DOCUMENTS
    }


def without_code_blocks(text: str) -> str:
    return re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)


def cells(line: str) -> list[str]:
    """Cells of a markdown table line; ``\\|`` is a pipe inside a cell."""
    parts = re.split(r"(?<!\\)\|", line.strip())
    return [p.strip() for p in parts[1:-1]]


def readme_tables() -> list[tuple[str, list[str], list[list[str]]]]:
    """(heading above, header cells, body rows) of each table of the documents."""
    return [t for text in documents().values() for t in document_tables(text)]


def document_tables(text: str) -> list[tuple[str, list[str], list[list[str]]]]:
    """(heading above, header cells, body rows) of each table of one document."""
    tables, heading, block = [], None, []
    for line in [*without_code_blocks(text).splitlines(), ""]:
        if line.startswith("|"):
            block.append(line)
            continue
        if block:
            header, _, *body = (cells(b) for b in block)
            tables.append((heading, header, body))
            block = []
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
    return tables


def prose_of(text: str) -> str:
    """A document's text outside code blocks and tables, whitespace runs made one."""
    lines = without_code_blocks(text).splitlines()
    return re.sub(r"\s+", " ", " ".join(x for x in lines if not x.startswith("|")))


def prose() -> str:
    """The prose of every document, one after the other."""
    return " ".join(prose_of(text) for text in documents().values())


def as_printed(value: float, printed: str) -> str:
    """``value`` written as the README wrote ``printed``: decimals, commas, words."""
    if printed in WORDS:
        return WORDS[int(value)] if float(value).is_integer() else repr(value)
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    return f"{value:,.{decimals}f}" if "," in printed else f"{value:.{decimals}f}"


NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


# ---------------------------------------------------------------- tests
def figure_tables():
    return [t for t in readme_tables() if t[0] in TABLES]


def test_every_table_of_figures_is_declared():
    for heading, header, body in readme_tables():
        decimals = [c for row in body for c in row[1:] if re.search(r"\d\.\d", c)]
        assert heading in TABLES or not decimals, (
            f"README table under {heading!r} ({header}) holds figures {decimals[:3]} "
            "but no source: declare it in TABLES of tests/test_readme_figures.py "
            "with the result file it comes from."
        )
    assert {t[0] for t in figure_tables()} == set(TABLES), (
        "A table declared in TABLES is gone from the documents; remove its declaration."
    )


def table_cells():
    for heading, header, body in figure_tables():
        table = TABLES[heading]
        for row in body:
            for name, cell in zip(header[1:], row[1:], strict=True):
                yield pytest.param(
                    heading, table, name, row[0], cell, id=f"{row[0]}|{name}"
                )


def column_figure(table: Table, name: str):
    for pattern, figure in table.columns.items():
        match = re.fullmatch(re.escape(pattern).replace(r"\{n\}", r"(\d+)"), name)
        if match:
            return figure, match.groups()
    raise AssertionError(
        f"README column {name!r} is not in TABLES' columns ({list(table.columns)})."
    )


@pytest.mark.parametrize(
    ("heading", "table", "column", "label", "cell"), list(table_cells())
)
def test_table_figure_matches_its_result_file(heading, table, column, label, cell):
    figure, groups = column_figure(table, column)
    if groups:  # "(of 8)": the size of the rank pool
        assert int(groups[0]) == len(table.pool()), (
            f"README's {column!r} ranks among {groups[0]} detectors; "
            f"the result files hold {len(table.pool())}."
        )
    source = table.source(label)
    printed = cell.replace("**", "").strip()
    if not NUMBER.fullmatch(printed):
        assert not re.search(r"\d", printed), f"Unreadable figure {cell!r}."
        return  # "–": no figure
    value = figure(table, source)
    assert as_printed(value, printed) == printed, (
        f"README {heading!r}, row {label!r}, column {column!r} says {printed}; "
        f"{source.file} ({source.detector}) gives {value:.6g}."
    )


def test_tables_name_their_result_files():
    for name, raw in documents().items():
        text = without_code_blocks(raw)
        for heading, table in TABLES.items():
            if heading not in {t[0] for t in document_tables(raw)}:
                continue
            section = text.split(heading, 1)[1].split("\n## ", 1)[0]
            files = {
                table.sets_from,
                table.baselines,
                *(s.file for s in table.rows.values()),
            }
            missing = sorted(f for f in files if f not in section)
            assert not missing, f"{name}, section {heading!r}, does not name {missing}."


@pytest.mark.parametrize("figure", PROSE, ids=[f.pattern for f in PROSE])
def test_prose_figure_matches_its_source(figure):
    matches = list(re.finditer(figure.pattern, prose()))
    assert matches, (
        f"No document has {figure.pattern!r}; declare the figure's new wording in "
        "PROSE (or remove it)."
    )
    value = figure.value()
    for match in matches:  # the README and a page may both give it
        printed = match.group(1)
        assert as_printed(value, printed) == printed.replace("−", "-"), (
            f"A document says {printed} ({figure.pattern!r}); its source gives "
            f"{value:.6g}."
        )


def test_prose_has_no_undeclared_figure():
    text = prose()
    covered = [m.span(1) for f in PROSE for m in re.finditer(f.pattern, text)] + [
        m.span() for p in NOT_FIGURES for m in re.finditer(re.escape(p), text)
    ]
    versions = [m.span() for m in re.finditer(r"\d+\.\d+\.\d+|`[^`]*`", text)]
    stray = []
    for m in re.finditer(r"\d+\.\d+|\d+(?:\.\d+)?\s?%", text):
        if not any(a <= m.start() and m.end() <= b for a, b in covered + versions):
            stray.append(text[max(0, m.start() - 40) : m.end() + 10])
    assert not stray, (
        f"README figures with no declared source: {stray}. Declare each in PROSE "
        "with its result file, or in NOT_FIGURES when it is a parameter."
    )
