"""The ``vaeanomaly`` command group: its commands and their options, nothing more.

Each command turns its options into the objects that do the work
(:class:`~vaeanomaly.cli._scoring.ScoringRun` for `score`, `detect`,
`report` and `evaluate`; :func:`~vaeanomaly.cli._fitting.fit_file` for `fit`)
and reports the library's errors in one line (:mod:`vaeanomaly.cli._errors`).
"""

from __future__ import annotations

import json
import pathlib
import sys

import click

from vaeanomaly._version import __version__
from vaeanomaly.cli._errors import DEBUG_KEY, Group, reported_errors
from vaeanomaly.cli._options import (
    columns_options,
    compose,
    csv_options,
    data_argument,
    device_option,
    fit_stretch_options,
    force_option,
    missing_when_fitting_option,
    model_option,
    output_option,
    output_path_option,
    quiet_option,
    report_option,
    scoring_options,
    seed_when_fitting_option,
    sequence_options,
    threshold_options,
    threshold_spec,
    train_stretch_options,
    training_options,
)

# Commands import what needs torch, scikit-learn and pandas when they run, so
# that `vaeanomaly --help` and `vaeanomaly COMMAND --help` answer at once.

CONTEXT = {"help_option_names": ["-h", "--help"], "show_default": True}


@click.group(cls=Group, context_settings=CONTEXT)
@click.version_option(__version__, "--version", prog_name="vaeanomaly")
@click.option(
    "--debug",
    is_flag=True,
    envvar="VAEANOMALY_DEBUG",
    show_envvar=True,
    help="Show the traceback of an internal error (exit status 3).",
)
@click.pass_context
def vaeanomaly(ctx: click.Context, debug: bool) -> None:
    """Find anomalies in CSV tables with a variational autoencoder.

    Scores are log-likelihoods: higher means more normal. Results go to
    stdout or --output; progress and messages go to stderr.

    \b
    Quick start:
      vaeanomaly detect examples/data/machine.csv
      vaeanomaly fit train.csv -o model.vae && vaeanomaly detect new.csv -m model.vae

    \b
    Exit status: 0 success; 1 anomalies found (only with --fail-on-anomaly);
    2 bad usage, input, model file or output path; 3 internal error (see
    --debug); 130 Ctrl-C; 143 SIGTERM.
    """
    ctx.meta[DEBUG_KEY] = debug


@vaeanomaly.command()
@data_argument
@output_path_option("model_out", "the model file (e.g. model.vae)")
@columns_options
@sequence_options
@fit_stretch_options
@training_options
@scoring_options
@threshold_options
@device_option
@csv_options
@force_option
@quiet_option
def fit(
    data,
    model_out,
    threshold_name,
    contamination,
    risk,
    epochs,
    hidden_dims,
    batch_size,
    seed,
    method,
    draws,
    quiet,
    **options,
):
    """Train a model on a CSV file and save it.

    Uses every numeric column, and every text column with at most 100
    distinct repeated values as categories, unless --columns or --exclude say
    otherwise; --categorical adds others (e.g. integer codes). Empty cells are
    left out of the likelihood (--missing mask). The threshold for later
    `detect` runs is set here from the training scores.
    With --window N, each row is scored with the N readings ending at it
    (sensor recordings, rows in time order), and the threshold comes from
    the last quarter of the file, scored by a second model fitted without it.

    \b
    Example:
      vaeanomaly fit train.csv -o model.vae --exclude label --epochs 100
      vaeanomaly fit plant.csv -o plant.vae --categorical mode,line
      vaeanomaly fit pump.csv -o pump.vae --time-col timestamp --window 10
    """
    from vaeanomaly.cli._fitting import fit_file
    from vaeanomaly.cli._scoring import estimator_params

    if str(model_out) == "-":
        raise click.BadParameter(
            "a model file cannot go to standard output; give a file name such as "
            "model.vae.",
            param_hint="--output",
        )
    with reported_errors():
        params = estimator_params(
            missing=options.pop("missing"),
            max_epochs=epochs,
            latent_dim=options.pop("latent_dim"),
            hidden_dims=hidden_dims,
            likelihood=options.pop("likelihood"),
            batch_size=batch_size,
            random_state=seed,
            device=options.pop("device"),
            score_method=method,
            n_draws=draws,
        )
        fit_file(
            data,
            model_out,
            params=params,
            threshold=threshold_spec(threshold_name, contamination, risk),
            quiet=quiet,
            **options,
        )
    if not quiet:
        click.echo(f"Saved model to '{model_out}'.", err=True)


