"""BKDSNN's ImageNet path end to end on the real ImageNet sample (one image per class): the
registered SEW-ResNet-18 and CML + Spikingformer-8-384 distillation rows at their real size and
T = 4, 2 steps at batch 2 and a 4-image evaluation, with random-weight teachers given as
``teacher_checkpoint``: torchvision's ResNet-18 (the paper's), and ViT-Ti/16, the architecture of
the smoke teacher row (the paper's ViT-B/16 takes the same code path, 768-d instead of 192-d)."""
from __future__ import annotations

import math

import pytest
import timm
import torch

from replicate.experiments import config_for
from replicate.train import run

TINY = dict(train_subset=4, batch_size=2, curve_test_subset=4, final_test_subset=4, epochs=1,
            T=4, progress=False)


def _random_teacher(tmp_path, name: str) -> str:
    path = tmp_path / f"{name}.pt"
    torch.save(timm.create_model(name, pretrained=False, num_classes=1000).state_dict(), path)
    return str(path)


@pytest.mark.slow
@pytest.mark.parametrize("row, teacher, real", [
    ("bkdsnn-in1k-sew18-mixed", "resnet18.tv_in1k", {}),
    ("bkdsnn-in1k-8-384-mixed", "vit_tiny_patch16_224",
     {"embed_dim": 384, "depth": 8, "num_heads": 8}),
])
def test_imagenet_distillation_row_trains_and_evaluates(sample_root, tmp_path, row, teacher, real):
    paper = config_for(row, "paper")
    cfg = config_for(row, "smoke", 0, data_root=str(sample_root), out_dir=str(tmp_path),
                     teacher_checkpoint=_random_teacher(tmp_path, teacher), **real, **TINY)
    for field in ("model", "distill", "bkd_mask_ratio", "bkd_alpha", "kd_temperature", "recipe",
                  "embed_dim", "depth", "num_heads"):
        assert getattr(cfg, field) == getattr(paper, field), field  # the real architecture
    rec = run(cfg)
    m = rec["metrics"]
    assert m["final_test_size"] == 4 and len(m["prefix_top1"]) == 4 and m["distill_params"] > 0
    assert rec["data"]["train_size"] == 4 and rec["data"]["shape_checked"] is False
    (epoch,) = rec["curves"]
    assert math.isfinite(epoch["train_loss"]) and epoch["train_bkd"] > 0 and epoch["train_wsld"] >= 0
