"""BKDSNN (ECCV 2024) on ImageNet-1K: the README's "Main results on ImageNet-1K" table and the
paper card's two claims. Sources: the README and configs of
github.com/Intelligent-Computing-Research-Group/BKDSNN @ dd6bd53 (``BK``).

* **CML + Spikingformer-8-384/512/768** with a ViT-B/16 teacher (timm
  ``vit_base_patch16_224.augreg_in21k_ft_in1k``, the AugReg in21k→in1k checkpoint the configs name)
  on the student's 224 batch, ImageNet normalisation: BK:Spikingformer-CML/imagenet/config/mixed/
  vit-{s,m,b}-mixed.yml launched by scripts/mixed/run_{s,m,b}.sh on 4 GPUs (global batch 192 /
  136 / 96, lr 5e-4 / 4.208e-4 / 3.5355e-4), over the timm recipe of CML (:data:`.cml.IN1K`).
  The baselines are CML's own runs (8 GPUs × 36 = 288 for 8-384/8-512, 8 × 24 = 192 for 8-768).
* **SEW-ResNet-18/34/50** (:mod:`replicate.models.sew_resnet`, ADD, T = 4) with torchvision's
  ImageNet V1 ResNet of the same depth as teacher (``resnetXX.tv_in1k``), BKD's map variant on
  the layer-4 map (512 / 512 / 2048 channels): BK's README command (4 GPUs × 128, SGD 0.1, wd 0,
  cosine over 320 epochs, AMP, α 7e-5 by default, λ 0.15, τ 2, w 1). The baselines are the SEW
  paper's numbers (Fang et al., NeurIPS 2021): github.com/fangwei123456/Spike-Element-Wise-ResNet
  README, 8 GPUs × 32, SGD 0.1, cosine 320 epochs.

The README's SEW-ResNet-34/50 Top-1 cells repeat the transformer rows' 77.24 / 79.93; their Δs
give the true values, 67.04 + 4.20 = 71.24 and 67.78 + 4.54 = 72.32, which are the numbers the
Teacher column prints for them: the corrected reading is registered, with the printed cell and
the reasoning in the note. Deviations here: no AMP, no cutmix (mixup only, as :mod:`.cml`), the
SEW cosine steps per iteration (the original per epoch).
"""
from __future__ import annotations

from . import Claim, Row, Source, register
from .bkdsnn import BEST, LIF, MIXED, PAPER, readme_claims
from .cml import IN1K, IN1K_SMOKE, NO_IMAGENET

TABLE = "BKDSNN Table (ImageNet-1K)"
IN1K_TABLE = "Main results on ImageNet-1K"
CARD = ("BKDSNN paper card (the paper's summary page: 'Findings'; arXiv 2407.09083 abstract: "
        "'outperforms prior best results by 4.51% and 0.93%')")
VIT_B = "vit_base_patch16_224.augreg_in21k_ft_in1k"
NO_HUB = "its pretrained weights cannot be downloaded here (no hub access)"

# ----------------------------------------------------------------------------- the paper card
CARD_WHY = ("the prior best results it is measured against are other methods' published numbers, "
            "which neither the README nor the repository names")
CARD_CLAIMS = {
    "bkdsnn-in1k-sew50-mixed": Claim(
        4.51, Source(CARD, "Findings, 'by 4.51% and 0.93% on ImageNet' (CNN)"), kind="delta",
        checkable_here=CARD_WHY,
        note=("over the prior best CNN-based SNN on ImageNet; read as SEW-ResNet-50's 72.32, the "
              "best CNN row of the README (72.32 − 4.51 = 67.81, no number of the README; its own "
              "Δ is +4.54)")),
    "bkdsnn-in1k-8-768-mixed": Claim(
        0.93, Source(CARD, "Findings, 'by 4.51% and 0.93% on ImageNet' (Transformer)"),
        kind="delta", checkable_here=CARD_WHY,
        note=("over the prior best transformer-based SNN on ImageNet; read as CML + "
              "Spikingformer-8-768's 79.93 (79.93 − 0.93 = 79.00, no number of the README; its "
              "own Δ is +2.29)")),
}


def _with_card(row_id: str, claims: tuple[Claim, ...]) -> tuple[Claim, ...]:
    return claims + ((CARD_CLAIMS[row_id],) if row_id in CARD_CLAIMS else ())