_scoring_run_options = compose(
    data_argument,
    model_option,
    output_option,
    columns_options,
    sequence_options,
    train_stretch_options,
    missing_when_fitting_option,
    scoring_options,
    click.option(
        "--features",
        is_flag=True,
        help="Add each column's contribution to the anomaly score (contrib_<column>); "
        "for a --window model, each channel's blame: its surprise beyond its usual "
        "range, which does not add up to the score.",
    ),
    click.option(
        "--chunksize",
        default=100_000,
        type=click.IntRange(min=1),
        help="Rows read and scored at a time; bounds memory.",
    ),
    seed_when_fitting_option,
    device_option,
    csv_options,
    force_option,
    quiet_option,
)


@vaeanomaly.command()
@_scoring_run_options
def score(**options):
    """Score every row of a CSV file; higher scores are more normal.

    Writes the identifier columns (every column that is not a feature, or a
    `row` number) and `score`; an input column named like an output column
    is refused. Rows with no value in any feature are skipped and counted.
    DATA may be '-' for stdin; the file is read in chunks, so files larger
    than memory work when a --model is given (models fitted with --window
    read the whole series).

    \b
    Example:
      vaeanomaly score new.csv -m model.vae -o scores.csv --features
      cat new.csv | vaeanomaly score - -m model.vae > scores.csv
    """
    from vaeanomaly.cli._scoring import ScoringRun

    with reported_errors():
        ScoringRun(detect=False, **options).run()


@vaeanomaly.command()
@_scoring_run_options
@threshold_options
@click.option(
    "--fail-on-anomaly",
    is_flag=True,
    help="Exit with status 1 when any row is flagged (for monitoring jobs).",
)
@report_option
def detect(fail_on_anomaly, threshold_name, contamination, risk, **options):
    """Flag anomalous rows of a CSV file.

    Like `score`, plus an `is_anomaly` column (1 = anomaly). The model's own
    threshold is used unless --threshold, --contamination or --risk ask for
    one fitted on this file's scores (then the file is scored twice). On
    stderr: the number flagged and the most anomalous rows with the columns
    adding most to their anomaly score (for --window models, the flagged
    periods and their top channels); -q silences it. Without --model, a
    recording read with --window is learnt from its first third (or
    --train-rows / --train-until) and every row is scored against it; stderr
    says what was learnt, how the threshold was set, and which channels left
    their training range.

    \b
    Example:
      vaeanomaly detect examples/data/machine.csv
      vaeanomaly detect new.csv -m model.vae --risk 1e-3 --fail-on-anomaly
      vaeanomaly detect pump.csv --time-col timestamp --window 10
      vaeanomaly detect pump.csv --time-col timestamp --window 10 --train-rows 400
      vaeanomaly detect pump.csv --time-col timestamp --report pump.html
    """
    from vaeanomaly.cli._scoring import ScoringRun

    with reported_errors():
        threshold = threshold_spec(threshold_name, contamination, risk)
        flagged = ScoringRun(detect=True, threshold=threshold, **options).run()
    if fail_on_anomaly and flagged:
        sys.exit(1)


@vaeanomaly.command()
@data_argument
@model_option
@output_path_option("report", "the HTML report (e.g. report.html)")
@columns_options
@sequence_options
@train_stretch_options
@missing_when_fitting_option
@scoring_options
@threshold_options
@click.option(
    "--top",
    default=20,
    type=click.IntRange(min=1),
    help="Anomalies and periods listed.",
)
@seed_when_fitting_option
@device_option
@csv_options
@force_option
@quiet_option
def report(threshold_name, contamination, risk, **options):
    """Write a self-contained HTML report of the anomalies in a CSV file.

    One page that opens offline: a summary of the data, the model and the
    threshold; the score distribution; the top anomalies with the columns
    that make them odd; the training curve; and, with --time-col, the score
    over time and the flagged periods. Reads the file as `detect` does, and
    without --model fits a model on it first. Needs the 'report' extra.

    \b
    Example:
      vaeanomaly report examples/data/machine.csv --time-col timestamp -o machine.html
      vaeanomaly report new.csv -m model.vae -o new.html --top 50
    """
    from vaeanomaly.cli._scoring import ScoringRun

    with reported_errors():
        threshold = threshold_spec(threshold_name, contamination, risk)
        ScoringRun(detect=True, threshold=threshold, output=None, **options).run()


