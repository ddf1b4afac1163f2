"""Atomic, checksummed checkpoints with everything a resumed run needs to continue bit-for-bit.

On disk a checkpoint is ``torch.save({"format": FORMAT, "sha256": h, "payload": b})`` where ``b``
is the ``torch.save`` bytes of the state and ``h`` their sha256: a file garbled or cut anywhere
fails :func:`load` with a :class:`~replicate.safeio.DamagedFileError` naming it, instead of
loading wrong weights.
"""
from __future__ import annotations

import hashlib
import io
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..safeio import DamagedFileError, atomic_write_bytes

FORMAT = "replicate-checkpoint-1"


def rng_state() -> dict:
    return {"python": random.getstate(), "numpy": np.random.get_state(),
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _bytes(obj: Any) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def save(path: str | Path, state: Any) -> None:
    """``torch.save`` of ``state`` with its sha256, through a temporary file: a crash mid-write
    leaves the old file intact.

    Raises:
        DiskFullError: no space left; the old file is intact.
    """
    payload = _bytes(state)
    atomic_write_bytes(path, _bytes({"format": FORMAT, "sha256": hashlib.sha256(payload).hexdigest(),
                                     "payload": payload}))


def load(path: str | Path, *, weights_only: bool = False, require_checksum: bool = True) -> Any:
    """The state saved by :func:`save`, after its checksum is verified.

    ``weights_only`` unpickles the state with torch's safe loader (weights); resume states hold
    RNG objects and need the full unpickler (our own files only). ``require_checksum=False``
    also accepts a plain ``torch.save`` file (a user's ``teacher_checkpoint``).

    Raises:
        DamagedFileError: unreadable, truncated, garbled, or (with ``require_checksum``) without
            a checksum; the message names the file.
    """
    path = Path(path)
    try:
        outer = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # zip, pickle and EOF errors all mean the same: not a good file
        raise DamagedFileError(path, f"cannot be read ({type(e).__name__}: {str(e)[:120]})") from None
    if not (isinstance(outer, dict) and outer.get("format") == FORMAT):
        if require_checksum:
            raise DamagedFileError(path, "has no checksum (not written by this version)")
        return outer
    payload = outer.get("payload")
    if not isinstance(payload, bytes) or hashlib.sha256(payload).hexdigest() != outer.get("sha256"):
        raise DamagedFileError(path, "checksum mismatch (the file was changed or garbled)")
    return torch.load(io.BytesIO(payload), map_location="cpu", weights_only=weights_only)
