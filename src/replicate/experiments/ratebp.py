"""Rate-based backpropagation (Yu, Liu, Wang, Li, Wang, NeurIPS 2024, arXiv 2410.11488; paper "R").

R is the training engine inside the NeurIPS 2025 self-distillation paper (``esd``), but its own
numbers are its own: they live here, not on that paper's rows. Recipes from R's released code
(github.com/Tab-ct/rate-based-backpropagation @ 3c70ee9: the README's "Rate-BP with multi-step"
commands, experiment/{cifar,dvs,imagenet}/config/config.py, main() of experiment/cifar/main.py):
λ = 0.2 (τ = 1.25), soft reset with a detached reset, SGD 0.1 (ImageNet 0.2), wd 5e-4 (2e-5),
batch 128 (512), cosine, 300 (100) epochs, AutoAugment + Cutout on CIFAR; the loss gradient ÷ T
(``CustomEvaluator``). The CIFAR recipe is B's (its docstring in :mod:`.esd` lists the shared
settings) at the README's T = 4; R's seed defaults to None, so seed 0 is ours.

Claims (spec-logitkd-selfdistill §3.6): the four best numbers of an aggregator page (S5), which
names neither the architecture nor T of any of them. Each sits on the row of R's README command
for its dataset, and its note says S5 does not name one. R's cost claims (memory and time against
BPTT, §3.5) have no retrieved numbers; :mod:`replicate.bench` measures them.
"""
from __future__ import annotations

from . import Claim, Row, Source, register
from .esd import C10, DVS, IN1K
from .logitkd import C100_DATA, IN1K_SMOKE, NO_C100, NO_DVS, NO_IMAGENET, SMOKE_C100, SMOKE_RUN

PAPER = "ratebp"
S5 = "S5: an aggregator page of arXiv 2410.11488 (wizwand.com; the book's Sources page says what it is)"
NOT_NAMED = "S5 names no architecture and no T; the row is R's README command"
#: Why no run checks an S5 number: the source does not say which model and T produced it.
UNNAMED = ("S5 names neither the architecture nor T of this number, so no run of one model can "
           "check it; the row runs R's README command for the dataset")
RATE_BP = dict(train_step="rate_bp")
NO_VGG = ("S5 names no architecture; R's README trains vggsnn_dvs on its CIFAR10_DVS_Aug frames, "
          "neither of which is built here: this row's ResNet-18 is a stand-in, so its run would not "
          "check this number")


def s5(dataset: str) -> Source:
    """S5 (spec-logitkd-selfdistill §0.3) at its best result for ``dataset``."""
    return Source(S5, f"best {dataset} result")


# CIFAR: `main.py --dataset CIFAR10|CIFAR100 --arch resnet18 --T 4 --step_mode m --rate_flag`.
CIFAR = {**C10, **RATE_BP, "T": 4, "width": 64}
register(Row(
    id="ratebp-c10-r18", paper=PAPER, table="NeurIPS 2024 (CIFAR-10)", label="spiking ResNet-18, T=4",
    arm="rate-bp", claims=(Claim(96.26, s5("CIFAR-10"), checkable_here=UNNAMED,
                                 note=f"{NOT_NAMED} (resnet18, T = 4)"),),
    recipes={"paper": CIFAR, "smoke": {**CIFAR, **SMOKE_RUN}},
    seeds={"paper": (0,), "smoke": (0,)},
))
register(Row(
    id="ratebp-c100-r18", paper=PAPER, table="NeurIPS 2024 (CIFAR-100)", label="spiking ResNet-18, T=4",
    arm="rate-bp", claims=(Claim(80.71, s5("CIFAR-100"), checkable_here=UNNAMED,
                                 note=f"{NOT_NAMED} (resnet18, T = 4)"),),
    recipes={"paper": {**CIFAR, **C100_DATA}, "smoke": {**CIFAR, **SMOKE_C100}},
    seeds={"paper": (0,), "smoke": (0,)}, unavailable={"paper": NO_C100},
))
# ImageNet: the README command trains sew_resnet34, whose R neuron (LIF, λ = 0.2) is not built here
# (replicate's sew_resnet34 is spikingjelly's IF model); preact_resnet34, R's other ImageNet option,
# with B's ImageNet recipe (the same settings as R's experiment/imagenet/config/config.py).
register(Row(
    id="ratebp-in1k-pr34", paper=PAPER, table="NeurIPS 2024 (ImageNet)",
    label="spiking preact-ResNet-34, T=4", arm="rate-bp",
    claims=(Claim(70.01, s5("ImageNet"), checkable_here=UNNAMED, note="S5 names no architecture and no T; R's README command "
                                                "trains sew_resnet34 at T = 4, this row preact_resnet34"),),
    recipes={"paper": {**IN1K, **RATE_BP}, "smoke": {**IN1K, **RATE_BP, **IN1K_SMOKE}},
    seeds={"paper": (0,), "smoke": (0,)}, unavailable={"paper": NO_IMAGENET},
))
# CIFAR10-DVS: experiment/dvs/config/config.py (T = 10, batch 128, lr 0.1, wd 5e-4, 300 epochs, no
# AutoAugment or Cutout) on the shared cifar10_dvs loader (R's loader: flip + roll ±5 px on
# pre-built 48×48 frames) with B's DVS ResNet-18 as a stand-in for vggsnn_dvs.
DVS_R = {k: v for k, v in DVS.items() if not k.startswith("esd_") and k != "distill"}
DVS_R = {**DVS_R, **RATE_BP, "batch_size": 128}
register(Row(
    id="ratebp-dvs-r18", paper=PAPER, table="NeurIPS 2024 (CIFAR10-DVS)",
    label="spiking ResNet-18 (stand-in for vggsnn_dvs), T=10", arm="rate-bp",
    claims=(Claim(76.96, s5("CIFAR10-DVS"), checkable_here=NO_VGG, note=NO_VGG),),
    recipes={"paper": DVS_R, "smoke": {**DVS_R, **SMOKE_RUN, "autoaugment": None}},
    seeds={"paper": (0,), "smoke": (0,)}, unavailable={"paper": NO_DVS},
))