@vaeanomaly.command()
@data_argument
@model_option
@click.option(
    "--label-col",
    required=True,
    help="Column with the true labels (1 = anomaly, 0 = normal).",
)
@click.option(
    "--exclude",
    multiple=True,
    help="Columns never used as features when fitting on DATA (comma-separated "
    "or repeated); --label-col is always left out.",
)
@sequence_options
@train_stretch_options
@missing_when_fitting_option
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
@seed_when_fitting_option
@device_option
@csv_options
@quiet_option
def evaluate(data, model, label_col, exclude, as_json, **options):
    """Measure detection quality against known labels.

    Prints AUROC, average precision (the area under the precision-recall
    curve), and precision, recall and F1 of the flags at the model's
    threshold. For a recording (--time-col, --window, or a model fitted with
    --window) it adds VUS-PR, the range-aware volume under the
    precision-recall surface over buffers of 0-100 readings (Paparrizos et al.
    2022, as in TSB-AD), which credits alarms that start a little late or end
    a little after an anomalous episode. Without --model, a model is fitted
    on DATA first, the label column left out, as `detect` does.

    \b
    Example:
      vaeanomaly evaluate test.csv -m model.vae --label-col label --json
      vaeanomaly evaluate pump.csv --label-col anomaly --time-col datetime \\
          --window 10 --exclude changepoint --train-rows 400
    """
    from vaeanomaly.cli._columns import split_names, to_matrix
    from vaeanomaly.cli._evaluate import check_labels, metrics, print_metrics
    from vaeanomaly.cli._scoring import ScoringRun

    with reported_errors():
        run = ScoringRun(
            data=data,
            model=model,
            exclude=(label_col, *split_names(exclude)),
            **options,
        )
        detector = None if model is None else run.load_model()
        frame = run.read_table(detector)
        check_labels(frame, label_col, data)
        if detector is None:
            detector = run.fit(frame)
        out = run.score_table(detector, frame, fitted_here=model is None)
        y = to_matrix(out, [label_col], data)[:, 0]  # rows skipped as empty are out
        scores = out["score"].to_numpy()
        measured = metrics(
            y,
            scores,
            detector.flags(scores),
            sequential=run.time_col is not None
            or detector.describe()["window"] is not None,
        )
    print_metrics(measured, as_json=as_json)


@vaeanomaly.command()
@click.argument(
    "model", type=click.Path(exists=True, dir_okay=False, path_type=pathlib.Path)
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the model's description (columns, heads, training record) as JSON.",
)
def info(model, as_json):
    """Show what a model was trained on and how.

    Loads the model file, which runs nothing from it, and checks its contents.

    \b
    Example:
      vaeanomaly info model.vae
    """
    from vaeanomaly.cli._describe import info_json, info_lines
    from vaeanomaly.cli._modelfile import load_checked, read_metadata

    with reported_errors():
        meta = read_metadata(model)
        detector = load_checked(model)
    if as_json:
        click.echo(json.dumps(info_json(meta, detector), indent=2))
        return
    click.echo("\n".join(info_lines(model, meta, detector)))


def main() -> None:
    """Entry point of the ``vaeanomaly`` console script.

    Sets what belongs to the process rather than the library: SIGTERM ends the
    run as Ctrl-C does (temporary files are removed; exit status 143), and
    glibc's mmap threshold is pinned so that scoring large files returns its
    buffers to the system (see ``vaeanomaly._memory``).
    """
    from vaeanomaly._atomic import exit_on_sigterm
    from vaeanomaly._memory import pin_mmap_threshold

    exit_on_sigterm()
    pin_mmap_threshold()
    vaeanomaly(prog_name="vaeanomaly")  # a closed stdout: see Group.invoke
