"""How a fitted object gives its state to a model file and takes it back.

:mod:`vaeanomaly.io` writes ``{class, params, state}`` for each object (a
:class:`SavedObject`) and lists no attributes itself: the state of a fitted
object is everything in its ``__dict__`` that is not a constructor parameter
(scikit-learn's fitted ``name_`` attributes, plus any private state a method
needs later, such as a streaming threshold's peaks). A class whose state
holds something a file cannot (a torch module) overrides the two methods, and
checks in ``_set_state`` what it takes back; pickling goes through them too
where a class says so (``VAEAnomalyDetector.__getstate__``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["FittedStateMixin", "SavedObject"]


@dataclass(frozen=True)
class SavedObject:
    """An object as a model file holds it: its class, parameters and state.

    :mod:`vaeanomaly.io` writes every object in this form (``params`` from
    ``get_params``, ``state`` from ``_get_state``) and builds it back by
    calling the class with ``params`` and handing ``state`` to its
    ``_set_state``. :mod:`vaeanomaly._legacy_files` describes the objects of
    old files in it, so they are built the same way.

    Parameters
    ----------
    name : str
        The class's name, a key of ``vaeanomaly.io.CLASSES``.
    params : dict
        Constructor parameters.
    state : dict
        Fitted state, as ``_get_state`` gives it.
    """

    name: str
    params: dict[str, Any]
    state: dict[str, Any]


class FittedStateMixin:
    """``_get_state`` / ``_set_state`` for scikit-learn style objects."""

    def _get_state(self) -> dict[str, Any]:
        """Return the fitted state: every attribute that is not a parameter."""
        params = self.get_params(deep=False)  # type: ignore[attr-defined]
        return {name: v for name, v in vars(self).items() if name not in params}

    def _set_state(self, state: dict[str, Any]) -> None:
        """Take back the state that :meth:`_get_state` gave."""
        vars(self).update(state)
