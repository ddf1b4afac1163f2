"""Run claims: at most one process, on any machine sharing an output folder, executes a run.

A batch claims a run before it looks at the run's record, and releases the claim when the run
ends (done, failed or skipped). The claim is the file
``<out>/claims/<row>/<profile>/seed<k>-<hash>.claim`` holding JSON
``{"host", "pid", "pid_start", "started", "owner"}`` (``owner``: a random id, one per claim).

- **Atomic creation.** The JSON is written to a private temporary, fsynced and hard-linked to
  the claim's name; ``link`` fails if the name exists (the NFS-safe form of
  ``O_CREAT | O_EXCL``), so a claim is never seen half-written and two processes never both
  create it.
- **Alive or dead.** An owner on this host is alive while its pid runs (and is still the same
  process: its start time in ``/proc`` matches). An owner on another host refreshes the claim's
  mtime every :data:`HEARTBEAT_S` seconds; it is dead when the mtime is older than
  :data:`STALE_S` (hosts' clocks must agree to within a few minutes).
- **Take-over.** A dead owner's claim is renamed to a private name and checked to be the very
  file judged dead (if another process took it over first, what was moved is put back); then
  the new claim is created as above. Taking over is said in one line.
"""
from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Callable

from .safeio import pid_alive as _pid_alive

#: Seconds between two refreshes of a held claim's mtime (the heartbeat other hosts read).
HEARTBEAT_S = 30.0
#: A claim of another host whose mtime is older than this many seconds has a dead owner.
STALE_S = 300.0


def claim_path(out: str | Path, row: str, profile: str, seed: int, cfg_hash: str) -> Path:
    """``<out>/claims/<row>/<profile>/seed<seed>-<hash>.claim``."""
    return Path(out) / "claims" / row / profile / f"seed{seed}-{cfg_hash}.claim"


def _pid_start(pid: int) -> str | None:
    """The start time of process ``pid`` (field 22 of ``/proc/<pid>/stat``), or ``None``."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def owner_alive(owner: dict, path: str | Path) -> bool:
    """Whether the owner of the claim at ``path`` (its parsed JSON ``owner``) is alive."""
    if owner.get("host") == socket.gethostname() and isinstance(owner.get("pid"), int):
        if not _pid_alive(owner["pid"]):
            return False
        start = owner.get("pid_start")
        now = _pid_start(owner["pid"])
        return not (start and now and start != now)  # a reused pid is another process
    try:
        age = time.time() - os.stat(path).st_mtime
    except FileNotFoundError:
        return False
    return age < STALE_S


def describe(owner: dict) -> str:
    """``host:pid`` of a claim's owner (``an unreadable claim`` when its JSON was unreadable)."""
    if "host" not in owner:
        return "an unreadable claim"
    return f"{owner['host']}:{owner.get('pid')}"


def _raw(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _parse(raw: bytes) -> dict:
    try:
        owner = json.loads(raw)
    except ValueError:
        return {}
    return owner if isinstance(owner, dict) else {}


def _new_owner() -> dict:
    pid = os.getpid()
    return {"host": socket.gethostname(), "pid": pid, "pid_start": _pid_start(pid),
            "started": time.time(), "owner": uuid.uuid4().hex}


def _create(path: Path, owner: dict) -> bool:
    """Create the claim ``path`` holding ``owner``; ``False`` when it exists already."""
    tmp = path.with_name(f".{path.name}.{owner['owner']}")
    try:
        with open(tmp, "wb") as fh:
            fh.write(json.dumps(owner).encode())
            fh.flush()
            os.fsync(fh.fileno())
        os.link(tmp, path)
        return True
    except FileExistsError:
        return os.stat(tmp).st_nlink == 2  # NFS: the link was made but its reply was lost
    finally:
        tmp.unlink(missing_ok=True)


def _take_over(path: Path, dead: bytes, me: dict) -> bool:
    """Move the claim ``path`` aside if it still holds ``dead``; ``True`` when it did."""
    aside = path.with_name(f".{path.name}.dead-{me['owner']}")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return False
    if aside.read_bytes() == dead:
        aside.unlink()
        return True
    try:  # another process took the dead claim over first: put its live claim back
        os.link(aside, path)
    except FileExistsError:
        pass
    aside.unlink()
    return False


class Claim:
    """A claim this process holds; a daemon thread refreshes its mtime until :meth:`release`."""

    def __init__(self, path: Path, owner: dict) -> None:
        self.path, self.owner = path, owner
        self._stop = threading.Event()
        self._beat = threading.Thread(target=self._heartbeat, daemon=True,
                                      name=f"claim-heartbeat-{path.name}")
        self._beat.start()

    def _mine(self) -> bool:
        raw = _raw(self.path)
        return raw is not None and _parse(raw).get("owner") == self.owner["owner"]

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            try:
                if self._mine():
                    os.utime(self.path)
            except OSError:
                pass  # a transient error of a shared filesystem; the next beat tries again

    def release(self) -> None:
        """Stop the heartbeat and remove the claim (only if it is still this one)."""
        self._stop.set()
        if self._mine():
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> "Claim":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def acquire(path: str | Path, log: Callable[[str], None] = print) -> Claim | dict:
    """Claim the run whose claim file is ``path``: the :class:`Claim`, or, when a live owner holds
    it, that owner's JSON (``{}`` if unreadable). A dead owner's claim is taken over (``log``
    says so in one line)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    held: dict = {}
    for _ in range(5):
        me = _new_owner()
        if _create(path, me):
            return Claim(path, me)
        raw = _raw(path)
        if raw is None:
            continue  # released meanwhile
        held = _parse(raw)
        if owner_alive(held, path):
            return held
        if _take_over(path, raw, me):
            log(f"  took over the claim of {describe(held)} on {path.name}: its owner is dead")
    return held  # contended by several processes at once: leave it to them


def holder(path: str | Path) -> dict | None:
    """The live owner of the claim at ``path``, or ``None`` when it is free or its owner is dead."""
    raw = _raw(Path(path))
    if raw is None:
        return None
    owner = _parse(raw)
    return owner if owner_alive(owner, path) else None
