"""Enhanced self-distillation on rate-based backpropagation (Zhao, Yu et al., NeurIPS 2025,
arXiv 2510.06254). Rate-based BP itself (Yu et al., NeurIPS 2024, arXiv 2410.11488) is its own
paper, ``ratebp`` (:mod:`replicate.experiments.ratebp`), with its own numbers.

Recipes from the released code of B
(github.com/Intelli-Chip-Lab/enhanced-self-distillation-framework-for-snn @ d44e876: readme.md
commands, experiment/cifar/config/config.py, main() and train() of experiment/cifar/main.py,
util/misc.py split_params(), util/data.py load_dataset(), model/resnet.py ResNet.__init__(),
model/layer.py esd_loss(); the neuron and data settings match R's,
github.com/Tab-ct/rate-based-backpropagation @ 3c70ee9, experiment/cifar/config/config.py): the
spiking ResNet-18 with λ = 0.2 (τ = 1.25), soft reset with a detached reset, no input decay; SGD
0.1, wd 5e-4 (conv/linear weights only), batch 128, cosine over 300 epochs without warm-up; crop,
flip, AutoAugment and Cutout; loss ÷ T; branches after layer1–3 with alp = 1.0, β = 0.3, KD
temperature 3 and the fixed AvgPool(4). The paper's own tables could not be read (we had only
its abstract and introduction): B's claims are the two numbers of its committed training logs
(spec-logitkd-selfdistill §4.6: best test epoch; the last epoch is in the note).

Arms of the CIFAR-10 comparison, all on the same model, batch, neuron, loss scale and LR:
``bptt`` (CE on the T-mean logits through BPTT), ``rate-bp`` (the same loss through rate-based
BP) and ``rate-bp-sd`` (rate-based BP + the self-distillation branches); the ablation arms
``rate-bp-sd-beta0.5`` (the β of B's "Table 6" ablation, known only from a reviewer excerpt, S3,
on paperhub.cn/paper/dpmMg6aK1D), ``rate-bp-sd-all`` (every exit in the teacher: the "traditional
self-distillation" that the abstract of arXiv 2510.06254 contrasts B with) and ``rate-bp-branch-ce``
(the branches trained by their CE alone, β = 0: no self-distillation term, so its Δ against
``rate-bp-sd`` is what the reliable KD adds over the branches themselves).
"""
from __future__ import annotations

from . import Claim, Row, Source, register
from .logitkd import (C100_DATA, CPU_RUN, IN1K_SMOKE, NO_C100, NO_DVS, NO_IMAGENET, PAPER_RECIPE,
                      SMOKE_C100, SMOKE_RUN)

PAPER = "esd"
B_REPO = "github.com/Intelli-Chip-Lab/enhanced-self-distillation-framework-for-snn @ d44e876"
#: B's two committed training logs (spec-logitkd-selfdistill §4.6): the best test epoch of each.
LOG_C100 = Source(f"B experiment/cifar/cifar100.log ({B_REPO})", "epoch 296 of 300, best test top-1 (test-selected)")
LOG_IN1K = Source(f"B experiment/imagenet/T4_34_deep100.log ({B_REPO})",
                  "epoch 96 of 100, best test top-1 (test-selected)")

NEURON = dict(T=6, lif_decay=0.2, lif_decay_input=False, lif_v_reset=None, lif_detach_reset=True,
              surrogate="sigmoid", surrogate_alpha=4.0)
SD = dict(distill="esd", esd_alpha=1.0, esd_beta=0.3, esd_pool="avg4", esd_teacher="reliable")
ARMS = {
    "bptt": dict(train_step="bptt"),
    "rate-bp": dict(train_step="rate_bp"),
    "rate-bp-sd": dict(train_step="rate_bp", **SD),
}
ABLATION = {
    "rate-bp-sd-beta0.5": dict(train_step="rate_bp", **{**SD, "esd_beta": 0.5}),
    "rate-bp-sd-all": dict(train_step="rate_bp", **{**SD, "esd_teacher": "all"}),
    # β = 0: the esd distiller's KD term is 0·Σ_e SD_e, so only the branches' CE trains them
    "rate-bp-branch-ce": dict(train_step="rate_bp", **{**SD, "esd_beta": 0.0}),
}
C10 = {**PAPER_RECIPE, **NEURON, "model": "spiking_resnet18_cifar"}
# The row each arm's Δ is paired against in its table.
REFERENCE = {"rate-bp": "esd-c10-r18-bptt", "rate-bp-sd": "esd-c10-r18-rate-bp",
             "rate-bp-sd-beta0.5": "esd-c10-r18-rate-bp-sd", "rate-bp-sd-all": "esd-c10-r18-rate-bp-sd",
             "rate-bp-branch-ce": "esd-c10-r18-rate-bp-sd"}
# gpu: the real ResNet-18 (width 64, T = 6) for 12 epochs on a class-balanced 20k-image subset,
# sized so the three arms fit one lent H100 call (run side by side, ~30 s per epoch each).
GPU_RUN = dict(train_subset=20000, epochs=12, curve_test_subset=2000, device="cuda", width=64)

