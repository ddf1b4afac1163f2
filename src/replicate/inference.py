"""Trained models and records back from an output folder: ``load_model(row, profile, seed)``.

A run keeps its final weights at ``<out>/checkpoints/<hash>/model.pt`` and its record at
``<out>/records/<row>/<profile>/seed<seed>-<hash>.json``, where ``hash`` is the hash of
``config_for(row, profile, seed, **overrides)``; these functions rebuild that config and look
the files up by it, so they find exactly the run the registry (plus the overrides) describes.
"""
from __future__ import annotations

import ast
import shlex
from pathlib import Path
from typing import Any

import torch

from .config import RUNTIME_FIELDS, Config

def run_command(row: str, profile: str, seed: int, out: str | Path,
                overrides: dict[str, Any] | None = None) -> str:
    """The ``replicate run`` command line that makes the record and weights of this run."""
    cmd = f"replicate run {row} --profile {profile} --seed {seed} --out {shlex.quote(str(out))}"
    return cmd + "".join(f" -p {_param(k, v)}" for k, v in (overrides or {}).items())


def _param(name: str, value: Any) -> str:
    """``name=value`` as a shell word that ``replicate run -p`` parses back to ``value``."""
    if not isinstance(value, str):
        return f"{name}={value!r}"
    try:  # a string that reads as a literal ("3", "None") must keep its quotes
        ast.literal_eval(value)
    except (ValueError, SyntaxError):
        if shlex.quote(value) == value:
            return f"{name}={value}"
    return shlex.quote(f"{name}={value!r}")


def _config(row: str, profile: str, seed: int, out: str | Path, **overrides: Any) -> Config:
    from .experiments import config_for
    return config_for(row, profile, seed, out_dir=str(out), **overrides)


def _missing(what: str, path: Path, cfg: Config, out: str | Path, overrides: dict) -> FileNotFoundError:
    science = {k: v for k, v in overrides.items() if k not in RUNTIME_FIELDS}
    return FileNotFoundError(
        f"no {what} for {cfg.row} ({cfg.profile}, seed {cfg.seed}, hash {cfg.hash}) at {path}; "
        f"make it with `{run_command(cfg.row, cfg.profile, cfg.seed, out, science)}`")


def load_model(row: str, profile: str, seed: int, out: str | Path = "out", device: str = "cpu",
               **overrides: Any) -> torch.nn.Module:
    """The trained model of one run, in eval mode on ``device``.

    Built with ``config_for(row, profile, seed, **overrides)`` (``overrides``: any Config field,
    as given to ``replicate run -p``) and loaded from ``<out>/checkpoints/<hash>/model.pt``.

    Raises:
        FileNotFoundError: no weights for that config under ``out``; the one-line message names
            the ``replicate run`` command that makes them.
        KeyError: unknown row. ValueError: no recipe for ``profile``, or a dataset of unknown
            class count. TypeError: an unknown or mistyped override.
    """
    from .results import checkpoint_dir
    from .train.engine import build_model

    cfg = _config(row, profile, seed, out, device=device, **overrides)
    path = checkpoint_dir(out, cfg.hash) / "model.pt"
    if not path.is_file():
        raise _missing("weights", path, cfg, out, overrides)
    from .data import registry as datasets
    # the weights replace any hub weights, so never fetch them; K from the dataset's registry entry
    model = build_model(cfg.replace(pretrained=False), datasets.get(cfg.dataset).num_classes)
    from .train import checkpoint
    model.load_state_dict(checkpoint.load(path, weights_only=True))  # checksum verified
    return model.to(device).eval()


def load_record(row: str, profile: str, seed: int, out: str | Path = "out", **overrides: Any) -> dict:
    """The record of one run (the dict :func:`replicate.train.run` returned), looked up like
    :func:`load_model`.

    Raises:
        FileNotFoundError: no record for that config under ``out`` (the message names the command).
        KeyError, ValueError, TypeError: as :func:`replicate.experiments.config_for`.
    """
    from .results import read_record, record_path

    cfg = _config(row, profile, seed, out, **overrides)
    path = record_path(out, row, profile, seed, cfg.hash)
    if not path.is_file():
        raise _missing("record", path, cfg, out, overrides)
    return read_record(path)
