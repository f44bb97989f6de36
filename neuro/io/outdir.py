"""Output directories and result files that are never silently replaced.

* :func:`check_output_dir` validates an output directory before any work starts: a path under
  a regular file, in a read-only directory or in a pseudo file system such as ``/proc`` is a
  one-line error.
* :class:`OutputDir` claims the directory when the outputs are about to be written. A new
  directory is created with one atomic ``mkdir`` — if another process created it meanwhile
  (two ``neuro run -o same`` at once) the claim fails instead of replacing that run. With
  ``overwrite``, only the files neuro writes there are replaced; other files stay. While the
  claim is held the directory is locked (``flock``), so a second writer is refused instead of
  interleaving its output; the lock ends with the process, even on ``kill -9``.
* :func:`fresh_name` picks a result file name that does not exist yet (``eval-test.json``,
  then ``eval-test-2.json``, ...), for commands whose results must not replace earlier ones.
"""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path

from neuro.errors import NeuroError


def _why(exc: OSError) -> str:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.EROFS:
        return "read-only file system"
    if exc.errno == errno.ENOSPC:
        return "no space left on device"
    return exc.strerror or str(exc)


def _existing_ancestor(path: Path) -> Path:
    p = path.absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def check_output_dir(path, overwrite: bool = False, allow_empty: bool = False) -> Path:
    """Refuse an output directory that cannot be used, before any work is done.

    Parameters
    ----------
    path : path-like
    overwrite : bool
        An existing directory may be written into (its neuro files replaced).
    allow_empty : bool
        An existing empty directory is accepted without ``overwrite``.
    """
    path = Path(path)
    if path.exists() or path.is_symlink():
        if not path.is_dir():
            raise NeuroError("output path exists and is not a directory", str(path))
        if not overwrite and not (allow_empty and not any(path.iterdir())):
            raise NeuroError("output directory exists (use --overwrite to replace its results)", str(path))
        if not os.access(path, os.W_OK | os.X_OK):
            raise NeuroError("output directory is not writable (permission denied)", str(path))
        return path
    base = _existing_ancestor(path)
    if not base.is_dir():
        raise NeuroError(f"cannot create the output directory: {base} is a file", str(path))
    if not os.access(base, os.W_OK | os.X_OK):
        raise NeuroError(f"cannot create the output directory: {base} is not writable", str(path))
    return path


class OutputDir:
    """Claim of an output directory for one writer (see module docstring).

    Parameters
    ----------
    path : path-like
    writes : sequence of str
        Names of the files neuro writes there (replaced with ``overwrite``).
    overwrite, allow_empty : bool
        As in :func:`check_output_dir`.
    """

    def __init__(self, path, writes=(), overwrite: bool = False, allow_empty: bool = False):
        self.path = Path(path)
        self.writes = tuple(writes)
        self.overwrite, self.allow_empty = overwrite, allow_empty
        self._fd: int | None = None

    def claim(self) -> Path:
        """Create (atomically) or take over the directory and lock it; return its path."""
        check_output_dir(self.path, self.overwrite, self.allow_empty)
        created = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            os.mkdir(self.path)
            created = True
        except FileExistsError:
            if not (self.overwrite or self.allow_empty):
                raise NeuroError(
                    "output directory appeared while this run was starting (another run writing there?)",
                    str(self.path),
                ) from None
        except OSError as exc:
            raise NeuroError(f"cannot create the output directory: {_why(exc)}", str(self.path)) from None
        self._lock()
        if not created:
            check_output_dir(self.path, self.overwrite, self.allow_empty)  # still usable once locked
            for name in self.writes:
                try:
                    (self.path / name).unlink(missing_ok=True)
                except OSError as exc:
                    self.release()
                    raise NeuroError(f"cannot replace {name}: {_why(exc)}", str(self.path)) from None
        return self.path

    def _lock(self) -> None:
        try:
            self._fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY)
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.release()
            raise NeuroError("another neuro process is writing into this directory", str(self.path)) from None
        except OSError as exc:
            self.release()
            raise NeuroError(f"cannot use the output directory: {_why(exc)}", str(self.path)) from None

    def release(self) -> None:
        """Drop the lock (the directory and its files stay)."""
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None

    def __enter__(self) -> Path:
        return self.claim()

    def __exit__(self, *exc) -> None:
        self.release()


def fresh_name(directory, stem: str, suffixes=(".json",)) -> str:
    """The first of ``stem``, ``stem-2``, ``stem-3``, ... for which no ``stem + suffix`` exists."""
    directory = Path(directory)
    k = 1
    while True:
        name = stem if k == 1 else f"{stem}-{k}"
        if not any((directory / (name + s)).exists() for s in suffixes):
            return name
        k += 1


def writable_file(path) -> Path:
    """Refuse an output file whose directory is missing, is a file, or is not writable."""
    path = Path(path)
    if path.is_dir():
        raise NeuroError("output file is a directory", str(path))
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        what = "is a file" if parent.exists() else "does not exist"
        raise NeuroError(f"cannot write here: {parent} {what}", str(path))
    if not os.access(parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise NeuroError("cannot write here: permission denied", str(path))
    return path


def write_text_atomic(path, text: str) -> Path:
    """Write ``text`` to a temporary sibling and rename it to ``path`` (never half-written)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise NeuroError(f"cannot write: {_why(exc)}", str(path)) from None
    return path
