"""How a fitted object gives its state to a model file and takes it back.

:mod:`vaeanomaly.io` writes ``{class, params, state}`` for each object and
lists no attributes itself: the state of a fitted object is everything in its
``__dict__`` that is not a constructor parameter (scikit-learn's fitted
``name_`` attributes, plus any private state a method needs later, such as a
streaming threshold's peaks). A class whose state holds something a file
cannot (a torch module) overrides the two methods.
"""

from __future__ import annotations

from typing import Any

__all__ = ["FittedStateMixin"]


class FittedStateMixin:
    """``_get_state`` / ``_set_state`` for scikit-learn style objects."""

    def _get_state(self) -> dict[str, Any]:
        """Return the fitted state: every attribute that is not a parameter."""
        params = self.get_params(deep=False)  # type: ignore[attr-defined]
        return {name: v for name, v in vars(self).items() if name not in params}

    def _set_state(self, state: dict[str, Any]) -> None:
        """Take back the state that :meth:`_get_state` gave."""
        vars(self).update(state)
