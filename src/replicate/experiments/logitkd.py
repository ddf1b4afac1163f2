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
Rows: CIFAR-10 (paper, cpu, smoke; the three headline arms, the α/β ablation arms, the
paper's ``ensemble`` self-teacher and the full method trained at T = 2), the CIFAR-100 ablation
(paper), S1's ResNet-19 main results on CIFAR-10 and CIFAR-100 at T = 6 / 4 / 2 and its
CIFAR-100 full-range table (paper), ImageNet preact-ResNet-34 with a timm ResNet-34 hub teacher
(paper) and CIFAR10-DVS (paper).

Every S1 number (spec-logitkd-selfdistill §2.7: 9 main results, 5 ablation cells, 18 full-range
cells) sits on a row of the architecture and T that S1 names beside it; where S1 names none (the
ablation) the claim's note says so. A full-range claim's locator ends in ``column T'=k``
(:func:`t_prime`): top-1 of the mean of the first k timesteps, the record's
``metrics.prefix_top1[k - 1]``. :data:`TRAINED_VS_DEPLOYED` pairs each model trained at a small T
with the model trained at a larger T whose prefix at that budget it is compared with (S1, "Key
findings" 1: the T = 6 model at T' = 2 beats the model trained at T = 2; a sign, no number).
"""
from __future__ import annotations

import re

from . import Claim, Row, Source, register

PAPER = "logitkd"
S1 = ("S1: a third-party summary of arXiv 2501.15925 (unverified; the book's Sources page "
      "says what it is)")
MAIN, ABL, FULL_RANGE_TABLE = "main results table", "ablation table (CIFAR-100, T=6)", "full-range table"


def s1(locator: str) -> Source:
    """S1 (spec-logitkd-selfdistill §0.3, §2.7) at ``locator``: the table, row and column."""
    return Source(S1, locator)


def t_prime(claim: Claim) -> int | None:
    """The deployment budget T' of a full-range claim (its locator ends in ``column T'=k``), else
    None: the claim is top-1 at the row's own T."""
    m = re.search(r"column T'=(\d+)$", claim.source.locator if isinstance(claim.source, Source) else "")
    return int(m.group(1)) if m else None

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
        recipes={
            "paper": {**PAPER_RECIPE, **NEURON, **fields, "model": "spiking_resnet18_cifar", "width": 64},
            "cpu": {**PAPER_RECIPE, **NEURON, **fields, **CPU_RUN, "model": "spiking_resnet18_cifar"},
            "smoke": {**PAPER_RECIPE, **NEURON, **fields, **SMOKE_RUN, "model": "spiking_resnet18_cifar"},
        },
        seeds={"paper": (60,), "cpu": (0, 1, 2), "smoke": (0,)}, teacher_row=teacher,
    ))

# CIFAR-100 ablation (S1, T=6; S1 names no architecture: the rows are A's README student, a
# ResNet-18 with its ANN ResNet-34 teacher): claims and paper recipes only. arm -> (fields, S1's
# number, S1's row label).
C100 = {"standard-kd": (ARMS["standard-kd"], 79.07, "Standard L_SCE + L_SKL"),
        "twce": (ARMS["twce"], 79.26, "L_TWCE only"),
        "twce-twkl": ({**ARMS["full"], "twsd_beta": 0.0}, 79.56, "+ L_TWKL"),
        "twce-twsd": ({**ARMS["full"], "twkl_alpha": 0.0}, 79.63, "+ L_TWSD"),
        "full": (ARMS["full"], 79.80, "+ L_TWKL & L_TWSD")}
ABL_NOTE = ("S1 names no architecture for its ablation (T = 6); the row's ResNet-18 is A's README "
            "student, not S1's label")
ABL_EXTRA = {"standard-kd": "; S1 prints the same 79.07 for standard KD at T' = 6 in its ResNet-19 "
                            "full-range table, where the full method has 82.56, not 79.80",
             "twce-twkl": "; printed twice (also as 'Fully decoupled L_TWCE + L_TWKL')"}
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
for arm, (fields, value, s1_row) in C100.items():
    register(Row(
        id=f"logitkd-c100-r18-{arm}", paper=PAPER, table="ICML 2025 ablation (CIFAR-100)",
        label="spiking ResNet-18, T=6", arm=arm,
        claims=(Claim(value, s1(f"{ABL}, row '{s1_row}'"), note=ABL_NOTE + ABL_EXTRA.get(arm, "")),),
        recipes={"paper": {**PAPER_RECIPE, **NEURON, **fields, **C100_DATA,
                           "model": "spiking_resnet18_cifar", "width": 64},
                 "smoke": {**PAPER_RECIPE, **NEURON, **fields, **SMOKE_C100, "model": "spiking_resnet18_cifar"}},
        seeds={"paper": (60,), "smoke": (0,)}, unavailable={"paper": NO_C100},
        teacher_row="logitkd-c100-teacher" if fields.get("twkl_alpha", 1) or fields["distill"] == "standard_kd" else None,
    ))


def _student(row_id: str, table: str, label: str, arm: str, recipes: dict[str, dict],
             teacher: str, claims: tuple[Claim, ...] = (), unavailable: str | None = None) -> None:
    """Register one distilled student of A: ``recipes`` by profile (seeds: A's 60 at ``paper``,
    0, 1, 2 at ``cpu``, 0 at ``smoke``); ``unavailable`` is the ``paper`` profile's reason."""
    seeds = {"paper": (60,), "cpu": (0, 1, 2), "smoke": (0,)}
    register(Row(id=row_id, paper=PAPER, table=table, label=label, arm=arm, claims=claims,
                 recipes=recipes, seeds={p: seeds[p] for p in recipes}, teacher_row=teacher,
                 unavailable={"paper": unavailable} if unavailable else {}))


# The full method trained at T = 2 on CIFAR-10 (cpu): S1's "Key findings" 1 says the T = 6 model
# deployed at T' = 2 beats a model trained at T = 2; logitkd-c10-r18-full (T = 6) is the other side,
# through its prefix top-1 at T' = 2 (TRAINED_VS_DEPLOYED).
# Beside it, the full method trained at T = 4 (compared at T' = 4) and standard KD trained at T = 2
# (does the full loss help a model trained and deployed at T = 2?).
SMALL_T = "ICML 2025 trained at smaller T (CIFAR-10)"
for _arm, _t, _fields in (("full-t2", 2, ARMS["full"]), ("full-t4", 4, ARMS["full"]),
                          ("standard-kd-t2", 2, ARMS["standard-kd"])):
    _r = {**PAPER_RECIPE, **NEURON, **_fields, "model": "spiking_resnet18_cifar", "T": _t}
    _student(f"logitkd-c10-r18-{_arm}", SMALL_T, f"spiking ResNet-18, T={_t}", _arm,
             {"paper": {**_r, "width": 64}, "cpu": {**_r, **CPU_RUN}, "smoke": {**_r, **SMOKE_RUN}},
             "logitkd-c10-teacher")

# S1's main results on CIFAR-10 and CIFAR-100 ("ResNet-19", T = 6 / 4 / 2) and its full-range table
# ("ResNet-19, CIFAR-100": top-1 at inference T' = 1..6 of the full method trained at T = 6 and at
# T = 4, and of standard KD trained at T = 6). A's code trains its resnet19 with the CIFAR recipe
# above (only --stu_arch changes; the README commands say resnet18) and the ANN ResNet-34 teacher.
MAIN_R19 = {("c10", 6): 97.00, ("c10", 4): 96.97, ("c10", 2): 96.65,
            ("c100", 6): 82.56, ("c100", 4): 82.47, ("c100", 2): 81.47}
#: S1's full-range table: (arm, trained T) -> top-1 at T' = 1..6 (spec-logitkd-selfdistill §2.7).
FULL_RANGE = {("full", 6): (79.87, 81.72, 82.29, 82.50, 82.55, 82.56),
              ("full", 4): (79.40, 81.58, 82.14, 82.47, 82.39, 82.49),
              ("standard-kd", 6): (71.08, 76.25, 77.52, 78.25, 78.63, 79.07)}
DATASETS = {"c10": ("CIFAR-10", {}, None), "c100": ("CIFAR-100", C100_DATA, NO_C100)}


def _r19_claims(ds: str, arm: str, t: int) -> tuple[Claim, ...]:
    """S1's main-results cell and full-range row (if any) of the ResNet-19 ``arm`` trained at ``t``."""
    name, _, no_data = DATASETS[ds]
    out = []
    if arm == "full":
        out.append(Claim(MAIN_R19[ds, t], s1(f"{MAIN}, row {name} / ResNet-19 / T={t}, column Ours"),
                     note=f"S1: ResNet-19, T = {t}"))
    who = "Ours" if arm == "full" else "Standard KD"
    for k, v in enumerate(FULL_RANGE.get((arm, t), ()) if ds == "c100" else (), start=1):
        longer = k > t  # a T = 4 model run for 5 or 6 steps: not a prefix of its own T-step run
        out.append(Claim(
            v, s1(f"{FULL_RANGE_TABLE} (ResNet-19, CIFAR-100), row '{who} (Training T={t})', column T'={k}"),
            note=f"T' = {k} of the model trained at T = {t}" + ("; S1's standard-KD 79.07 again" if v == 79.07 else ""),
            checkable_here=(f"T' > T needs an evaluation run at T = {k} (records score T' <= T only); "
                            f"{no_data}") if longer else None))
    if arm != "full":  # no main-results cell: the headline (first) claim is the one at T' = T
        out.sort(key=lambda c: t_prime(c) != t)
    return tuple(out)


for ds, (name, data, no_data) in DATASETS.items():
    teacher = "logitkd-c10-teacher" if ds == "c10" else "logitkd-c100-teacher"
    smoke = SMOKE_RUN if ds == "c10" else SMOKE_C100
    for arm, t in (("full", 6), ("full", 4), ("full", 2), ("standard-kd", 6)):
        if ds == "c10" and arm == "standard-kd":
            continue  # S1 has no CIFAR-10 standard-KD ResNet-19 number
        base = {**PAPER_RECIPE, **NEURON, **ARMS[arm], **data, "model": "spiking_resnet19_cifar"}
        _student(f"logitkd-{ds}-r19-{arm}" + (f"-t{t}" if t != 6 else ""),
                 f"ICML 2025 ResNet-19 ({name})", f"spiking ResNet-19, T={t}",
                 arm + (f"-t{t}" if t != 6 else ""),
                 {"paper": {**base, "width": 64, "T": t}, "smoke": {**base, **smoke}}, teacher,
                 _r19_claims(ds, arm, t), no_data)

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
    claims=(Claim(71.04, s1(f"{MAIN}, row ImageNet / ResNet-34 / T=4, column Ours"),
                  note="S1: ResNet-34, T = 4; A's README student is preact_resnet34"),),
    recipes={"paper": IN1K_FULL, "smoke": {**IN1K_FULL, **IN1K_SMOKE}},
    seeds={"paper": (60,), "smoke": (0,)}, teacher_row="logitkd-in1k-teacher", unavailable={"paper": NO_IMAGENET},
))
# The same trained at T = 2: the ImageNet side of "deployed at T' = 2 vs trained at T = 2".
_student("logitkd-in1k-pr34-full-t2", "ICML 2025 (ImageNet)", "spiking preact-ResNet-34, T=2",
         "full-t2", {"paper": {**IN1K_FULL, "T": 2}, "smoke": {**IN1K_FULL, **IN1K_SMOKE}},
         "logitkd-in1k-teacher", unavailable=NO_IMAGENET)

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
# S1 labels its DVS numbers "ResNet-18", A's README trains resnet19: the README's student holds
# no claim; S1's numbers sit on ResNet-18 students (2 input channels) with the README's recipe
# and ANN ResNet-19 teacher.
DVS_STUDENTS = {"r19": ("spiking_resnet19_cifar", "ResNet-19", None),
                "r18": ("spiking_resnet18_cifar", "ResNet-18", "CIFAR10-DVS / ResNet-18")}
for key, (model, arch, s1_row) in DVS_STUDENTS.items():
    for suffix, t, value, note in (("", 10, 86.40, "T = 10, the loader's frame count"),
                                   ("-t4", 4, 83.50, "T = 4: truncated or re-binned stream, unknown")):
        claims = (Claim(value, s1(f"{MAIN}, row {s1_row} / T={t}, column Ours"),
                        note=f"S1: ResNet-18, {note}; A's README trains resnet19"),) if s1_row else ()
        dvs = {**DVS_RECIPE, **NEURON, **ARMS["full"], "model": model}
        _student(f"logitkd-dvs-{key}-full{suffix}", "ICML 2025 (CIFAR10-DVS)", f"spiking {arch}, T={t}",
                 "full" + suffix + ("" if key == "r19" else "-r18"),
                 {"paper": {**dvs, "T": t, "width": 64}, "smoke": {**dvs, **SMOKE_RUN, "autoaugment": None}},
                 "logitkd-dvs-teacher", claims, NO_DVS)

#: Each model trained at a small T -> (the model trained at a larger T, the budget T' at which the
#: larger one's prefix top-1 is compared with it): S1's "Key findings" 1 (spec §6, claim 4).
TRAINED_VS_DEPLOYED = {
    "logitkd-c10-r18-full-t2": ("logitkd-c10-r18-full", 2),
    "logitkd-c10-r18-full-t4": ("logitkd-c10-r18-full", 4),
    "logitkd-c10-r19-full-t4": ("logitkd-c10-r19-full", 4),
    "logitkd-c10-r19-full-t2": ("logitkd-c10-r19-full", 2),
    "logitkd-c100-r19-full-t4": ("logitkd-c100-r19-full", 4),
    "logitkd-c100-r19-full-t2": ("logitkd-c100-r19-full", 2),
    "logitkd-in1k-pr34-full-t2": ("logitkd-in1k-pr34-full", 2),
    "logitkd-dvs-r19-full-t4": ("logitkd-dvs-r19-full", 4),
    "logitkd-dvs-r18-full-t4": ("logitkd-dvs-r18-full", 4),
}
