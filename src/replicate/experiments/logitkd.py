"""Temporally decoupled logit KD (Yu et al., ICML 2025, arXiv 2501.15925): L = TWCE + β·TWSD + α·TWKL.

Recipes from the released code
(github.com/Intelli-Chip-Lab/snn_temporal_decoupling_distillation @ e3f5fd4: readme.md commands,
experiment/{cifar,dvs,imagenet}/config/config.py, main() and train() of experiment/*/main.py,
model/layer.py kd_loss() and make_teacher(), util/misc.py split_params(), util/data.py
load_dataset()). The paper's tables could not be read (we had only its abstract and
introduction): every claim here comes from a third-party summary ("S1", an unattributed
"[Paper Note]" of arXiv 2501.15925, unverified; its architecture labels may be wrong, since it
puts the same standard-KD 79.07 beside a full-method 79.80 in its ablation and beside 82.56 in
its full-range table) and says so in its source.
Rows: CIFAR-10 (paper, cpu, smoke; the three headline arms, the α/β ablation arms and the
paper's ``ensemble`` self-teacher), the CIFAR-100 ablation (paper), ImageNet preact-ResNet-34 with
a timm ResNet-34 hub teacher (paper) and CIFAR10-DVS (paper; no loader here yet).
"""
from __future__ import annotations

from . import Claim, Row, register

PAPER = "logitkd"
S1 = "S1: third-party summary of arXiv 2501.15925 (unverified; spec-logitkd §2.7)"

NEURON = dict(T=6, lif_decay=0.5, lif_decay_input=False, lif_v_reset=0.0, lif_detach_reset=False,
              surrogate="sigmoid", surrogate_alpha=4.0)
PAPER_RECIPE = dict(
    dataset="cifar10", recipe="logitkd_cifar", batch_size=128, optimizer="sgd", lr=0.1,
    momentum=0.9, weight_decay=5e-4, warmup_frac=0.0, min_lr=0.0, warmup_lr=0.0, cooldown_epochs=0,
    label_smoothing=0.0, mixup_alpha=0.0, randaugment=None, random_erasing=0.0, hflip=0.5,
    crop_padding=4, autoaugment=True, cutout=16, epochs=300, curve_test_subset=10000,
    device="cuda", kd_temperature=3.0)
SMOKE_RUN = dict(train_subset=320, epochs=2, curve_test_subset=100, final_test_subset=200,
                 device="cpu", batch_size=32, autoaugment=False, width=4, T=2)
# cpu: sized on the 2-core machine (spiking ResNet-18 width 8, T=6: ~130 img/s train, ~250 img/s
# eval at batch 64): 3,000 class-balanced images x 4 epochs, a 1,000-image curve subset, the full
# test set at the end; ~3 min per student run, 9 runs + teacher in about half an hour.
CPU_RUN = dict(train_subset=3000, epochs=4, curve_test_subset=1000, device="cpu", batch_size=64,
               width=8)
# The three arms of the headline comparison (the L_SCE + L_SKL, L_TWCE and full rows of paper A's
# loss ablation, arXiv 2501.15925, as S1 reports it): name -> distillation fields.
ARMS = {
    "twce": dict(distill="temporal", twkl_alpha=0.0, twsd_beta=0.0, self_teacher="correct_only"),
    "standard-kd": dict(distill="standard_kd", kd_weight=0.2),
    "full": dict(distill="temporal", twkl_alpha=0.2, twsd_beta=0.5, self_teacher="correct_only"),
}
# The α/β ablation on CIFAR-10 (each KD term alone) and the paper's "ensemble" self-teacher
# (arXiv 2501.15925 as third-party summaries describe it; the code's is make_teacher() in
# model/layer.py @ e3f5fd4):
# run at cpu like the headline arms, so the ablation ordering of S1 can be checked here.
ABLATION = {
    "twce-twkl": {**ARMS["full"], "twsd_beta": 0.0},
    "twce-twsd": {**ARMS["full"], "twkl_alpha": 0.0},
    "full-ensemble": {**ARMS["full"], "self_teacher": "ensemble"},
}
C10_TABLE, C10_ABLATION = "ICML 2025 (CIFAR-10)", "ICML 2025 ablation (CIFAR-10)"
# The row each arm's Δ is paired against in its table.
REFERENCE = {"twce": "logitkd-c10-r18-standard-kd", "full": "logitkd-c10-r18-standard-kd",
             "twce-twkl": "logitkd-c10-r18-twce", "twce-twsd": "logitkd-c10-r18-twce",
             "full-ensemble": "logitkd-c10-r18-full"}