for arm, fields in {**ARMS, **ABLATION}.items():
    register(Row(
        id=f"esd-c10-r18-{arm}", paper=PAPER,
        table="NeurIPS 2025 (CIFAR-10)" if arm in ARMS else "NeurIPS 2025 ablation (CIFAR-10)",
        label="spiking ResNet-18, T=6", arm=arm, reference=REFERENCE.get(arm),
        recipes={
            "paper": {**C10, **fields, "width": 64},
            "gpu": {**C10, **fields, **GPU_RUN},
            "cpu": {**C10, **fields, **CPU_RUN},
            "smoke": {**C10, **fields, **SMOKE_RUN},
        },
        seeds={"paper": (60,), "gpu": (0, 1, 2), "cpu": (0, 1, 2), "smoke": (0,)},
    ))

# CIFAR-100: the committed log of B; the rate-BP baseline and the branches without KD (paper only).
C100_CLAIMS = {"rate-bp-sd": (Claim(80.20, LOG_C100, note="B's log: resnet18, T = 6, alp 1.0, β 0.3, seed 60; "
                                                       "last epoch 79.54; mean of the last 10: 79.67"),)}
for arm in ("rate-bp", "rate-bp-sd", "rate-bp-branch-ce"):
    fields = {**ARMS, **ABLATION}[arm]
    register(Row(
        id=f"esd-c100-r18-{arm}", paper=PAPER, table="NeurIPS 2025 (CIFAR-100)",
        label="spiking ResNet-18, T=6", arm=arm, claims=C100_CLAIMS.get(arm, ()),
        reference="esd-c100-r18-rate-bp-sd" if arm == "rate-bp-branch-ce" else None,
        recipes={"paper": {**C10, **fields, **C100_DATA, "width": 64},
                 "smoke": {**C10, **fields, **SMOKE_C100}},
        seeds={"paper": (60,), "smoke": (0,)}, unavailable={"paper": NO_C100},
    ))

# ImageNet: preact-ResNet-34, T = 4, SGD 0.2, wd 2e-5, batch 512 global, 100 epochs; the branches
# add StdConvBlocks (≈19.6M parameters, counted from the StdConvBlock/DeepConv branches that
# PreactSpikingResNet.__init__() builds in B's model/preact_resnet.py @ d44e876); alp = 0.7 weighs
# the branches' CE only (B's experiment/imagenet/main.py train(), l. 69).
IN1K = {**PAPER_RECIPE, **NEURON, "T": 4, "dataset": "imagenet", "recipe": "imagenet_rrc224",
        "model": "spiking_preact_resnet34_imagenet", "width": 64, "lr": 0.2, "weight_decay": 2e-5,
        "batch_size": 512, "epochs": 100, "crop_padding": None, "autoaugment": None, "cutout": None,
        "curve_test_subset": 50000}
IN1K_CLAIMS = {"rate-bp-sd": (Claim(70.70, LOG_IN1K, note="B's log: T = 4, alp 0.7, β 0.3; printed 70.704; "
                                                          "last epoch 70.49; the log's args say "
                                                          "preact_resnet18, the file name says 34"),)}
for arm in ("rate-bp", "rate-bp-sd", "rate-bp-branch-ce"):
    fields = {**ARMS, **ABLATION}[arm]
    fields = {**fields, **({"esd_alpha": 0.7} if "distill" in fields else {})}
    register(Row(
        id=f"esd-in1k-pr34-{arm}", paper=PAPER, table="NeurIPS 2025 (ImageNet)",
        label="spiking preact-ResNet-34, T=4", arm=arm, claims=IN1K_CLAIMS.get(arm, ()),
        reference="esd-in1k-pr34-rate-bp-sd" if arm == "rate-bp-branch-ce" else None,
        recipes={"paper": {**IN1K, **fields}, "smoke": {**IN1K, **fields, **IN1K_SMOKE}},
        seeds={"paper": (60,), "smoke": (0,)}, unavailable={"paper": NO_IMAGENET},
    ))

# CIFAR10-DVS: B gives no command and its number could not be retrieved; the released DVS main uses
# β = 0.1 and ignores alp (B @ d44e876: experiment/dvs/main.py train(), l. 56, and the --beta
# default in experiment/dvs/config/config.py). R's DVS number is on a ``ratebp`` row.
DVS = {**C10, **ARMS["rate-bp-sd"], "esd_beta": 0.1, "T": 10, "dataset": "cifar10_dvs",
       "recipe": "dvs_nda", "in_chans": 2, "batch_size": 32, "width": 64, "crop_padding": None,
       "autoaugment": None, "cutout": None, "curve_test_subset": 1000}
for arm, beta in (("rate-bp-sd", 0.1), ("rate-bp-branch-ce", 0.0)):
    dvs = {**DVS, "esd_beta": beta}
    register(Row(
        id=f"esd-dvs-r18-{arm}", paper=PAPER, table="NeurIPS 2025 (CIFAR10-DVS)",
        label="spiking ResNet-18, T=10", arm=arm,
        reference="esd-dvs-r18-rate-bp-sd" if arm == "rate-bp-branch-ce" else None,
        recipes={"paper": dvs, "smoke": {**dvs, **SMOKE_RUN, "autoaugment": None}},
        seeds={"paper": (60,), "smoke": (0,)}, unavailable={"paper": NO_DVS},
    ))
