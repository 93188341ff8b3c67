"""The ``vaeanomaly`` command group and its commands."""

from __future__ import annotations

import json
import pathlib
import sys

import click

from vaeanomaly._version import __version__
from vaeanomaly.cli._errors import DEBUG_KEY, CLIError, Group, reported_errors
from vaeanomaly.cli._options import (
    columns_options,
    csv_format,
    data_argument,
    device_option,
    force_option,
    hidden_dims_value,
    model_option,
    output_option,
    quiet_option,
    report_option,
    scoring_options,
    sep_option,
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


def _params(
    epochs,
    latent_dim,
    hidden_dims,
    likelihood,
    batch_size,
    seed,
    device,
    method,
    draws,
    missing="mask",
) -> dict:
    """Return estimator parameters; ``None`` leaves the estimator's default."""
    params = {
        "missing": missing,
        "max_epochs": epochs,
        "latent_dim": latent_dim,
        "hidden_dims": hidden_dims_value(hidden_dims),
        "likelihood": likelihood,
        "batch_size": batch_size,
        "random_state": seed,
        "device": device,
        "score_method": method,
        "n_draws": draws,
    }
    return {name: value for name, value in params.items() if value is not None}


def _check_output(path, force: bool, what: str = "--output") -> None:
    """Refuse an output path that cannot be written, before reading any data."""
    from vaeanomaly._atomic import output_problem

    if path is None or str(path) == "-":  # no file (report only) or stdout
        return
    problem = output_problem(path, force=force)
    if problem:
        raise CLIError(problem.replace("another path", f"another {what}"))


@vaeanomaly.command()
@data_argument
@click.option(
    "--output",
    "-o",
    "model_out",
    required=True,
    type=click.Path(dir_okay=False, path_type=pathlib.Path),
    help="Where to write the model file (e.g. model.vae).",
)
@columns_options
@sequence_options
@training_options
@scoring_options
@threshold_options
@device_option
@sep_option
@force_option
@quiet_option
def fit(
    data,
    model_out,
    columns,
    exclude,
    categorical,
    index_col,
    time_col,
    window,
    epochs,
    latent_dim,
    hidden_dims,
    likelihood,
    missing,
    batch_size,
    seed,
    method,
    draws,
    threshold_name,
    contamination,
    risk,
    device,
    sep,
    force,
    quiet,
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
    from vaeanomaly.cli._workflow import check_time_order, fit_table
    from vaeanomaly.io import save_model
    from vaeanomaly.tables import read_csv, split_names

    if str(model_out) == "-":
        raise click.BadParameter(
            "a model file cannot go to standard output; give a file name such as "
            "model.vae.",
            param_hint="--output",
        )
    with reported_errors():
        _check_output(model_out, force)
        frame = read_csv(
            data, sep=sep, text_columns=split_names(categorical), **csv_format()
        )
        check_time_order(frame, time_col, data)
        params = _params(
            epochs,
            latent_dim,
            hidden_dims,
            likelihood,
            batch_size,
            seed,
            device,
            method,
            draws,
            missing,
        )
        spec = threshold_spec(threshold_name, contamination, risk)
        detector = fit_table(
            frame,
            data,
            columns=columns,
            exclude=exclude,
            keys=_keys(index_col or time_col),
            categorical=categorical,
            params=params,
            threshold=spec,
            window=window,
            quiet=quiet,
        )
        save_model(detector, model_out)
    if not quiet:
        click.echo(f"Saved model to '{model_out}'.", err=True)


def _run_scoring(
    *,
    detect: bool,
    data,
    model,
    output,
    columns,
    exclude,
    categorical,
    index_col,
    time_col,
    window,
    method,
    draws,
    features,
    chunksize,
    seed,
    device,
    sep,
    force,
    quiet,
    threshold_name=None,
    contamination=None,
    risk=None,
    report=None,
    top=20,
    train_rows=None,
    train_until=None,
) -> int:
    """Run the shared body of `score` and `detect`; return the number flagged.

    With ``report``, the HTML report is written too (after the scores), and
    the whole table is read into memory; ``output=None`` writes no scores.
    """
    import numpy as np

    from vaeanomaly.cli._modelfile import load_checked
    from vaeanomaly.cli._report import check_report, write_page
    from vaeanomaly.cli._workflow import (
        Findings,
        check_time_order,
        fit_table,
        inner_model,
        model_categories,
        output_names,
        rereadable,
        scored_chunks,
        training_stretch,
    )
    from vaeanomaly.sequence import SequenceVAEDetector
    from vaeanomaly.tables import read_csv, split_names
    from vaeanomaly.thresholds import fit_offset

    spec = threshold_spec(threshold_name, contamination, risk) if detect else None
    index_col = index_col or time_col
    _check_output(output, force)
    check_report(report, force)
    page = {"path": report, "index_col": index_col, "time_col": time_col}
    page.update(threshold=spec, top=top, quiet=quiet)
    if model is not None:
        for option, value in (
            ("--columns", columns),
            ("--exclude", exclude),
            ("--categorical", categorical),
        ):
            if value:
                raise click.UsageError(
                    f"{option} applies when fitting; the model '{model}' has its "
                    f"columns already (see `vaeanomaly info {model}`). Drop "
                    f"{option}, or leave out -m to fit on this file."
                )
    if model is None:
        if not quiet:
            click.echo(
                f"No --model given: fitting a model on '{data}' itself first.", err=True
            )
        frame = read_csv(
            data, sep=sep, text_columns=split_names(categorical), **csv_format()
        )
        check_time_order(frame, time_col, data)
        n_train, why = training_stretch(
            frame,
            data,
            time_col=time_col,
            train_rows=train_rows,
            train_until=train_until,
            window=window,
        )
        if not quiet and n_train < len(frame):
            until = f", up to {frame[time_col].iloc[n_train - 1]}" if time_col else ""
            click.echo(
                f"Fitting on rows 1-{n_train:,} of {len(frame):,}{until} ({why}).",
                err=True,
            )
        params = _params(None, None, None, "auto", None, seed, device, method, draws)
        detector = fit_table(
            frame.iloc[:n_train],
            data,
            columns=columns,
            exclude=exclude,
            keys=_keys(index_col),
            categorical=categorical,
            params=params,
            threshold=spec,
            window=window,
            quiet=quiet,
            output_names=lambda names: output_names(names, detect, features),
        )
        findings = Findings(detector, index_col) if detect and not quiet else None
        # quiet: the fit has reported the rows it skipped
        out = _score_whole(
            detector,
            frame,
            data,
            index_col,
            detect,
            None,
            features,
            True,
            findings,
            warn=not quiet,
        )
        flagged = _write([out], output, force, quiet, detect, findings)
        if report is not None:
            write_page(detector, frame, data, fitted_here=True, **page)
        return flagged
    if train_rows is not None or train_until is not None:
        raise CLIError(
            "--train-rows and --train-until choose what a model fitted on DATA "
            f"learns; with --model '{model}' nothing is fitted. Drop them, or drop "
            "--model."
        )
    detector = load_checked(model)
    _check_window(detector, window, model)
    inner = inner_model(detector)
    if method is not None:
        inner.set_params(score_method=method)
    if draws is not None:
        inner.set_params(n_draws=draws)
    if isinstance(detector, SequenceVAEDetector) or report is not None:
        # Windows need the readings before each timestamp, and the report the
        # whole table: read it whole.
        frame = read_csv(
            data, sep=sep, text_columns=model_categories(detector)[1], **csv_format()
        )
        check_time_order(frame, time_col or _date_column(frame, detector), data)
        findings = Findings(detector, index_col) if detect and not quiet else None
        chunk = _score_whole(
            detector, frame, data, index_col, detect, spec, features, quiet, findings
        )
        flagged = _write([chunk], output, force, quiet, detect, findings)
        if report is not None:
            write_page(detector, frame, data, fitted_here=False, **page)
        return flagged
    findings = Findings(detector, index_col) if detect and not quiet else None
    with rereadable(data) as source:
        offset = detector.offset_ if detect else None
        if spec is not None:
            first_pass = scored_chunks(
                detector,
                source,
                sep=sep,
                chunksize=chunksize,
                index_col=index_col,
                features_wanted=False,
                offset=None,
                quiet=True,
            )
            scores = np.concatenate([chunk["score"].to_numpy() for chunk in first_pass])
            offset = fit_offset(spec, scores)
        if findings is not None:
            findings.offset = offset
        chunks = scored_chunks(
            detector,
            source,
            sep=sep,
            chunksize=chunksize,
            index_col=index_col,
            features_wanted=features,
            offset=offset,
            quiet=quiet,
            findings=findings,
        )
        return _write(chunks, output, force, quiet, detect, findings)


def _date_column(frame, detector) -> str | None:
    """Return the first column of dates beside a sequence model's channels.

    Model files do not record --time-col yet, so the order of a recording
    scored without it is checked on the column that holds its timestamps
    (one whose every value parses as a date), if there is one.
    """
    import pandas as pd

    from vaeanomaly.tables import looks_like_dates

    channels = set(detector.channels_)
    for name in frame.columns:
        if name in channels or not looks_like_dates(frame[name].head(1000)):
            continue
        stamps = pd.to_datetime(frame[name], errors="coerce", format="mixed", utc=True)
        if stamps.notna().all():
            return str(name)
    return None


def _keys(index_col):
    return [index_col] if index_col else []


def _score_whole(
    detector,
    frame,
    source,
    index_col,
    detect,
    spec,
    features,
    quiet,
    findings=None,
    warn=None,
):
    """Score a whole table; with ``spec``, the threshold comes from these scores.

    Warnings of the scoring (a sequence model's DriftWarning) go to stderr
    unless ``warn`` is False (default: unless ``quiet``).
    """
    import warnings

    from vaeanomaly.cli._workflow import score_table
    from vaeanomaly.sequence import DriftWarning
    from vaeanomaly.thresholds import fit_offset

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DriftWarning)
        out = score_table(
            detector,
            frame,
            source,
            index_col=index_col,
            offset=None,
            features_wanted=features,
            detect=detect,
            quiet=quiet,
            findings=findings,
        )
    if not quiet if warn is None else warn:
        for warning in caught:
            click.echo(f"Warning: {warning.message}", err=True)
    if detect:
        offset = detector.offset_ if spec is None else fit_offset(spec, out["score"])
        flags = (out["score"] < offset).astype(int)
        out.insert(out.columns.get_loc("score") + 1, "is_anomaly", flags)
        if findings is not None:
            findings.flag(flags.to_numpy(), offset)
    return out


def _sequence_text(detector) -> str:
    text = f", windows of {detector.window} readings per timestamp"
    order = detector.ar_order
    if order:
        text += f" (errors of a prediction from the {order} readings before each)"
    return text


def _check_window(detector, window, model) -> None:
    from vaeanomaly.sequence import SequenceVAEDetector

    fitted = detector.window if isinstance(detector, SequenceVAEDetector) else None
    if window is not None and window != fitted:
        raise CLIError(
            f"--window {window} does not match the model '{model}', fitted with "
            f"window={fitted}. Drop --window (the model's is used) or refit."
        )


def _write(chunks, output, force, quiet, detect, findings=None) -> int:
    """Write the chunks (none when ``output`` is None); return the number flagged."""
    from vaeanomaly.tables import write_csv

    flagged = 0

    def counted():
        nonlocal flagged
        for chunk in chunks:
            if detect:
                flagged += int(chunk["is_anomaly"].sum())
            yield chunk

    if output is None:
        rows = sum(len(chunk) for chunk in counted())
    else:
        rows = write_csv(counted(), output, force=force)
    if not quiet:
        where = "stdout" if str(output) == "-" else f"'{output}'"
        where = "" if output is None else f" to {where}"
        extra = ""
        if detect:
            share = flagged / max(rows, 1)
            extra = f"; {flagged:,} flagged as anomalies ({share:.2%})"
        click.echo(f"Scored {rows:,} rows{where}{extra}.", err=True)
        if findings is not None and flagged:
            for line in findings.lines():
                click.echo(line, err=True)
    return flagged


_score_params = [
    data_argument,
    model_option,
    output_option,
    columns_options,
    sequence_options,
    train_stretch_options,
    scoring_options,
    click.option(
        "--features",
        is_flag=True,
        help="Add each column's contribution to the anomaly score (contrib_<column>).",
    ),
    click.option(
        "--chunksize",
        default=100_000,
        type=click.IntRange(min=1),
        help="Rows read and scored at a time; bounds memory.",
    ),
    click.option(
        "--seed",
        default=0,
        type=int,
        help="Random seed when fitting on DATA (no --model).",
    ),
    device_option,
    sep_option,
    force_option,
    quiet_option,
]


def _apply(params):
    def decorate(func):
        for param in reversed(params):
            func = param(func)
        return func

    return decorate


@vaeanomaly.command()
@_apply(_score_params)
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
    with reported_errors():
        _run_scoring(detect=False, **options)


@vaeanomaly.command()
@_apply(_score_params)
@threshold_options
@click.option(
    "--fail-on-anomaly",
    is_flag=True,
    help="Exit with status 1 when any row is flagged (for monitoring jobs).",
)
@report_option
def detect(fail_on_anomaly, **options):
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
    with reported_errors():
        flagged = _run_scoring(detect=True, **options)
    if fail_on_anomaly and flagged:
        sys.exit(1)


@vaeanomaly.command()
@data_argument
@model_option
@click.option(
    "--output",
    "-o",
    "report",
    required=True,
    type=click.Path(dir_okay=False, path_type=pathlib.Path),
    help="Where to write the HTML report (e.g. report.html).",
)
@columns_options
@sequence_options
@scoring_options
@threshold_options
@click.option(
    "--top",
    default=20,
    type=click.IntRange(min=1),
    help="Anomalies and periods listed.",
)
@click.option(
    "--seed", default=0, type=int, help="Random seed when fitting on DATA (no --model)."
)
@device_option
@sep_option
@force_option
@quiet_option
def report(**options):
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
    with reported_errors():
        _run_scoring(
            detect=True, output=None, features=False, chunksize=100_000, **options
        )


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
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
@click.option(
    "--seed", default=0, type=int, help="Random seed when fitting on DATA (no --model)."
)
@device_option
@sep_option
@quiet_option
def evaluate(
    data,
    model,
    label_col,
    exclude,
    time_col,
    window,
    train_rows,
    train_until,
    as_json,
    seed,
    device,
    sep,
    quiet,
):
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
    import numpy as np
    from sklearn.metrics import (
        average_precision_score,
        precision_recall_fscore_support,
        roc_auc_score,
    )

    from vaeanomaly._range_metrics import vus_pr
    from vaeanomaly.cli._modelfile import load_checked
    from vaeanomaly.cli._workflow import (
        check_time_order,
        fit_table,
        model_categories,
        training_stretch,
    )
    from vaeanomaly.sequence import SequenceVAEDetector
    from vaeanomaly.tables import read_csv, split_names, to_matrix

    with reported_errors():
        detector = None if model is None else load_checked(model)
        if detector is not None:
            _check_window(detector, window, model)
            if train_rows is not None or train_until is not None:
                raise CLIError(
                    "--train-rows and --train-until choose what a model fitted on "
                    f"DATA learns; with --model '{model}' nothing is fitted. Drop "
                    "them, or drop --model."
                )
        text = [] if detector is None else model_categories(detector)[1]
        frame = read_csv(data, sep=sep, text_columns=text, **csv_format())
        check_time_order(frame, time_col, data)
        if label_col not in frame.columns:
            raise CLIError(
                f"Label column '{label_col}' is not in '{data}', whose columns are "
                f"{list(frame.columns)}. Pass --label-col with one of them."
            )
        y = to_matrix(frame, [label_col], data)[:, 0]
        if not set(np.unique(y)) <= {0.0, 1.0} or len(np.unique(y)) < 2:
            raise CLIError(
                f"Column '{label_col}' must hold both 0 (normal) and 1 (anomaly); "
                f"it holds {sorted(set(np.unique(y)))[:10]}."
            )
        if model is None:
            n_train, why = training_stretch(
                frame,
                data,
                time_col=time_col,
                train_rows=train_rows,
                train_until=train_until,
                window=window,
            )
            if not quiet and n_train < len(frame):
                click.echo(f"Fitting on rows 1-{n_train:,} ({why}).", err=True)
            params = _params(None, None, None, "auto", None, seed, device, None, None)
            detector = fit_table(
                frame.iloc[:n_train],
                data,
                columns=(),
                exclude=(label_col, *split_names(exclude)),
                keys=_keys(time_col),
                categorical=(),
                params=params,
                threshold=None,
                window=window,
                quiet=quiet,
            )
        # quiet without a model: the fit reported the rows it skipped
        out = _score_whole(
            detector,
            frame,
            data,
            None,
            False,
            None,
            False,
            quiet or model is None,
            warn=not quiet,
        )
        y = to_matrix(out, [label_col], data)[:, 0]  # rows skipped as empty are out
        scores = out["score"].to_numpy()
        flags = (scores < detector.offset_).astype(int)
        precision, recall, f1, _ = precision_recall_fscore_support(
            y, flags, average="binary", zero_division=0
        )
        metrics = {
            "rows": len(y),
            "anomalies": int(y.sum()),
            "flagged": int(flags.sum()),
            "auroc": roc_auc_score(y, -scores),
            "average_precision": average_precision_score(y, -scores),
            "precision": precision,
            "recall": recall,
            "f1": f1,
        }
        if time_col or isinstance(detector, SequenceVAEDetector):
            metrics["vus_pr"] = vus_pr(y, -scores)
    if as_json:
        click.echo(
            json.dumps(
                {
                    k: float(v) if isinstance(v, float | np.floating) else v
                    for k, v in metrics.items()
                }
            )
        )
    else:
        for key, value in metrics.items():
            click.echo(
                f"{key:18s} {value:.4f}"
                if isinstance(value, float)
                else f"{key:18s} {value}"
            )


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
    from vaeanomaly.cli._modelfile import load_checked, read_metadata

    with reported_errors():
        meta = read_metadata(model)
        detector = load_checked(model)
    if as_json:
        click.echo(json.dumps(_description(meta, detector), indent=2))
        return
    click.echo("\n".join(_info_lines(model, meta, detector)))


def _description(meta: dict, detector) -> dict:
    """Return what ``info --json`` prints: the model's facts as JSON values."""
    inner = getattr(detector, "detector_", detector)
    schema = inner.schema_
    described = {
        "class": type(detector).__name__,
        "format_version": meta["format_version"],
        "package_version": meta["package_version"],
        "torch_version": meta.get("torch_version"),
        "columns": list(getattr(detector, "channels_", schema.names_)),
        "model_inputs": list(schema.names_),
        "likelihoods": list(schema.heads_),
        "categories": schema.categories_,
        "n_samples_fit": inner.n_samples_fit_,
        "n_iter": inner.n_iter_,
        "best_epoch": inner.best_epoch_,
        "hidden_dims": list(inner.hidden_dims_),
        "latent_dim": inner.latent_dim_,
        "score_method": inner.score_method,
        "n_draws": inner.n_draws,
        "offset": detector.offset_,
        "threshold": _threshold_text(inner),
        "params": {
            k: v
            for k, v in inner.get_params().items()
            if v is None or isinstance(v, (bool, int, float, str))
        },
        "history": inner.history_,
    }
    if hasattr(detector, "window"):
        described["window"] = detector.window
        described["ar_order"] = detector.ar_order
    return described


def _info_lines(model, meta: dict, detector) -> list[str]:
    from vaeanomaly.sequence import SequenceVAEDetector

    is_sequence = isinstance(detector, SequenceVAEDetector)
    inner = detector.detector_ if is_sequence else detector
    schema = inner.schema_
    history = inner.history_
    best = history[inner.best_epoch_ - 1] if history else {}
    loss = (
        best.get("valid_loss")
        if best.get("valid_loss") is not None
        else best.get("train_loss")
    )
    versions = (
        f"{meta['package_version']} (format {meta['format_version']}, "
        f"torch {meta.get('torch_version', '?')})"
    )
    likelihoods = [
        f"{head}, {len(levels)} levels" if levels is not None else head
        for head, levels in zip(schema.heads_, schema.categories_, strict=True)
    ]
    training = "(no history)"
    if loss is not None:
        training = (
            f"{inner.n_iter_} epochs, best epoch {inner.best_epoch_}, "
            f"validation ELBO {-loss:.4f} nats/row"
        )
    lines = [
        f"model file        {model}",
        f"vaeanomaly        {versions}",
        f"trained on        {inner.n_samples_fit_} rows x "
        f"{inner.n_features_in_} columns",
        "columns           " + _columns_text(detector, schema.names_, likelihoods),
        f"network           hidden {tuple(inner.hidden_dims_)}, "
        f"latent {inner.latent_dim_}",
        f"training          {training}",
        f"scoring           {inner.score_method} with {inner.n_draws} draws"
        + (_sequence_text(detector) if is_sequence else ""),
        f"threshold         score < {detector.offset_:.4f} is an anomaly "
        f"({_threshold_text(inner)})",
    ]
    return lines


def _columns_text(detector, columns: list, likelihoods: list) -> str:
    """Return the model's columns and likelihoods; the first few of a wide table."""
    from vaeanomaly.cli._workflow import summarise

    if hasattr(detector, "channels_"):  # window inputs are lags of the channels
        channels = detector.channels_
        return (
            f"{len(channels)} channels: {summarise(channels)} "
            f"({len(columns)} model inputs: {summarise(sorted(set(likelihoods)))})"
        )
    named = [f"{c} ({h})" for c, h in zip(columns, likelihoods, strict=True)]
    more = " (--json lists them all)" if len(named) > 8 else ""
    return summarise(named) + more


def _threshold_text(detector) -> str:
    spec = detector.threshold
    if spec is not None:
        return spec if isinstance(spec, str) else repr(spec)
    if detector.contamination != "auto":
        return f"contamination={detector.contamination}"
    return f"auto: {detector.threshold_!r}"


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
