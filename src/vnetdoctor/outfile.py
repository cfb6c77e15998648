"""Every file vnetdoctor writes goes through here, so that none is ever left half-written.

A regular file (or a new name) is written *atomically*: to a temporary file created exclusively
(``O_CREAT | O_EXCL``, mode 0600, an unpredictable name from :func:`tempfile.mkstemp`) in the
target's own folder, flushed and fsync'ed, given the mode the target would have had (an existing
file keeps its mode; a new one gets ``0o666 & ~umask``), then renamed over the target with
:func:`os.replace`, and the folder is fsync'ed so that the rename survives a crash. Until the
rename the previous file is untouched: a full disk, a read-only mount, an exception or a
``kill -9`` leaves it as it was (a killed process may leave its ``.NAME.*.tmp`` behind; any other
failure removes it). Because the temporary name is random and created with ``O_EXCL``, a link
planted beside the target cannot redirect the write.

Other targets:

- ``-`` is standard output;
- a character device or FIFO (``/dev/null``, ``/dev/stdout``, a named pipe) is written directly,
  never replaced;
- a symbolic link is followed to its final target, which is then treated as above: the link
  stays, the file it names is replaced atomically (as a shell's ``>`` would write through it);
- a folder, a socket or a block device is refused.

A destination that cannot be written raises :class:`~vnetdoctor.errors.OutputError`
("cannot write PATH: reason", exit code 2).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Literal, overload

from vnetdoctor.errors import OutputError

STDOUT = "-"


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def _fsync_folder(folder: str) -> None:
    """Make a rename in ``folder`` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _resolve(target: str) -> tuple[str, os.stat_result | None]:
    """The path to write (a link followed to its end) and what is there now (None: nothing)."""
    path = os.path.realpath(target) if os.path.islink(target) else target
    try:
        return path, os.stat(path)
    except FileNotFoundError:
        return path, None
    except OSError as exc:
        raise OutputError(target, _reason(exc)) from None


@overload
def open_output(target: str | os.PathLike[str], *, binary: Literal[False] = ...,
                encoding: str = ..., private: bool = ...,
                ) -> contextlib.AbstractContextManager[IO[str]]: ...
@overload
def open_output(target: str | os.PathLike[str], *, binary: Literal[True],
                encoding: str = ..., private: bool = ...,
                ) -> contextlib.AbstractContextManager[IO[bytes]]: ...
def open_output(target: str | os.PathLike[str], *, binary: bool = False,
                encoding: str = "utf-8", private: bool = False,
                ) -> contextlib.AbstractContextManager[IO[str] | IO[bytes]]:
    """A stream to write ``target``, committed when the ``with`` block ends without an error.

    ``binary`` gives a bytes stream; text is written as ``encoding`` with ``\\n`` line ends.
    ``private``: the file is readable by its owner only (0600), whatever mode it had (a snapshot
    maps the whole estate).
    """
    return _open(os.fspath(target), binary, encoding, private)


def _stream(raw: IO[bytes], binary: bool, encoding: str) -> IO[str] | IO[bytes]:
    return raw if binary else io.TextIOWrapper(raw, encoding=encoding, newline="\n")


@contextlib.contextmanager
def _open(
    name: str, binary: bool, encoding: str, private: bool = False
) -> Iterator[IO[str] | IO[bytes]]:
    if name == STDOUT:
        out: IO[str] | IO[bytes] = sys.stdout.buffer if binary else sys.stdout
        yield out
        out.flush()
        return
    path, now = _resolve(name)
    if now is not None and stat.S_ISDIR(now.st_mode):
        raise OutputError(name, "it is a folder")
    if now is not None and (stat.S_ISCHR(now.st_mode) or stat.S_ISFIFO(now.st_mode)):
        try:
            with _stream(open(path, "wb"), binary, encoding) as direct:
                yield direct
        except OSError as exc:
            raise OutputError(name, _reason(exc)) from None
        return
    if now is not None and not stat.S_ISREG(now.st_mode):
        raise OutputError(name, "not a regular file, a device or a pipe")
    kept = stat.S_IMODE(now.st_mode) if now is not None else 0o666 & ~_umask()
    mode = 0o600 if private else kept
    folder = os.path.dirname(path) or os.curdir
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp",
                                    dir=folder)
    except OSError as exc:
        raise OutputError(name, _reason(exc)) from None
    committed = False
    try:
        raw = os.fdopen(fd, "wb")
        with _stream(raw, binary, encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(raw.fileno())
            os.fchmod(raw.fileno(), mode)
        os.replace(temp, path)
        committed = True
        _fsync_folder(folder)
    except OSError as exc:
        raise OutputError(name, _reason(exc)) from None
    finally:
        if not committed:
            with contextlib.suppress(OSError):
                os.unlink(temp)


def write_output(target: str | os.PathLike[str], data: str | bytes, *,
                 encoding: str = "utf-8", private: bool = False) -> None:
    """Write all of ``data`` to ``target`` as :func:`open_output` does."""
    if isinstance(data, bytes):
        with open_output(target, binary=True, private=private) as raw:
            raw.write(data)
    else:
        with open_output(target, encoding=encoding, private=private) as text:
            text.write(data)


def copy_tree(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> Path:
    """Copy the folder ``source`` to the new folder ``target``, all or nothing: into a temporary
    folder beside ``target``, then renamed into place. A failure (a full disk) removes the
    temporary folder, so that a rerun starts clean; an existing ``target`` is refused."""
    dest = Path(target)
    if dest.exists() or dest.is_symlink():
        raise OutputError(str(dest), "it already exists")
    parent = dest.parent
    try:
        scratch = tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=parent)
    except OSError as exc:
        raise OutputError(str(dest), _reason(exc)) from None
    inside = Path(scratch) / dest.name
    try:
        shutil.copytree(source, inside)
        os.chmod(inside, 0o777 & ~_umask())
        os.rename(inside, dest)
        _fsync_folder(str(parent))
    except OSError as exc:
        raise OutputError(str(dest), _reason(exc)) from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return dest
