"""Shared fixtures: the real CIFAR-10 copy, the ImageNet sample and a smoke-trained teacher.

The data location comes from $REPLICATE_DATA (CI and the Makefile set it); a missing dataset
fails the tests that need it with the same one-line message users get.
"""
from __future__ import annotations

import os
import tarfile
from pathlib import Path

import pytest
import torch

torch.set_num_threads(2)


@pytest.fixture(scope="session")
def data_root() -> str:
    root = os.environ.get("REPLICATE_DATA")
    if not root:
        pytest.fail("set REPLICATE_DATA to the folder holding cifar10-jpeg.tar (see README)")
    return root


@pytest.fixture(scope="session")
def smoke_teacher(tmp_path_factory, data_root) -> Path:
    """Weights of the smoke-profile teacher, trained once per test session (~10 s)."""
    from replicate.experiments import config_for
    from replicate.results import checkpoint_dir
    from replicate.train import run

    out = tmp_path_factory.mktemp("teacher")
    cfg = config_for("bkdsnn-c10-teacher", "smoke", data_root=data_root, out_dir=str(out),
                     progress=False)
    run(cfg)
    return checkpoint_dir(out, cfg.hash) / "model.pt"


@pytest.fixture(scope="session")
def sample_root(tmp_path_factory, data_root) -> Path:
    """The folder holding ``imagenet-sample/val/<wnid>/*.JPEG``, extracted from the shared tar."""
    tar = Path(data_root) / "imagenet-sample.tar"
    if not tar.is_file():
        pytest.fail(f"{tar} not found: REPLICATE_DATA must name the shared data folder (see README)")
    out = tmp_path_factory.mktemp("inet")
    with tarfile.open(tar) as t:
        t.extractall(out, filter="data")
    return out