# ----------------------------------------------------------------------------- transformers
TRANSFORMERS = {  # size: (dim, baseline batch, BK batch, BK lr, README baseline, params M, top-1, Δ)
    "8-384": (384, 288, 192, 5e-4, 74.35, 16.81, 75.48, 1.13),
    "8-512": (512, 288, 136, 4.208e-4, 76.54, 29.68, 77.24, 0.70),
    "8-768": (768, 192, 96, 3.5355e-4, 77.64, 66.34, 79.93, 2.29),
}
TEACHER_VIT = "bkdsnn-in1k-vit-b-teacher"
_VIT_NOTES = {
    "baseline": f"CML's own ImageNet run (Spikingformer-CML:origin_logs/imagenet @ 8e51213), quoted; {BEST}",
    "teacher": ("timm ViT-B/16 AugReg (in21k → in1k, 224) as the configs name it; the shipped "
                "imagenet/train.py builds it with pretrained=False and never loads it (train_modify.py "
                "does); fed ImageNet-normalised inputs although the checkpoint expects mean = std = 0.5"),
    "params": "millions, without the never-used LayerNorms (as the CML README)",
    "top1": f"BK's mixed run (vit-{{s}}-mixed.yml, 300 + 10 epochs, 4 GPUs); {BEST}",
    "delta": "printed: top-1 − the student column's baseline",
}
ALWAYS = {"params": True}  # counted from the model: no data needed
#: A teacher (an ANN) sets no SNN field.
ANN = {**{k: None for k in LIF}, "embed_dim": None, "depth": None, "num_heads": None}


def _transformer_claims(size: str) -> dict[str, tuple[Claim, ...]]:
    _, _, _, _, base, params, top1, delta = TRANSFORMERS[size]
    tag = {"8-384": "s", "8-512": "m", "8-768": "b"}[size]
    notes = {**_VIT_NOTES, "top1": _VIT_NOTES["top1"].format(s=tag)}
    return readme_claims(IN1K_TABLE, f"CML + Spikingformer-{size}", "ViT-Base",
                         (base, 81.78, params, top1, delta), notes, ALWAYS)


VIT_CLAIMS = {size: _transformer_claims(size) for size in TRANSFORMERS}
register(Row(
    id=TEACHER_VIT, paper=PAPER, table=TABLE, label="ViT-B/16 teacher (hub)", arm="teacher",
    claims=tuple(c for size in TRANSFORMERS for c in VIT_CLAIMS[size]["teacher"]),
    recipes={"paper": {**IN1K, **ANN, "model": VIT_B, "pretrained": True},
             # smoke: no hub weights here, a small ViT trained from scratch on the sample
             "smoke": {**IN1K, **IN1K_SMOKE, **ANN, "model": "vit_tiny_patch16_224"}},
    seeds={"paper": (42,), "smoke": (0,)}, unavailable={"paper": f"{NO_IMAGENET}; {NO_HUB}"},
))
def _register_pair(key: str, label: str, recipes: dict[str, dict], smoke: dict, seed: int,
                   claims: dict[str, tuple[Claim, ...]], teacher: str) -> None:
    """The baseline and mixed rows ``bkdsnn-in1k-<key>-{baseline,mixed}`` of one README row
    (``recipes[arm]``: the arm's ``paper`` recipe; the mixed row is paired against the baseline)."""
    for arm, recipe in recipes.items():
        row_id = f"bkdsnn-in1k-{key}-{arm}"
        register(Row(
            id=row_id, paper=PAPER, table=TABLE, label=label, arm=arm,
            claims=_with_card(row_id, claims[arm]),
            recipes={"paper": recipe, "smoke": {**recipe, **smoke}},
            seeds={"paper": (seed,), "smoke": (0,)}, unavailable={"paper": NO_IMAGENET},
            teacher_row=teacher if arm == "mixed" else None,
            reference=f"bkdsnn-in1k-{key}-baseline" if arm == "mixed" else None,
        ))


for size, (dim, base_batch, bk_batch, bk_lr, *_) in TRANSFORMERS.items():
    student = {**IN1K, "model": "cml_spikingformer_imagenet", "embed_dim": dim}
    _register_pair(size, f"CML+Spikingformer-{size}",
                   {"baseline": {**student, "batch_size": base_batch},
                    "mixed": {**student, **MIXED, "batch_size": bk_batch, "lr": bk_lr}},
                   IN1K_SMOKE, 42, VIT_CLAIMS[size], TEACHER_VIT)

