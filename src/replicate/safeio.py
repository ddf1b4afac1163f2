"""Files that are never half-written, never silently trusted and never lost.

- :func:`atomic_write_bytes`: temporary file, ``fsync``, ``os.replace``, ``fsync`` of the folder;
  a full disk is one :class:`DiskFullError` line naming the path, and the temporary is removed.
- :func:`move_aside`: a damaged or replaced file is renamed to ``<name>.<tag>-<UTC time>``
  beside itself (kept for inspection, never deleted).
- :func:`clean_stale_temps`: the temporaries of writers that died before their ``os.replace``.
- :class:`DamagedFileError`: a file that exists but fails verification; it names the path.
"""
from __future__ import annotations

import errno
import os
import re
import time
from pathlib import Path

_TMP = re.compile(r"^\.(?P<name>.+)\.tmp(?P<pid>\d+)$")


class DamagedFileError(RuntimeError):
    """A file exists but cannot be trusted (unparsable, truncated, wrong checksum or schema).

    Attributes:
        path: the damaged file.
    """

    def __init__(self, path: str | Path, why: str) -> None:
        self.path = Path(path)
        super().__init__(f"damaged file {self.path}: {why}")


class DiskFullError(OSError):
    """No space left (or the file-size limit was hit) while writing ``path``."""

    def __init__(self, path: str | Path, err: OSError) -> None:
        super().__init__(err.errno, f"cannot write {path}: {os.strerror(err.errno or errno.ENOSPC)}"
                                    f" (disk full or file-size limit); free space and rerun: "
                                    f"finished work is kept and the run resumes")
        self.path = Path(path)


def fsync_dir(path: str | Path) -> None:
    """``fsync`` a folder, so that a rename inside it survives a power cut."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temp_path(path: Path) -> Path:
    """The temporary a writer in this process uses for ``path``: ``.<name>.tmp<pid>``."""
    return path.with_name(f".{path.name}.tmp{os.getpid()}")


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and ``os.replace``: never half a file.

    Raises:
        DiskFullError: ENOSPC or EFBIG (``RLIMIT_FSIZE``); the old file, if any, is intact.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        if e.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
            raise DiskFullError(path, e) from None
        raise
    fsync_dir(path.parent)


def move_aside(path: str | Path, tag: str = "damaged") -> Path:
    """Rename ``path`` to ``<name>.<tag>-<UTC YYYYmmddTHHMMSS>[.<n>]`` in its folder; return the
    new path. Nothing is deleted."""
    path = Path(path)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    dest, n = path.with_name(f"{path.name}.{tag}-{stamp}"), 1
    while dest.exists():
        dest, n = path.with_name(f"{path.name}.{tag}-{stamp}.{n}"), n + 1
    os.replace(path, dest)
    fsync_dir(path.parent)
    return dest


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (this process counts as alive)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_temps(folder: str | Path) -> list[Path]:
    """Remove the ``.<name>.tmp<pid>`` files in ``folder`` whose writer process is gone; return
    them. A live writer's temporary is left alone."""
    folder = Path(folder)
    removed = []
    if not folder.is_dir():
        return removed
    for p in folder.iterdir():
        m = _TMP.match(p.name)
        if m and p.is_file() and not pid_alive(int(m["pid"])):
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed
