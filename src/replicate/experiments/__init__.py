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


#: What a claimed number measures.
CLAIM_KINDS = ("top1", "delta", "params", "flops", "energy", "other")


@dataclass(frozen=True)
class Source:
    """Where a published number is printed: the document and the place in it.

    ``document``: e.g. ``"BKDSNN README (github.com/Intelligent-Computing-Research-Group/BKDSNN
    @ dd6bd53)"``; ``locator``: the table and row, or ``file@commit, line``.
    """

    document: str
    locator: str = ""

    def __str__(self) -> str:
        return f"{self.document}, {self.locator}" if self.locator else self.document


@dataclass(frozen=True)
class Claim:
    """A number a paper (or its repository) publishes, as data.

    Attributes:
        value: the number as printed (% top-1 for ``kind="top1"``; points for ``"delta"``;
            a count for ``"params"``/``"flops"``; mJ for ``"energy"``).
        source: a :class:`Source` (a plain string is read as the document alone).
        kind: one of :data:`CLAIM_KINDS`.
        checkable_here: ``None`` (the default) derives it from the row (see
            :meth:`Row.checkable`); ``True``, or the reason it cannot be checked on this machine.
        note: what a reader should know about the number (architecture caveats, epochs ...).

    Raises:
        ValueError: an unknown ``kind``.
    """

    value: float
    source: Source | str
    kind: str = "top1"
    checkable_here: bool | str | None = None
    note: str = ""

    def __post_init__(self) -> None:
        if self.kind not in CLAIM_KINDS:
            raise ValueError(f"claim kind {self.kind!r} is not one of {CLAIM_KINDS}")
        if isinstance(self.source, str):
            object.__setattr__(self, "source", Source(self.source))


@dataclass(frozen=True)
class Row:
    """One table row (or one arm of it) as data.

    ``recipes[profile]`` is the full set of config fields for that profile; ``seeds[profile]`` the
    seeds a table aggregates; ``unavailable[profile]`` says why a profile cannot run here.
    ``reference`` is the row this one's Δ is paired against in its table (e.g. the baseline of a
    distilled arm); ``claims`` every number the sources publish for this row.
    """

    id: str
    paper: str
    table: str
    label: str
    arm: str
    recipes: dict[str, dict[str, Any]]
    seeds: dict[str, tuple[int, ...]]
    claims: tuple[Claim, ...] = ()
    teacher_row: str | None = None
    reference: str | None = None
    unavailable: dict[str, str] = field(default_factory=dict)

    def profiles(self) -> tuple[str, ...]:
        return tuple(p for p in PROFILES if p in self.recipes)

    @property
    def claim(self) -> Claim | None:
        """The headline claim: the first top-1 claim, or None."""
        return next((c for c in self.claims if c.kind == "top1"), None)

    def runnable_here(self) -> tuple[str, ...]:
        """The profiles with a recipe that this machine's data and hardware can run (no
        ``unavailable`` reason; ``smoke`` excluded: it measures nothing)."""
        return tuple(p for p in self.profiles() if p != "smoke" and p not in self.unavailable)

    def checkable(self, claim: Claim) -> bool | str:
        """Whether ``claim`` can be measured here: its own ``checkable_here`` if set, else True
        when the row has a runnable profile, else the row's reason for its ``paper`` profile."""
        if claim.checkable_here is not None:
            return claim.checkable_here
        if self.runnable_here():
            return True
        return self.unavailable.get("paper", "no recipe that runs here")


_REGISTRY: dict[str, Row] = {}


def register(row: Row) -> Row:
    """Add ``row`` to the registry (a test checks that every teacher and reference row exists).

    Raises:
        ValueError: a duplicate id.
    """
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
        raise KeyError(f"unknown row {row_id!r}{suggest(row_id)} (`replicate list` shows every "
                       f"row)") from None


def rows(paper: str | None = None, table: str | None = None, arm: str | None = None) -> list[Row]:
    """Registered rows, in registration order, filtered by paper, table and arm."""
    return [r for r in _REGISTRY.values() if (paper is None or r.paper == paper)
            and (table is None or r.table == table) and (arm is None or r.arm == arm)]


def papers() -> tuple[str, ...]:
    """The papers with registered rows, in registration order."""
    return tuple(dict.fromkeys(r.paper for r in _REGISTRY.values()))


def tables(paper: str) -> tuple[str, ...]:
    """The tables of ``paper``, in registration order."""
    return tuple(dict.fromkeys(r.table for r in rows(paper)))


def suggest(row_id: str) -> str:
    """``"; did you mean a or b?"`` for the closest registered ids (empty if none is close)."""
    import difflib
    close = difflib.get_close_matches(row_id, list(_REGISTRY), n=3, cutoff=0.6)
    return f"; did you mean {' or '.join(close)}?" if close else ""


def config_for(row_id: str, profile: str, seed: int | None = None, /, **runtime: Any) -> Config:
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
    fixed = sorted(set(runtime) & {"row", "profile", "seed", "teacher_row", "teacher_hash"})
    if fixed:
        raise TypeError(f"{', '.join(fixed)} cannot be overridden: choose the row, profile and seed "
                        f"themselves (replicate run ROW --profile P --seed S); the teacher follows the row")
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
from . import bkdsnn, bkdsnn_c100, bkdsnn_in1k, cml, esd, logitkd, ratebp  # noqa: E402,F401
