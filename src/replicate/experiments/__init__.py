"""The registry of table rows: each row holds the paper's claim with its source and one recipe
per profile. ``config_for(row, profile, seed)`` is the only way a run's config is made.

Profiles (README): ``paper`` = the published recipe on the published hardware, ``gpu`` = the real
architecture for fewer epochs on one lent GPU, ``cpu`` = honest reduced runs for a 2-core
machine, ``smoke`` = seconds, for tests.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..config import PROFILES, Config, coerce_parameters


@dataclass(frozen=True)
class Claim:
    """A number a paper (or its repository) publishes. ``value`` in % top-1 unless ``metric`` says."""

    value: float
    source: str
    metric: str = "top1"
    note: str = ""


@dataclass(frozen=True)
class Row:
    """One table row (or one arm of it) as data.

    ``recipes[profile]`` is the full set of config fields for that profile; ``seeds[profile]`` the
    seeds a table aggregates; ``unavailable[profile]`` says why a profile cannot run here.
    """

    id: str
    paper: str
    table: str
    label: str
    arm: str
    claim: Claim | None
    recipes: dict[str, dict[str, Any]]
    seeds: dict[str, tuple[int, ...]]
    notebook: str = "notebooks/train.ipynb"
    teacher_row: str | None = None
    unavailable: dict[str, str] = field(default_factory=dict)

    def profiles(self) -> tuple[str, ...]:
        return tuple(p for p in PROFILES if p in self.recipes)


_REGISTRY: dict[str, Row] = {}


def register(row: Row) -> Row:
    if row.id in _REGISTRY:
        raise ValueError(f"row {row.id!r} registered twice")
    _REGISTRY[row.id] = row
    return row


def get_row(row_id: str) -> Row:
    """The row named ``row_id``.

    Raises:
        KeyError: an unknown row; the message lists the registered ids.
    """
    try:
        return _REGISTRY[row_id]
    except KeyError:
        raise KeyError(f"unknown row {row_id!r}; registered rows: {', '.join(sorted(_REGISTRY))}") from None


def rows(paper: str | None = None) -> list[Row]:
    return [r for r in _REGISTRY.values() if paper is None or r.paper == paper]


def config_for(row_id: str, profile: str, seed: int | None = None, **runtime: Any) -> Config:
    """The registered config of ``row_id`` at ``profile`` and ``seed``, plus runtime fields.

    ``runtime`` may set only fields that do not change the science (``data_root``, ``out_dir``,
    ``device``, ``num_threads``, ``teacher_checkpoint``, ``eval_batch_size``, ``progress``) unless
    it is an explicit override, which then changes the hash (and the record says so).

    Raises:
        KeyError: unknown row. ValueError: the row has no recipe for ``profile``.
        TypeError: a parameter of the wrong type or an unknown parameter name.
    """
    row = get_row(row_id)
    if profile not in row.recipes:
        raise ValueError(f"row {row_id!r} has no {profile!r} recipe; it has {row.profiles()}")
    seed = row.seeds[profile][0] if seed is None else seed
    runtime = coerce_parameters(runtime)
    teacher_hash = None
    if row.teacher_row and not runtime.get("teacher_checkpoint"):
        teacher_hash = config_for(row.teacher_row, profile).hash
    return Config(row=row_id, profile=profile, seed=seed, teacher_row=row.teacher_row,
                  teacher_hash=teacher_hash, **{**row.recipes[profile], **runtime})


def overrides_of(cfg: Config) -> dict[str, Any]:
    """The scientific fields where ``cfg`` differs from its registered recipe (empty if none)."""
    ref = config_for(cfg.row, cfg.profile, cfg.seed).scientific()
    return {k: v for k, v in cfg.scientific().items() if ref.get(k) != v}


# The papers' rows register themselves on import.
from . import bkdsnn, esd, logitkd  # noqa: E402,F401
