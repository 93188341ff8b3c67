"""What `vaeanomaly info` prints: a model's description as lines or as JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vaeanomaly.cli._columns import summarise


def info_json(meta: dict, detector: Any) -> dict:
    """Return what ``info --json`` prints: the file's versions and ``describe()``."""
    facts = detector.describe()
    return {
        "class": facts["class"],
        "format_version": meta["format_version"],
        "package_version": meta["package_version"],
        "torch_version": meta.get("torch_version"),
        **facts,
    }


def info_lines(model: Path, meta: dict, detector: Any) -> list[str]:
    """Return the lines that ``info`` prints about a model file."""
    facts = detector.describe()
    versions = (
        f"{meta['package_version']} (format {meta['format_version']}, "
        f"torch {meta.get('torch_version', '?')})"
    )
    training = "(no history)"
    if facts["best_elbo"] is not None:
        training = (
            f"{facts['n_iter']} epochs, best epoch {facts['best_epoch']}, "
            f"validation ELBO {facts['best_elbo']:.4f} nats/row"
        )
    return [
        f"model file        {model}",
        f"vaeanomaly        {versions}",
        f"trained on        {facts['n_samples_fit']} rows x "
        f"{facts['n_features_in']} columns",
        f"columns           {_columns_text(facts)}",
        f"network           hidden {tuple(facts['hidden_dims'])}, "
        f"latent {facts['latent_dim']}",
        f"training          {training}",
        f"scoring           {facts['score_method']} with {facts['n_draws']} draws"
        + _window_text(facts),
        f"threshold         score < {facts['offset']:.4f} is an anomaly "
        f"({facts['threshold']})",
    ]


def _columns_text(facts: dict) -> str:
    """Return the model's columns and likelihoods; the first few of a wide table."""
    if facts["window"] is not None:  # window inputs are lags of the channels
        channels = facts["columns"]
        heads = sorted(set(facts["likelihoods"]))
        return (
            f"{len(channels)} channels: {summarise(channels)} "
            f"({len(facts['model_inputs'])} model inputs: {summarise(heads)})"
        )
    named = [
        f"{column} ({head}, {len(levels)} levels)"
        if levels is not None
        else f"{column} ({head})"
        for column, head, levels in zip(
            facts["columns"], facts["likelihoods"], facts["categories"], strict=True
        )
    ]
    more = " (--json lists them all)" if len(named) > 8 else ""
    return summarise(named) + more


def _window_text(facts: dict) -> str:
    if facts["window"] is None:
        return ""
    text = f", windows of {facts['window']} readings per timestamp"
    if facts.get("level_window"):
        text += (
            f", each channel measured against the median of its last "
            f"{facts['level_window']} readings (changes slower than that are "
            "normal drift)"
        )
    if facts["ar_order"]:
        text += (
            f" (errors of a prediction from the {facts['ar_order']} readings "
            "before each)"
        )
    return text