register(Row(
    id="logitkd-c10-teacher", paper=PAPER, table=C10_TABLE, label="ANN ResNet-34",
    arm="teacher",
    recipes={
        # A's experiment/cifar/ann.py @ e3f5fd4 as it should run (as published it reads
        # args.arch1 and gives --device type=int, so it does not start): SGD 0.1, wd 5e-4 on all
        # parameters, cosine, 300 epochs, batch 128, crop + flip only. timm exempts BN/bias from
        # wd: a listed deviation.
        "paper": {**PAPER_RECIPE, "model": "cifar_resnet34_ann", "width": 64, "autoaugment": False,
                  "cutout": None},
        "cpu": {**PAPER_RECIPE, **CPU_RUN, "model": "cifar_resnet34_ann", "autoaugment": False,
                "cutout": None, "epochs": 10},
        "smoke": {**PAPER_RECIPE, **SMOKE_RUN, "model": "cifar_resnet34_ann", "T": None},
    },
    seeds={"paper": (60,), "cpu": (0,), "smoke": (0,)},
))

for arm, fields in {**ARMS, **ABLATION}.items():
    teacher = "logitkd-c10-teacher" if arm == "standard-kd" or fields["twkl_alpha"] else None
    register(Row(
        id=f"logitkd-c10-r18-{arm}", paper=PAPER, table=C10_TABLE if arm in ARMS else C10_ABLATION,
        label="spiking ResNet-18, T=6", arm=arm, reference=REFERENCE.get(arm),
        claims=(Claim(97.00, S1, note="labelled ResNet-19 in S1"),) if arm == "full" else (),
        recipes={
            "paper": {**PAPER_RECIPE, **NEURON, **fields, "model": "spiking_resnet18_cifar", "width": 64},
            "cpu": {**PAPER_RECIPE, **NEURON, **fields, **CPU_RUN, "model": "spiking_resnet18_cifar"},
            "smoke": {**PAPER_RECIPE, **NEURON, **fields, **SMOKE_RUN, "model": "spiking_resnet18_cifar"},
        },
        seeds={"paper": (60,), "cpu": (0, 1, 2), "smoke": (0,)}, teacher_row=teacher,
    ))

# CIFAR-100 ablation (S1, T=6, probably ResNet-18 / ANN ResNet-34): claims and paper recipes only.
C100 = {"standard-kd": (ARMS["standard-kd"], 79.07), "twce": (ARMS["twce"], 79.26),
        "twce-twkl": ({**ARMS["full"], "twsd_beta": 0.0}, 79.56),
        "twce-twsd": ({**ARMS["full"], "twkl_alpha": 0.0}, 79.63), "full": (ARMS["full"], 79.80)}
NO_C100 = ("no CIFAR-100 copy exists on this machine: only its 20 lossless test images, which the "
           "smoke profile trains on")
C100_DATA = {"dataset": "cifar100", "recipe": "logitkd_cifar100"}  # its own mean/std (util/data.py)
# smoke: the 20 lossless CIFAR-100 test images of the shared data (train = test; never in the book)
SMOKE_C100 = {**SMOKE_RUN, **C100_DATA, "batch_size": 10}
register(Row(
    id="logitkd-c100-teacher", paper=PAPER, table="ICML 2025 ablation (CIFAR-100)",
    label="ANN ResNet-34", arm="teacher",
    recipes={"paper": {**PAPER_RECIPE, **C100_DATA, "model": "cifar_resnet34_ann",
                       "width": 64, "autoaugment": False, "cutout": None},
             "smoke": {**PAPER_RECIPE, **SMOKE_C100, "model": "cifar_resnet34_ann", "T": None,
                       "cutout": None}},
    seeds={"paper": (60,), "smoke": (0,)}, unavailable={"paper": NO_C100},
))
for arm, (fields, value) in C100.items():
    register(Row(
        id=f"logitkd-c100-r18-{arm}", paper=PAPER, table="ICML 2025 ablation (CIFAR-100)",
        label="spiking ResNet-18, T=6", arm=arm, claims=(Claim(value, S1, note="ablation table"),),
        recipes={"paper": {**PAPER_RECIPE, **NEURON, **fields, **C100_DATA,
                           "model": "spiking_resnet18_cifar", "width": 64},
                 "smoke": {**PAPER_RECIPE, **NEURON, **fields, **SMOKE_C100, "model": "spiking_resnet18_cifar"}},
        seeds={"paper": (60,), "smoke": (0,)}, unavailable={"paper": NO_C100},
        teacher_row="logitkd-c100-teacher" if fields.get("twkl_alpha", 1) or fields["distill"] == "standard_kd" else None,
    ))

# ImageNet (A @ e3f5fd4: readme.md command 5, experiment/imagenet/config/config.py; KD
# temperature 1 in experiment/imagenet/main.py train(), l. 59-60; teacher built in main(),
# l. 197-199): preact-ResNet-34 student, T = 4, λ = 0.2, soft reset (not detached),
# SGD 0.2, wd 2e-5, batch 512 global (8 GPUs × 64), 100 epochs, KD temperature 1; the teacher is
# timm's ``resnet34`` with hub weights, used as is (the released code loads an unspecified
# state_dict; pass yours as ``teacher_checkpoint``).
NO_IMAGENET = ("no ImageNet-1k copy exists here (the shared data holds one image per class, which "
               "the smoke profile trains on) and hub weights cannot be downloaded")
