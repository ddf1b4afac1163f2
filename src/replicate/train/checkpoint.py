"""Atomic checkpoints with everything a resumed run needs to continue bit-for-bit."""
from __future__ import annotations

import io
import random
from pathlib import Path

import numpy as np
import torch

from ..results import atomic_write_bytes


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


def save(path: str | Path, state: dict) -> None:
    """``torch.save`` through a temporary file: a crash mid-write leaves the old file intact."""
    buf = io.BytesIO()
    torch.save(state, buf)
    atomic_write_bytes(path, buf.getvalue())


def load(path: str | Path) -> dict:
    # RNG states hold numpy/python objects, so this is a full unpickle of our own file.
    return torch.load(path, map_location="cpu", weights_only=False)
