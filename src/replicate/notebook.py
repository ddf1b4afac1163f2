"""What ``notebooks/train.ipynb`` calls: its parameters turned into a config, and its figure and
comparison table. The notebook stays a few calls; everything here is tested.

Papermill injects parameters as plain assignments after the notebook's ``parameters`` cell, so
the notebook takes a snapshot of its namespace before that cell (:func:`snapshot`) and reads back
every name assigned since (:func:`parameters`). ``row``, ``profile`` and ``seed`` pick the
registered recipe; every other name must be a :class:`~replicate.config.Config` field and becomes
a recorded override (or a runtime setting such as ``device``), e.g.::

    papermill notebooks/train.ipynb out/lr.ipynb -p row bkdsnn-c10-2-384-mixed -p profile cpu -p lr 0.05
"""
from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from .config import Config, config_fields

REPO = Path(__file__).resolve().parents[2]
#: The notebook's own parameters (its ``parameters`` cell); everything else is a Config field.
NOTEBOOK_PARAMETERS = ("row", "profile", "seed", "data_root", "out_dir", "progress", "force")


class ParameterError(ValueError):
    """A notebook parameter that is not a config field, or a value of the wrong type.

    Shown by IPython (and so by papermill) as its one-line message, without a traceback.
    """

    def _render_traceback_(self) -> list[str]:  # IPython's hook for custom tracebacks
        return [f"ParameterError: {self}"]



def default_out_dir() -> Path:
    """``<repository>/out`` (git-ignored) for an editable install, else ``./out``: interactive runs
    never write into ``notebooks/``."""
    return REPO / "out" if (REPO / "pyproject.toml").is_file() else Path.cwd() / "out"


def snapshot(namespace: Mapping[str, Any]) -> frozenset[str]:
    """The names defined in ``namespace`` before the parameters cell."""
    return frozenset(namespace)


def parameters(namespace: Mapping[str, Any], before: frozenset[str]) -> dict[str, Any]:
    """Every public name assigned since :func:`snapshot` (the parameters cell and papermill's
    injected cell), with its value."""
    return {k: v for k, v in namespace.items() if k not in before and not k.startswith("_")}


def config_from_parameters(params: Mapping[str, Any]) -> Config:
    """The registered config of ``params['row']`` at its profile and seed, with every other
    parameter applied as a config field (``out_dir=None``: :func:`default_out_dir`).

    Raises:
        ParameterError: an unknown parameter name (the closest field names suggested) or a value
            of the wrong type; one line, before any compute.
        KeyError: an unknown row. ValueError: a row without that profile, an impossible value.
    """
    from .experiments import config_for

    params = dict(params)
    row, profile, seed = params.pop("row"), params.pop("profile"), params.pop("seed", None)
    params.pop("force", None)  # a run option (``run(cfg, force=...)``), not a config field
    known = set(config_fields())
    for name in params:
        if name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=3)
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            raise ParameterError(f"unknown parameter {name!r}{hint} (`replicate show {row}` lists "
                                 f"every config field)")
    if params.get("out_dir") is None:
        params["out_dir"] = str(default_out_dir())
    try:
        return config_for(row, profile, seed, **params)
    except TypeError as e:
        raise ParameterError(str(e)) from None


def learning_curve(record: dict):
    """Figure: curve top-1 (%) and mean train loss per epoch of one record."""
    import matplotlib.pyplot as plt

    c = pd.DataFrame(record["curves"])
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.2))
    ax1.plot(c.epoch, c.curve_top1, marker="o")
    ax1.set(xlabel="epoch", ylabel="top-1 (%)",
            title=f"curve top-1 ({record['metrics']['curve_test_size']} test images)")
    ax2.plot(c.epoch, c.train_loss, marker="o")
    ax2.set(xlabel="epoch", ylabel="loss", title="mean train loss")
    fig.suptitle(f"{record['row']} · {record['profile']} · seed {record['seed']}")
    fig.tight_layout()
    return fig


def beside_registered(record: dict, results: str | Path | None = None) -> pd.DataFrame:
    """This run's top-1 beside the committed records of the same row and profile (current ones
    only, mean ± std over seeds) and the paper's claim with its source."""
    from .experiments import get_row
    from .results import format_pm, load_records, summarize

    root = Path(results) if results is not None else REPO / "results"
    df = load_records(root) if (root / "records").is_dir() else pd.DataFrame(columns=["row"])
    same = df[(df.row == record["row"]) & (df.profile == record["profile"])] if len(df) else df
    cur = same[same.current] if len(same) else same
    claim = get_row(record["row"]).claim
    lines = [
        {"what": "this run", "top-1 (%)": f"{record['metrics']['top1']:.2f}",
         "profile": record["profile"], "source": f"seed {record['seed']}, hash {record['config_hash']}"},
        {"what": "registered records", "top-1 (%)": format_pm(summarize(cur.top1)) if len(cur) else "—",
         "profile": record["profile"], "source": f"{root}/records/{record['row']}/{record['profile']}/"},
        {"what": "paper", "top-1 (%)": f"{claim.value:.2f}" if claim else "—",
         "profile": "paper", "source": claim.source if claim else "no published number"},
    ]
    return pd.DataFrame(lines).set_index("what")
