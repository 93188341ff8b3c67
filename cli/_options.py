"""Options shared by several commands."""

import functools
import pathlib

import click

from vaeanomaly._names import LIKELIHOOD_NAMES, SCORE_METHOD_NAMES, THRESHOLD_NAMES
from vaeanomaly.cli._defaults import shown_default

# Names only: importing vaeanomaly.thresholds would load scikit-learn for --help.
_UNLABELLED_THRESHOLDS = sorted(set(THRESHOLD_NAMES) - {"best_f", "fixed", "spot"})


def compose(*decorators):
    """Apply ``decorators`` as if stacked above a function, the first on top."""

    def apply(func):
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return apply


data_argument = click.argument(
    "data",
    type=click.Path(
        exists=True, dir_okay=False, allow_dash=True, path_type=pathlib.Path
    ),
)


def csv_options(command):
    """Add the CSV format options (--sep ... --na-values), given as one ``csv``.

    The command receives a :class:`~vaeanomaly.cli._csv.CsvFormat` as its
    ``csv`` keyword argument, which its reading of CSV files takes.
    """

    @functools.wraps(command)
    def with_format(
        *args, sep, encoding, decimal, thousands, compression, na_values, **kwargs
    ):
        from vaeanomaly.cli._columns import split_names
        from vaeanomaly.cli._csv import CsvFormat

        csv = CsvFormat(
            sep=sep,
            encoding=encoding,
            decimal=decimal,
            thousands=thousands,
            compression=compression,
            na_values=tuple(split_names(na_values)),
        )
        return command(*args, csv=csv, **kwargs)

    return compose(
        click.option(
            "--sep",
            default=None,
            help="Column separator. Default: sniffed from the header among ',', ';' "
            "and tab.",
        ),
        click.option(
            "--encoding",
            default=None,
            help="Text encoding of the CSV file, e.g. latin-1, cp1252, utf-16. "
            "Default: from a byte order mark, else utf-8.",
        ),
        click.option(
            "--decimal",
            default=".",
            help="Decimal mark of the numbers, e.g. ',' for 0,25.",
        ),
        click.option(
            "--thousands",
            default=None,
            help="Thousands separator to strip from numbers, e.g. ',' for 1,250.5.",
        ),
        click.option(
            "--compression",
            default="infer",
            show_default=True,
            type=click.Choice(["infer", "none", "gzip", "bz2", "xz", "zip", "zstd"]),
            help="Compression of the CSV file. 'infer' reads it from the file's "
            "extension (.gz, .bz2, .xz, .zip, .zst); standard input is read as "
            "plain text unless this names a compression.",
        ),
        click.option(
            "--na-values",
            multiple=True,
            metavar="TOKENS",
            help="Values that mark a missing cell, besides empty ones and pandas' "
            "usual NA, NaN, null (comma-separated or repeated), e.g. 'ERR,-999'.",
        ),
    )(with_format)


quiet_option = click.option(
    "--quiet", "-q", is_flag=True, help="No progress, summary or warnings on stderr."
)

force_option = click.option(
    "--force", is_flag=True, help="Replace an existing output file."
)

device_option = click.option(
    "--device",
    default="auto",
    show_default=True,
    type=click.Choice(["auto", "cpu", "cuda"]),
    envvar="VAEANOMALY_DEVICE",
    show_envvar=True,
    help="Torch device: auto, cpu or cuda.",
)

model_option = click.option(
    "--model",
    "-m",
    type=click.Path(exists=True, dir_okay=False, path_type=pathlib.Path),
    default=None,
    help="Model file from `vaeanomaly fit`. Without it, a model is fitted on DATA "
    "first.",
)

report_option = click.option(
    "--report",
    default=None,
    type=click.Path(dir_okay=False, path_type=pathlib.Path),
    help="Also write a self-contained HTML report of the run to this file "
    '(needs pip install "vaeanomaly[report]").',
)

output_option = click.option(
    "--output",
    "-o",
    default="-",
    show_default=True,
    type=click.Path(dir_okay=False, allow_dash=True, path_type=pathlib.Path),
    help="Output CSV file; '-' is standard output.",
)

columns_options = compose(
    click.option(
        "--columns",
        multiple=True,
        help="Feature columns (comma-separated or repeated). Default: every "
        "numeric column and every text column with few repeated values.",
    ),
    click.option(
        "--exclude",
        multiple=True,
        help="Columns never used as features (comma-separated or repeated).",
    ),
    click.option(
        "--categorical",
        multiple=True,
        help="Columns to model as categories (comma-separated or repeated), e.g. "
        "integer-coded states. Text columns with at most 100 distinct, repeated "
        "values are categories already; other text columns (identifiers) are "
        "left out unless named here or in --columns.",
    ),
    click.option(
        "--index-col",
        default=None,
        help="Identifier column: copied to the output, never a feature.",
    ),
)

sequence_options = compose(
    click.option(
        "--time-col",
        default=None,
        help="Time column of a sensor recording: kept in the output, never a "
        "feature, and checked to be in time order.",
    ),
    click.option(
        "--window",
        default=None,
        type=click.IntRange(min=1),
        help="Score each row with the N readings ending at it (sensor data), "
        "each channel measured against the median of its last 1000 readings, "
        "so changes slower than that are normal drift, not alarms. Gaps of up "
        "to 5 missing readings are "
        "forward-filled; longer ones are left out of the likelihood (or "
        "refused with --missing error).",
    ),
)

#: What ``--missing`` accepts, and what it says, on every command that fits.
MISSING_POLICIES = ["mask", "error"]
MISSING_HELP = (
    "Empty cells: 'mask' scores each row on the cells it has (the model also "
    "learns from rows with gaps); 'error' refuses them."
)

