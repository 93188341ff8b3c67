"""Where a result file came from: command, code, versions, machine, date.

Every benchmark that writes result rows (``--json``) writes them with
:func:`write_result`, which wraps the rows as::

    {"provenance": {"command": ..., "git_commit": ..., ...}, "rows": [...]}

so a figure can be traced to the command, the commit (and whether the tree had
uncommitted changes), the package, Python, torch and numpy versions, torch's
thread count and the machine that produced it. Files written before this
module are bare rows (a list, or a dict for ``speed.py``); :func:`read_rows`
reads both, and every reader of a result file goes through it.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["provenance", "read_provenance", "read_rows", "write_result"]

ROOT = Path(__file__).resolve().parents[1]


def _git(*args: str) -> str | None:
    """Output of ``git args`` in the repository, or None without git or a repo."""
    try:
        done = subprocess.run(
            ["git", "-C", str(ROOT), *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _usable_cores() -> int | None:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count()


def _version(module: str) -> str | None:
    try:
        return __import__(module).__version__
    except ImportError:
        return None


def provenance(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Describe the run that is making a result: command, code, versions, machine.

    Parameters
    ----------
    argv : sequence of str, default=None
        The command's arguments, script first; ``sys.argv`` when None.

    Returns
    -------
    dict
        ``command`` (the command line as run, shell-quoted), ``argv``,
        ``vaeanomaly_version``, ``git_commit`` and ``git_dirty`` (None when
        git or the repository is absent), ``git_changes`` (``git status
        --porcelain`` lines), ``date_utc`` (ISO 8601), ``python``, ``torch``,
        ``numpy``, ``torch_threads``, ``omp_num_threads`` (the environment
        variable, or None), ``machine`` (platform and architecture),
        ``cpu`` (model name), ``cores_usable`` (``os.sched_getaffinity``) and
        ``cores_total``.

    Examples
    --------
    >>> facts = provenance(["benchmarks/adbench.py", "--seeds", "0"])
    >>> facts["command"].split()[-3:]
    ['benchmarks/adbench.py', '--seeds', '0']
    """
    argv = list(sys.argv if argv is None else argv)
    import vaeanomaly

    try:
        import torch

        torch_version, threads = torch.__version__, torch.get_num_threads()
    except ImportError:
        torch_version = threads = None
    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain")
    changes = None if status is None else status.splitlines()
    return {
        "command": shlex.join([Path(sys.executable).name, *argv]),
        "argv": argv,
        "vaeanomaly_version": vaeanomaly.__version__,
        "git_commit": None if commit is None else commit.strip(),
        "git_dirty": None if changes is None else bool(changes),
        "git_changes": changes,
        "date_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "torch": torch_version,
        "numpy": _version("numpy"),
        "torch_threads": threads,
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "machine": f"{platform.system()} {platform.release()} {platform.machine()}",
        "cpu": _cpu_model(),
        "cores_usable": _usable_cores(),
        "cores_total": os.cpu_count(),
    }


def _plain(value: Any) -> Any:
    """JSON fallback: numpy scalars and arrays, paths."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"{type(value).__name__!r} is not JSON serializable: {value!r}")


def write_result(
    path: str | os.PathLike,
    rows: list | dict,
    argv: Sequence[str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Write ``{"provenance": ..., "rows": rows}`` to ``path``, atomically.

    The file appears whole or not at all (a temporary file beside it is moved
    over it), so a run stopped half-way leaves any earlier file as it was.

    Parameters
    ----------
    path : str or path-like
        The result file; missing folders are made.
    rows : list or dict
        The results, as the benchmark makes them.
    argv : sequence of str, default=None
        Passed to :func:`provenance`.
    **extra
        Further facts about the run (parameters, seeds, jobs), added to the
        provenance under their names.

    Returns
    -------
    dict
        The document written.

    Raises
    ------
    ValueError
        When an extra fact has the name of a provenance key (``command``...).

    See Also
    --------
    read_rows : read the rows back, from this format or the older bare one.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.json"
    >>> doc = write_result(target, [{"auroc": 0.9}], seeds=[0])
    >>> read_rows(target), read_provenance(target)["seeds"]
    ([{'auroc': 0.9}], [0])
    """
    path = Path(path)
    facts = provenance(argv)
    clash = sorted(set(facts) & set(extra))
    if clash:
        raise ValueError(
            f"write_result: {clash} would overwrite the recorded provenance; "
            "name these extra facts differently."
        )
    document = {"provenance": {**facts, **extra}, "rows": rows}
    text = json.dumps(document, indent=1, default=_plain)
    path.parent.mkdir(parents=True, exist_ok=True)
    _replace(path, text + "\n")
    return json.loads(text)


def _replace(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then move it there.

    A reader sees the old file or the new one, never half of one.
    """
    handle, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def _load(path: str | os.PathLike) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _is_wrapped(data: Any) -> bool:
    return isinstance(data, dict) and set(data) == {"provenance", "rows"}


def read_rows(path: str | os.PathLike) -> list | dict:
    """Return the result rows of a file, whether it has provenance or not.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`write_result`, or an older one holding the
        rows alone (a JSON list, or a dict).

    Returns
    -------
    list or dict
        The rows.
    """
    data = _load(path)
    return data["rows"] if _is_wrapped(data) else data


def read_provenance(path: str | os.PathLike) -> dict | None:
    """Return the provenance of a result file, or None for an older bare file.

    Parameters
    ----------
    path : str or path-like
        A result file.

    Returns
    -------
    dict or None
        What :func:`provenance` recorded, plus the writer's extra facts.
    """
    data = _load(path)
    return data["provenance"] if _is_wrapped(data) else None