# smoke: imagenet-sample (1 image per class, its val/ as train and test; never in the book)
IN1K_SMOKE = dict(train_subset=32, batch_size=16, curve_test_subset=16, final_test_subset=24,
                  epochs=1, width=4, T=2, img_size=128, device="cpu", warmup_frac=0.0, min_lr=0.0)
IMAGENET_RECIPE = {**PAPER_RECIPE, "dataset": "imagenet", "recipe": "imagenet_rrc224", "lr": 0.2,
                   "weight_decay": 2e-5, "batch_size": 512, "epochs": 100, "kd_temperature": 1.0,
                   "crop_padding": None, "autoaugment": None, "cutout": None,
                   "curve_test_subset": 50000}
register(Row(
    id="logitkd-in1k-teacher", paper=PAPER, table="ICML 2025 (ImageNet)", label="timm ResNet-34 (hub)",
    arm="teacher",
    recipes={"paper": {**IMAGENET_RECIPE, "model": "resnet34", "pretrained": True},
             # smoke: no hub weights here, so a small timm ResNet trained from scratch
             "smoke": {**IMAGENET_RECIPE, **IN1K_SMOKE, "model": "resnet18", "pretrained": False,
                       "T": None, "width": None}},
    seeds={"paper": (60,), "smoke": (0,)}, unavailable={"paper": NO_IMAGENET},
))
IN1K_FULL = {**IMAGENET_RECIPE, **ARMS["full"], "model": "spiking_preact_resnet34_imagenet",
             "width": 64, "T": 4, "lif_decay": 0.2, "lif_decay_input": False, "lif_v_reset": None,
             "lif_detach_reset": False, "surrogate": "sigmoid", "surrogate_alpha": 4.0}
register(Row(
    id="logitkd-in1k-pr34-full", paper=PAPER, table="ICML 2025 (ImageNet)",
    label="spiking preact-ResNet-34, T=4", arm="full",
    claims=(Claim(71.04, S1, note="main table"),),
    recipes={"paper": IN1K_FULL, "smoke": {**IN1K_FULL, **IN1K_SMOKE}},
    seeds={"paper": (60,), "smoke": (0,)}, teacher_row="logitkd-in1k-teacher", unavailable={"paper": NO_IMAGENET},
))

# CIFAR10-DVS (A @ e3f5fd4: readme.md command 4, experiment/dvs/config/config.py, and
# butongDVSCifar10() in experiment/dvs/process.py, frames_number=10, l. 427-430): spiking
# ResNet-19 (2 input channels) with an ANN ResNet-19 twin teacher, 10 frames (T = 10 is forced by
# the loader; the README's T = 6 crashes), batch 32, flip + one of {roll, rotate, cutout}. The
# T = 4 number's protocol is unknown: S1 does not say whether the 10-frame stream was truncated or
# re-binned, and no released script evaluates T' ≠ T.
NO_DVS = ("no CIFAR10-DVS copy exists here; the smoke profile trains on frames of the shared data's "
          "real DVS128 recording (events-fixtures.tar)")
DVS_RECIPE = {**PAPER_RECIPE, "dataset": "cifar10_dvs", "recipe": "dvs_nda", "batch_size": 32,
              "in_chans": 2, "crop_padding": None, "autoaugment": None, "cutout": None,
              "curve_test_subset": 1000}
register(Row(
    id="logitkd-dvs-teacher", paper=PAPER, table="ICML 2025 (CIFAR10-DVS)", label="ANN ResNet-19",
    arm="teacher",
    recipes={"paper": {**DVS_RECIPE, "model": "cifar_resnet19_ann", "width": 64},
             "smoke": {**DVS_RECIPE, **SMOKE_RUN, "autoaugment": None, "T": None, "model": "cifar_resnet19_ann"}},
    seeds={"paper": (60,), "smoke": (0,)}, unavailable={"paper": NO_DVS},
))
for suffix, t, value, note in (("", 10, 86.40, "T = 10, the loader's frame count"),
                               ("-t4", 4, 83.50, "T = 4: truncated or re-binned stream, unknown (spec §2.4)")):
    register(Row(
        id=f"logitkd-dvs-r19-full{suffix}", paper=PAPER, table="ICML 2025 (CIFAR10-DVS)",
        label=f"spiking ResNet-19, T={t}", arm="full",
        claims=(Claim(value, S1, note=note + "; S1 says ResNet-18, the README resnet19"),),
        recipes={"paper": {**DVS_RECIPE, **NEURON, **ARMS["full"], "T": t,
                           "model": "spiking_resnet19_cifar", "width": 64},
                 "smoke": {**DVS_RECIPE, **NEURON, **ARMS["full"], **SMOKE_RUN, "autoaugment": None,
                           "model": "spiking_resnet19_cifar"}},
        seeds={"paper": (60,), "smoke": (0,)}, teacher_row="logitkd-dvs-teacher", unavailable={"paper": NO_DVS},
    ))