missing_when_fitting_option = click.option(
    "--missing",
    default=None,
    type=click.Choice(MISSING_POLICIES),
    help=MISSING_HELP + " Without --model, for the model fitted on DATA "
    "(default: mask); a model file keeps the policy it was fitted with.",
)

train_stretch_options = compose(
    click.option(
        "--train-rows",
        default=None,
        type=click.IntRange(min=2),
        help="Without --model: fit on the first N rows of DATA only, a stretch "
        "known to be normal, then score every row. Default with --window: the "
        "first third of the rows; without --window: all rows.",
    ),
    click.option(
        "--train-until",
        default=None,
        metavar="TIME",
        help="Without --model: fit on the rows whose --time-col value is at most "
        "TIME (e.g. '2020-03-09 12:05:00'), then score every row.",
    ),
)

fit_stretch_options = compose(
    click.option(
        "--train-rows",
        default=None,
        type=click.IntRange(min=2),
        help="Fit on the first N rows of DATA only, a stretch known to be normal. "
        "Default: all rows.",
    ),
    click.option(
        "--train-until",
        default=None,
        metavar="TIME",
        help="Fit on the rows whose --time-col value is at most TIME (e.g. "
        "'2020-03-09 12:05:00') only.",
    ),
)

training_options = compose(
    click.option(
        "--epochs",
        default=None,
        show_default=shown_default("max_epochs"),
        type=click.IntRange(min=1),
        help="Most training epochs; auto: 200, or 50 on a table of 128 or more "
        "measured columns.",
    ),
    click.option(
        "--latent-dim",
        default=None,
        type=click.IntRange(min=1),
        help="Dimension of z. Default: from the number of columns.",
    ),
    click.option(
        "--hidden-dims",
        default=None,
        help="Encoder widths, e.g. '64,32'. Default: from the number of columns.",
    ),
    click.option(
        "--likelihood",
        default="auto",
        show_default=True,
        type=click.Choice(["auto", *LIKELIHOOD_NAMES]),
        help="Observation model p(x|z). auto: Bernoulli for 0/1 columns, "
        "student_t_column for other numbers (gaussian_column with --window).",
    ),
    click.option(
        "--missing",
        default="mask",
        show_default=True,
        type=click.Choice(MISSING_POLICIES),
        help=MISSING_HELP,
    ),
    click.option(
        "--batch-size",
        default=None,
        show_default=shown_default("batch_size"),
        type=click.IntRange(min=1),
        help="Rows per training step. Default: auto, the largest power of two "
        "up to half the training rows, between 128 and 1024 (the learning rate "
        "grows with its square root).",
    ),
    click.option(
        "--seed",
        default=0,
        show_default=True,
        type=int,
        help="Random seed; the same seed gives the same model and scores.",
    ),
)

scoring_options = compose(
    click.option(
        "--method",
        default=None,
        type=click.Choice(list(SCORE_METHOD_NAMES)),
        help="Score method. Default: the model's (elbo). rarest_value scores a row "
        "by its value that is rarest in its column, for anomalies that hold rare "
        "values but come in groups the model learns.",
    ),
    click.option(
        "--draws",
        default=None,
        type=click.IntRange(min=1),
        help="Monte-Carlo draws of z per row. Default: the model's (16). "
        "rarest_value takes at least 256.",
    ),
)

threshold_options = compose(
    click.option(
        "--threshold",
        "threshold_name",
        default=None,
        type=click.Choice(_UNLABELLED_THRESHOLDS),
        help="How to turn scores into flags. "
        "Default: the model's (a robust z-score rule).",
    ),
    click.option(
        "--contamination",
        default=None,
        type=click.FloatRange(0, 0.5, min_open=True),
        help="Flag this share of rows (the contamination quantile).",
    ),
    click.option(
        "--risk",
        default=None,
        type=click.FloatRange(0, 1, min_open=True, max_open=True),
        help="Tail probability for --threshold pot.",
    ),
)


def hidden_dims_value(text: str | None) -> tuple[int, ...] | None:
    """Parse ``--hidden-dims`` ('64,32') into a tuple of positive ints."""
    if text is None:
        return None
    try:
        dims = tuple(int(part) for part in text.split(","))
    except ValueError:
        dims = ()
    if not dims or min(dims) < 1:
        raise click.BadParameter(
            "expected positive integers separated by commas, e.g. '64,32'; "
            f"got {text!r}.",
            param_hint="--hidden-dims",
        )
    return dims


def threshold_spec(
    threshold_name: str | None, contamination: float | None, risk: float | None
):
    """Build the threshold object the options ask for, or ``None`` for the model's."""
    from vaeanomaly.thresholds import make_threshold

    if contamination is not None:
        if threshold_name not in (None, "contamination"):
            raise click.UsageError(
                "--contamination sets the threshold itself; drop it or "
                f"--threshold {threshold_name}."
            )
        return make_threshold("contamination", contamination=contamination)
    if risk is not None:
        if threshold_name not in (None, "pot"):
            raise click.UsageError(
                f"--risk applies to --threshold pot, not {threshold_name!r}."
            )
        return make_threshold("pot", risk=risk)
    return None if threshold_name is None else make_threshold(threshold_name)


seed_when_fitting_option = click.option(
    "--seed",
    default=0,
    type=int,
    help="Random seed when fitting on DATA (no --model).",
)


def output_path_option(dest: str, what: str):
    """Return a required ``--output``/``-o`` file path option, given as ``dest``."""
    return click.option(
        "--output",
        "-o",
        dest,
        required=True,
        type=click.Path(dir_okay=False, path_type=pathlib.Path),
        help=f"Where to write {what}.",
    )
