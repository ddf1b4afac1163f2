"""Where a number came from: git commit, package versions, device, threads."""
from __future__ import annotations

import importlib.metadata as md
import os
import platform
import subprocess
from pathlib import Path

import torch

PACKAGES = ("torch", "torchvision", "spikingjelly", "timm", "numpy", "pillow", "papermill", "replicate")


def git_state(repo: Path | None = None) -> dict:
    """``{"commit": sha or None, "dirty": bool or None}`` of the checkout holding this package.

    ``dirty``: a tracked file differs from the commit, outside ``results/`` (a batch that retrains
    a teacher replaces its committed record there; that is output, not code)."""
    repo = repo or Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no",
                                     "--", ".", ":(exclude)results"],
                                    cwd=repo, capture_output=True, text=True, check=True).stdout.strip())
        return {"commit": commit, "dirty": dirty}
    except (OSError, subprocess.CalledProcessError):
        # a copy without .git (e.g. a remote GPU box): the launcher may say which commit it is
        return {"commit": os.environ.get("REPLICATE_GIT_COMMIT"), "dirty": None}


def versions() -> dict:
    out = {}
    for p in PACKAGES:
        try:
            out[p] = md.version(p)
        except md.PackageNotFoundError:
            out[p] = None
    return out


def device_info(device: str) -> dict:
    info = {"device": device, "platform": platform.platform(), "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads()}
    if device.startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
        info["cuda"] = torch.version.cuda
    else:  # which CPU LIF ran (same numbers either way) and this process's build/load time
        from . import fused_lif
        info["cpu_lif"] = "fused" if fused_lif.available() else "spikingjelly"
        info["cpu_lif_build_s"] = fused_lif.build_seconds()
    return info


def collect(device: str) -> dict:
    return {"git": git_state(), "packages": versions(), "machine": device_info(device)}
