import os
import stat
import subprocess
import sys
import textwrap

import pytest

from vaeanomaly._atomic import (
    _host,
    atomic_write,
    output_problem,
    remove_stale,
    temp_name,
)


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_new_file_honours_the_umask(tmp_path, umask_022):
    target = tmp_path / "out.csv"
    with atomic_write(target, "w") as handle:
        handle.write("a\n")
    assert _mode(target) == 0o644


def test_replaced_file_keeps_its_mode(tmp_path, umask_022):
    target = tmp_path / "out.csv"
    target.write_text("old\n")
    os.chmod(target, 0o640)
    with atomic_write(target, "w") as handle:
        handle.write("new\n")
    assert target.read_text() == "new\n"
    assert _mode(target) == 0o640


def test_temp_names_are_recognisable(tmp_path):
    name = temp_name(tmp_path / "out.csv").name
    assert name.startswith(f".out.csv.vaeanomaly-{_host()}-{os.getpid()}-")
    assert name.endswith(".tmp")


def test_stale_temp_files_of_dead_processes_are_removed(tmp_path):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    pid = int(dead.stdout)
    stale = tmp_path / f".out.csv.vaeanomaly-{_host()}-{pid}-0a1b2c3d.tmp"
    live = tmp_path / f".out.csv.vaeanomaly-{_host()}-{os.getpid()}-0a1b2c3d.tmp"
    elsewhere = tmp_path / f".out.csv.vaeanomaly-otherbox-{pid}-0a1b2c3d.tmp"
    other = tmp_path / ".out.csv.abcdef.tmp"  # not ours: never touched
    for path in (stale, live, elsewhere, other):
        path.write_text("partial")
    with atomic_write(tmp_path / "out.csv", "w") as handle:
        handle.write("a\n")
    assert not stale.exists()
    assert live.exists()
    assert elsewhere.exists()
    assert other.exists()
    assert remove_stale(tmp_path) == []


def test_sigterm_removes_the_temp_file(tmp_path):
    script = textwrap.dedent(
        f"""
        import os, signal
        from vaeanomaly._atomic import atomic_write
        with atomic_write({str(tmp_path / "out.csv")!r}, "w") as handle:
            handle.write("partial" * 1000)
            handle.flush()
            os.kill(os.getpid(), signal.SIGTERM)
            while True:
                pass
        """
    )
    done = subprocess.run([sys.executable, "-c", script], timeout=60, check=False)
    assert done.returncode == 143
    assert list(tmp_path.iterdir()) == []


def test_sigterm_as_the_temp_file_appears_removes_it(tmp_path):
    # What a watcher that stops the writer when the file shows up does (as
    # test_cli's SIGTERM test did under load): the signal lands right after
    # the file is created, before anything is written to it.
    script = textwrap.dedent(
        f"""
        import os, signal, time
        from vaeanomaly._atomic import atomic_write, exit_on_sigterm

        exit_on_sigterm()  # as the command line does
        real_open = os.open

        def open_then_sigterm(path, *args, **kwargs):
            fd = real_open(path, *args, **kwargs)
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(30)  # the handler raises here
            return fd

        os.open = open_then_sigterm
        with atomic_write({str(tmp_path / "out.csv")!r}, "w") as handle:
            handle.write("never")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, timeout=60, check=False
    )
    assert done.returncode == 143, done.stderr
    assert list(tmp_path.iterdir()) == []


def test_errors_name_the_users_path_not_the_temp_file(tmp_path):
    target = tmp_path / "missing" / "out.csv"
    with pytest.raises(FileNotFoundError) as caught:
        with atomic_write(target, "w"):
            pass
    assert caught.value.filename == str(target)
    assert ".tmp" not in str(caught.value)


def test_output_problem_before_any_work(tmp_path, monkeypatch):
    existing = tmp_path / "out.csv"
    existing.write_text("x")
    assert "already exists. Pass --force" in output_problem(existing)
    assert output_problem(existing, force=True) is None
    assert "does not exist" in output_problem(tmp_path / "nope" / "out.csv")
    assert "is a folder" in output_problem(tmp_path)
    monkeypatch.setattr(os, "access", lambda *args: False)
    assert "is not writable" in output_problem(tmp_path / "new.csv")


def test_csv_layer_imports_neither_torch_nor_sklearn():
    code = (
        "import sys, vaeanomaly.cli._csv, vaeanomaly._atomic; "
        "print(sorted(m for m in ('torch', 'sklearn') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