# ----------------------------------------------------------------------------- SEW-ResNets
SEW = dict(dataset="imagenet", recipe="imagenet_rrc224", img_size=None, optimizer="sgd", lr=0.1,
           momentum=0.9, weight_decay=0.0, warmup_frac=0.0, warmup_lr=0.0, min_lr=0.0,
           cooldown_epochs=0, epochs=320, label_smoothing=0.0, mixup_alpha=0.0, randaugment=None,
           random_erasing=0.0, hflip=0.5, crop_padding=None, autoaugment=None, cutout=None,
           curve_test_subset=50000, device="cuda", T=4)
SEW_SMOKE = dict(train_subset=8, batch_size=4, curve_test_subset=8, final_test_subset=8, epochs=1,
                 device="cpu", T=2)
RESNETS = {  # depth: (README baseline, printed teacher, params M, printed top-1, Δ, torchvision top-1)
    18: (63.18, 69.76, 11.69, 65.60, 2.42, 69.758),
    34: (67.04, 71.24, 21.79, 77.24, 4.20, 73.314),
    50: (67.78, 72.32, 25.56, 79.93, 4.54, 76.130),
}
SEW_PARAMS = {18: "11,689,512", 34: "21,797,672", 50: "25,557,032"}
SHIFT = ("the printed Top-1 cell, {printed}, repeats the {twin} transformer row; the row's Δ gives "
         "{base} + {delta:.2f} = {true}, the number its Teacher cell prints: the corrected reading")
TV = "torchvision ResNet model card, IMAGENET1K_V1 weights (pytorch.org/vision/stable/models)"


def _sew_claims(depth: int) -> dict[str, tuple[Claim, ...]]:
    base, teacher, params, printed, delta, tv = RESNETS[depth]
    notes = {
        "baseline": f"the SEW-ResNet paper's number (Fang et al. 2021), quoted; {BEST}",
        "teacher": f"torchvision's IMAGENET1K_V1 ResNet-{depth} ({tv:.3f} by torchvision)",
        "params": (f"millions: torchvision's ResNet-{depth} count, {SEW_PARAMS[depth]} (IF "
                   "neurons hold no parameters; 21,797,672 would round to 21.80M)"
                   if depth == 34 else f"millions: torchvision's ResNet-{depth} count, "
                   f"{SEW_PARAMS[depth]} (IF neurons hold no parameters)"),
        "top1": f"BK's README command (mixed, 4 GPUs × 128, 320 epochs); {BEST}",
        "delta": "printed: top-1 − the student column's baseline",
    }
    checkable = dict(ALWAYS)
    true = round(base + delta, 2)
    if depth != 18:
        twin = {34: "CML + Spikingformer-8-512", 50: "CML + Spikingformer-8-768"}[depth]
        notes["top1"] = SHIFT.format(printed=printed, twin=twin, base=base, delta=delta, true=true) + \
            f"; {notes['top1']}"
        notes["teacher"] = (f"the printed cell is the student's corrected top-1 ({true}), not the "
                            f"teacher's: torchvision gives its IMAGENET1K_V1 ResNet-{depth} {tv:.3f}")
        checkable["teacher"] = "the printed cell is the student's result, not a teacher accuracy"
    claims = readme_claims(IN1K_TABLE, f"SEW-ResNet{depth}", f"ResNet{depth}",
                           (base, teacher, params, true, delta), notes, checkable)
    tv_claim = Claim(tv, Source(TV, f"ResNet{depth}_Weights.IMAGENET1K_V1, Acc@1"),
                     note="the teacher weights' own published top-1 (ImageNet val, 224 centre crop)")
    return {**claims, "teacher": claims["teacher"] + (tv_claim,)}


for depth in RESNETS:
    claims = _sew_claims(depth)
    teacher_id = f"bkdsnn-in1k-resnet{depth}-teacher"
    register(Row(
        id=teacher_id, paper=PAPER, table=TABLE, label=f"ResNet-{depth} teacher (torchvision)",
        arm="teacher", claims=claims["teacher"],
        recipes={"paper": {**SEW, "model": f"resnet{depth}.tv_in1k", "pretrained": True, "T": None},
                 "smoke": {**SEW, **SEW_SMOKE, "model": "resnet18", "T": None}},
        seeds={"paper": (2020,), "smoke": (0,)}, unavailable={"paper": f"{NO_IMAGENET}; {NO_HUB}"},
    ))
    student = {**SEW, "model": f"sew_resnet{depth}"}
    _register_pair(f"sew{depth}", f"SEW-ResNet-{depth}",
                   {"baseline": {**student, "batch_size": 256},
                    "mixed": {**student, **MIXED, "bkd_alpha": 7e-5, "batch_size": 512}},
                   SEW_SMOKE, 2020, claims, teacher_id)
