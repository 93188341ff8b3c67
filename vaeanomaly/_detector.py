"""What both detectors share: the outlier API above ``score_samples``, and ``describe``.

:class:`~vaeanomaly.VAEAnomalyDetector` scores the rows of a table;
:class:`~vaeanomaly.sequence.SequenceVAEDetector` scores the timestamps of a
recording with a ``VAEAnomalyDetector`` of windows inside. Code above them
(the command line, the HTML report) reads both through this interface and
never asks which one it holds:

- ``decision_function``, ``predict`` and :meth:`DetectorMixin.flags` turn
  scores into decisions with ``offset_`` (or another cut-off);
- :meth:`DetectorMixin.set_scoring` changes how a fitted detector scores;
- :meth:`DetectorMixin.describe` gives one plain description of a fitted
  detector (its columns and how each is used, the likelihood heads, the
  network, the training record and the threshold), from which ``vaeanomaly
  info``, the fit summary and the report all read.

A detector class provides ``score_samples``, ``offset_`` and three hooks:
``_row_model`` (the fitted ``VAEAnomalyDetector`` that scores rows or
windows), ``_input_columns`` (the columns a table to score must hold) and
``_sequence_facts`` (``None`` for tables).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

__all__ = ["DetectorMixin"]


class DetectorMixin:
    """Decisions and a description on top of a detector's ``score_samples``."""

    def decision_function(self, X: Any) -> np.ndarray:
        """Score minus ``offset_``: negative for outliers, positive for inliers.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows (or, for a recording, timestamps in time order) to score.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        return self.score_samples(X) - self.offset_

    def predict(self, X: Any) -> np.ndarray:
        """Label rows +1 (inlier) or -1 (outlier).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows (or, for a recording, timestamps in time order) to label.

        Returns
        -------
        ndarray of shape (n_samples,)
            +1 for inliers and -1 for outliers.
        """
        return np.where(self.decision_function(X) < 0, -1, 1)

    def flags(self, scores: Any, offset: float | None = None) -> np.ndarray:
        """Which scores mark an anomaly: those below ``offset`` (``offset_``).

        Parameters
        ----------
        scores : array-like of shape (n_samples,)
            Scores from ``score_samples`` (higher = more normal).
        offset : float, default=None
            The cut-off; ``None`` uses the fitted ``offset_``.

        Returns
        -------
        ndarray of bool of shape (n_samples,)
            True for anomalies.

        Examples
        --------
        >>> import numpy as np
        >>> from vaeanomaly import VAEAnomalyDetector
        >>> VAEAnomalyDetector().flags(np.array([-9.0, 1.0]), offset=-5.0)
        array([ True, False])
        """
        cut = self.offset_ if offset is None else offset
        return np.asarray(scores, dtype=np.float64) < cut

    def set_scoring(
        self, *, score_method: str | None = None, n_draws: int | None = None
    ) -> Any:
        """Change how the fitted detector scores; ``None`` keeps a setting.

        Parameters
        ----------
        score_method : str, default=None
            See ``VAEAnomalyDetector(score_method=...)``.
        n_draws : int, default=None
            See ``VAEAnomalyDetector(n_draws=...)``.

        Returns
        -------
        self
            The detector, scoring with the new settings. ``offset_`` stays as
            it was fitted (on scores of the old settings).
        """
        check_is_fitted(self)
        changed = {"score_method": score_method, "n_draws": n_draws}
        self._row_model().set_params(
            **{name: value for name, value in changed.items() if value is not None}
        )
        return self

    def describe(self) -> dict[str, Any]:
        """Describe the fitted detector in plain values (JSON-ready).

        Returns
        -------
        dict
            ``class``; ``columns``, the columns a table to score holds (the
            channels of a recording), with ``categories`` (the levels of each,
            ``None`` for numbers), ``column_kinds`` and ``accepts_missing``;
            ``model_inputs`` and ``likelihoods``, the inputs of the VAE and
            the head of each (lags of the channels for a recording);
            ``hidden_dims``, ``latent_dim``, ``n_members``, ``n_parameters``;
            the training record (``n_samples_fit``, ``n_features_in``,
            ``n_iter``, ``best_epoch``, ``best_elbo``, ``n_trimmed``,
            ``history``); ``score_method``, ``n_draws``; the threshold
            (``offset``, ``threshold``: the setting asked for,
            ``threshold_method``: the fitted rule, ``threshold_rule``: a
            sentence on how it was set); ``window``, ``level_window`` (the
            drift timescale, ``None`` when the training levels are kept),
            ``ar_order``, ``n_calibration`` (``None`` for tables); and
            ``params``, the
            simple parameters of the row model.

        Examples
        --------
        >>> import numpy as np
        >>> from vaeanomaly import VAEAnomalyDetector
        >>> X = np.random.default_rng(0).normal(size=(100, 2))
        >>> det = VAEAnomalyDetector(max_epochs=2, random_state=0).fit(X)
        >>> facts = det.describe()
        >>> facts["columns"], facts["likelihoods"], facts["window"]
        (['x0', 'x1'], ['student_t_column', 'student_t_column'], None)
        """
        check_is_fitted(self)
        model = self._row_model()
        schema = model.schema_
        sequence = self._sequence_facts()
        columns = self._input_columns()
        categories = [None] * len(columns) if sequence else list(schema.categories_)
        described = {
            "class": type(self).__name__,
            "columns": columns,
            "categories": categories,
            "column_kinds": _kinds(schema.heads_, categories, sequence),
            "accepts_missing": bool(sequence) or model.missing == "mask",
            "model_inputs": list(schema.names_),
            "likelihoods": list(schema.heads_),
            **_network(model),
            **_training(model),
            "score_method": model.score_method,
            "n_draws": model._scoring_draws(),
            **_threshold(self, model, sequence),
            "window": None,
            "level_window": None,
            "ar_order": None,
            "n_calibration": None,
            "params": {
                k: v
                for k, v in model.get_params().items()
                if v is None or isinstance(v, bool | int | float | str)
            },
        }
        described.update(sequence or {})
        return described

    # Hooks of each detector class.
    def _row_model(self) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def _input_columns(self) -> list[str]:  # pragma: no cover - overridden
        raise NotImplementedError

    def _sequence_facts(self) -> dict[str, Any] | None:
        return None


def _kinds(heads: list[str], categories: list, sequence: dict | None) -> list[str]:
    """How each input column is used: numeric, 0/1, or categorical with levels."""
    if sequence:
        return ["numeric"] * len(categories)
    return [
        f"categorical ({len(levels)} levels)"
        if levels is not None
        else ("0/1" if head == "bernoulli" else "numeric")
        for head, levels in zip(heads, categories, strict=True)
    ]


def _network(model: Any) -> dict[str, Any]:
    return {
        "hidden_dims": [int(w) for w in model.hidden_dims_],
        "latent_dim": int(model.latent_dim_),
        "n_members": int(model.n_members),
        "n_parameters": int(sum(p.numel() for p in model.module_.parameters())),
    }


def _training(model: Any) -> dict[str, Any]:
    history = list(model.history_)
    best = history[model.best_epoch_ - 1] if history else {}
    loss = best.get("valid_loss")
    loss = best.get("train_loss") if loss is None else loss
    return {
        "n_samples_fit": int(model.n_samples_fit_),
        "n_features_in": int(model.n_features_in_),
        "n_iter": int(model.n_iter_),
        "best_epoch": int(model.best_epoch_),
        "best_elbo": None if loss is None else -float(loss),
        "n_trimmed": int(getattr(model, "n_trimmed_", 0)),
        "history": history,
    }


def _threshold(detector: Any, model: Any, sequence: dict | None) -> dict[str, Any]:
    """Describe the threshold: the setting, the fitted rule, how it was set."""
    spec = model.threshold
    if spec is not None:
        setting = spec if isinstance(spec, str) else repr(spec)
    elif model.contamination != "auto":
        setting = f"contamination={model.contamination}"
    else:
        setting = f"auto: {model.threshold_!r}"
    method = model.threshold_
    params = method.get_params() if hasattr(method, "get_params") else {}
    shown = ", ".join(f"{k}={v!r}" for k, v in params.items())
    rule = f"{type(method).__name__}({shown})"  # every parameter, defaults too
    n_fit = model.n_samples_fit_
    n_calibration = (sequence or {}).get("n_calibration", n_fit)
    if n_calibration < n_fit:
        rule += (
            f" on the scores of the last {n_calibration:,} training rows, from a "
            f"second model fitted on the {n_fit - n_calibration:,} before them"
        )
    else:
        rule += f" on the scores of the {n_fit:,} training rows"
    return {
        "offset": float(detector.offset_),
        "threshold": setting,
        "threshold_method": repr(method),
        "threshold_rule": rule,
    }
