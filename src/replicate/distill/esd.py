"""Enhanced self-distillation (Zhao, Yu et al., NeurIPS 2025, "paper B"): branches and loss.

Sources: Zhao, Yu et al., *Enhanced Self-Distillation Framework for Efficient Spiking Neural
Network Training*, NeurIPS 2025 (arXiv 2510.06254), and its released code,
github.com/Intelli-Chip-Lab/enhanced-self-distillation-framework-for-snn at commit d44e876:
the auxiliary branches in ``model/resnet.py`` (``DeepConv``; ``ResNet.__init__()``, ``scala1``..
``scala3`` and ``fc1``..``fc3``) and ``model/preact_resnet.py`` (``StdConvBlock``, ImageNet);
reliable versus unreliable teacher knowledge in ``model/layer.py``, ``make_teacher()`` and
``esd_loss()``; the losses in ``train()`` of ``experiment/cifar/main.py`` and
``experiment/imagenet/main.py``. Known bugs of that code: the branches' fixed
``nn.AvgPool2d(4, 4)``, and ``esd_loss()``'s mean over an empty reliable set (NaN; "train loss nan"
at epoch 0 of ``experiment/cifar/cifar100.log``).

Three auxiliary ANN branches read the stage outputs after layer1..layer3 of a spiking ResNet
(time-mean rates, ``ModelOutput.stages``) and end in their own classifier. With the four exits
e ∈ {b1, b2, b3, main}, logits p_e ``[B, K]``, labels y and m_{e,i} = 1[argmax p_{e,i} = y_i]:

    ŷ_i  = Σ_e m_{e,i} p_{e,i} / (Σ_e m_{e,i} + 1e-8)       (detached self-teacher, make_teacher())
    SD_e = τ² · mean_{i reliable} KL(softmax(ŷ_i/τ) ‖ softmax(p_{e,i}/τ))
    reliable_i ⇔ Σ_e m_{e,i} ≥ 1                                  (all-wrong samples are dropped)

and the distiller returns ``alp·Σ_{b} CE(p_b, y)`` over the three branches plus ``β·Σ_e SD_e``
(``experiment/cifar/main.py``, ``train()``, l. 52). The main exit's CE is the training step's
ordinary CE on the T-mean logits. The division by T of the released code (``loss / model.time_step``,
l. 53) is the training step's business (rate-based BP), not done here.

Released values: alp = 1.0 (CIFAR) / 0.7 (ImageNet), β = 0.3, τ = 3.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from replicate.distill import registry
from replicate.distill.registry import register_distiller
from replicate.distill.temporal import _labels, kd_divergence, self_teacher
from replicate.distill.wsld import as_soft_target
from replicate.models.output import ModelOutput

__all__ = [
    "ESD",
    "ESD_POOLS",
    "ESD_TEACHER_MODES",
    "Branch",
    "DeepConv",
    "StdConvBlock",
    "reliable_teacher",
    "self_distillation_loss",
]

#: Branch pooling choices: the released fixed AvgPool(4) (``nn.AvgPool2d(4, 4)`` in
#: ``model/resnet.py``@d44e876, ``ResNet.__init__()``), or global average.
ESD_POOLS = ("avg4", "adaptive")

#: Self-teacher constructions: the paper's correctness-filtered one (``model/layer.py``@d44e876,
#: ``make_teacher()``) and the "plain self-distillation" ablation that averages all exits (the
#: traditional self-distillation the paper's abstract compares against, arXiv 2510.06254).
ESD_TEACHER_MODES = ("reliable", "all")


class DeepConv(nn.Module):
    """The released ``DeepConv`` block (``model/resnet.py``@d44e876): stride 2, no biases.

    Main path: depthwise 3×3/2 → pointwise 1×1 (C_in→C_in) → BN → ReLU → depthwise 3×3/1 →
    pointwise 1×1 (C_in→C_out) → BN → ReLU. Shortcut: conv 1×1/2 (C_in→C_out) → BN.
    Output: ReLU(main + shortcut).

    Shapes: ``[B, C_in, H, W]`` → ``[B, C_out, ceil(H/2), ceil(W/2)]``.

    Raises:
        ValueError: non-positive channel counts.
    """

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        if in_ch <= 0 or out_ch <= 0:
            raise ValueError(f"DeepConv channels must be positive, got {in_ch}→{out_ch}")
        self.main = nn.Sequential(
            nn.Conv2d(in_ch, in_ch, 3, stride=2, padding=1, groups=in_ch, bias=False),
            nn.Conv2d(in_ch, in_ch, 1, bias=False),
            nn.BatchNorm2d(in_ch),
            nn.ReLU(inplace=True),
            nn.Conv2d(in_ch, in_ch, 3, stride=1, padding=1, groups=in_ch, bias=False),
            nn.Conv2d(in_ch, out_ch, 1, bias=False),
            nn.BatchNorm2d(out_ch),
            nn.ReLU(inplace=True),
        )
        self.shortcut = nn.Sequential(
            nn.Conv2d(in_ch, out_ch, 1, stride=2, bias=False),
            nn.BatchNorm2d(out_ch),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.main(x) + self.shortcut(x))


class StdConvBlock(nn.Module):
    """Plain residual block of the ImageNet branches (``model/preact_resnet.py``@d44e876,
    ``StdConvBlock``): ``ReLU(x + BN(conv(ReLU(BN(conv(x))))))`` with 3×3 convolutions, stride 1,
    padding 1, no biases.

    Shapes: ``[B, C, H, W]`` → ``[B, C, H, W]``.

    Raises:
        ValueError: non-positive channel count.
    """

    def __init__(self, ch: int) -> None:
        super().__init__()
        if ch <= 0:
            raise ValueError(f"StdConvBlock channels must be positive, got {ch}")
        self.body = nn.Sequential(
            nn.Conv2d(ch, ch, 3, padding=1, bias=False),
            nn.BatchNorm2d(ch),
            nn.ReLU(inplace=True),
            nn.Conv2d(ch, ch, 3, padding=1, bias=False),
            nn.BatchNorm2d(ch),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.body(x))


class Branch(nn.Module):
    """One auxiliary exit (``scala1``..``scala3`` + ``fc1``..``fc3`` of ``ResNet`` in
    ``model/resnet.py``@d44e876): DeepConv chain → pool → flatten → Linear(num_features, K).

    The chain doubles the width from ``in_ch`` until ``num_features`` (64 → 128 → 256 → 512 for
    ``in_ch = 64, num_features = 512``), each DeepConv followed by a :class:`StdConvBlock` when
    ``std_blocks`` (the ImageNet branches).

    Pooling:
        ``"avg4"``: ``nn.AvgPool2d(4)`` as released. On a 7×7 (ImageNet) or 6×6 (DVS 48×48) map
        it keeps only the top-left 4×4 window (the branches of ``model/preact_resnet.py`` and, on
        DVS, ``model/resnet.py``@d44e876); kept for fidelity.
        ``"adaptive"``: ``nn.AdaptiveAvgPool2d(1)``, the global average.

    Shapes: ``[B, in_ch, H, W]`` → logits ``[B, num_classes]``; the last map is
    ``ceil(H / 2^k)`` square-ish with k = log2(num_features / in_ch).

    Raises:
        ValueError: (init) ``in_ch`` is not ``num_features / 2^k`` with k ≥ 1, bad ``pool`` or
            ``num_classes``; (forward) with ``"avg4"``, a last map smaller than 4×4 or one the
            pool leaves larger than 1×1 (e.g. 8×8); use ``pool="adaptive"`` there.
    """

    def __init__(
        self,
        in_ch: int,
        num_features: int,
        num_classes: int,
        std_blocks: bool = False,
        pool: str = "avg4",
    ) -> None:
        super().__init__()
        if pool not in ESD_POOLS:
            raise ValueError(f"unknown pool {pool!r}; allowed: {ESD_POOLS}")
        if num_classes <= 0:
            raise ValueError(f"num_classes must be positive, got {num_classes}")
        if in_ch <= 0 or num_features <= in_ch:
            raise ValueError(
                f"Branch needs 0 < in_ch < num_features with num_features / in_ch a power of 2, "
                f"got in_ch={in_ch}, num_features={num_features}"
            )
        widths = [in_ch]
        while widths[-1] < num_features:
            widths.append(widths[-1] * 2)
        if widths[-1] != num_features:
            raise ValueError(
                f"in_ch={in_ch} does not reach num_features={num_features} by doubling "
                f"(need in_ch = num_features / 2^k, k >= 1)"
            )
        layers: list[nn.Module] = []
        for c_in, c_out in zip(widths[:-1], widths[1:]):
            layers.append(DeepConv(c_in, c_out))
            if std_blocks:
                layers.append(StdConvBlock(c_out))
        self.features = nn.Sequential(*layers)
        self.pool_mode = pool
        self.pool = nn.AvgPool2d(4) if pool == "avg4" else nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(num_features, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4:
            raise ValueError(f"Branch input must be [B, C, H, W], got {tuple(x.shape)}")
        h = self.features(x)
        if self.pool_mode == "avg4":
            hh, ww = h.shape[-2:]
            if not (4 <= hh <= 7 and 4 <= ww <= 7):  # AvgPool2d(4) gives 1×1 exactly there
                raise ValueError(
                    f"pool='avg4' (the released AvgPool2d(4)) needs a last map of 4..7 pixels per "
                    f"side, got {hh}×{ww} (input {tuple(x.shape[-2:])}); use pool='adaptive'"
                )
        return self.fc(torch.flatten(self.pool(h), 1))

    def extra_repr(self) -> str:
        return f"pool={self.pool_mode!r}"


def reliable_teacher(exit_logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The correctness-filtered self-teacher (released ``make_teacher()``, ``model/layer.py``@d44e876).

    Exit e is correct on sample i iff ``argmax_k p_{e,i,k} == y_i`` (ties → lowest index, as
    ``torch.argmax``). With m_{e,i} that indicator,
    ``teacher_i = Σ_e m_{e,i} p_{e,i} / (Σ_e m_{e,i} + 1e-8)`` (an average of **logits**, not of
    probabilities), and sample i is reliable iff at least one exit is correct. The released code
    detects the all-wrong case by ``Σ_k |ŷ_{i,k}| ≤ 1e-6``; counting the correct exits is the same
    test without the float threshold (it also cannot misfire on a correct exit whose logits are all
    ≈ 0).

    Args:
        exit_logits: ``[E, B, K]``, exits in the order b1, b2, b3, main.
        labels: int class labels ``[B]``.

    Returns:
        ``(teacher, reliable)``: detached float32 teacher logits ``[B, K]`` (zero rows for
        unreliable samples) and a bool mask ``[B]``.

    Raises:
        ValueError: ``exit_logits`` not 3-D, or labels not an int ``[B]`` tensor.
    """
    if exit_logits.dim() != 3:
        raise ValueError(f"exit_logits must be [E, B, K], got {tuple(exit_logits.shape)}")
    if labels.dim() != 1 or labels.shape[0] != exit_logits.shape[1]:
        raise ValueError(
            f"labels must be [B] = [{exit_logits.shape[1]}], got {tuple(labels.shape)}"
        )
    if labels.dtype.is_floating_point or labels.dtype == torch.bool:
        raise ValueError(f"labels must be integer class indices, got dtype {labels.dtype}")
    # the released make_teacher is the ICML 2025 self-teacher, applied across exits instead of timesteps
    teacher = self_teacher(exit_logits, labels, "correct_only")
    correct = exit_logits.detach().argmax(dim=2) == labels.to(exit_logits.device).unsqueeze(0)  # [E, B]
    return teacher, correct.any(0)


def self_distillation_loss(
    exit_logits: torch.Tensor, teacher: torch.Tensor, reliable: torch.Tensor, temperature: float
) -> torch.Tensor:
    """Σ_e SD_e, a float32 scalar (unweighted by β): the released ``esd_loss()``
    (``model/layer.py``@d44e876) summed over exits (the ``soft_loss`` loop of
    ``experiment/cifar/main.py``, ``train()``).

    ``Σ_e τ² · mean_{i: reliable_i} Σ_k q_{i,k} (log q_{i,k} − log softmax(p_{e,i}/τ)_k)`` with
    ``q_i = softmax(teacher_i / τ)``: summed over exits, averaged over the reliable samples only
    (not over B). When no sample is reliable the released code's mean over an empty set printed
    ``nan`` ("train loss nan" at epoch 0 of ``experiment/cifar/cifar100.log``@d44e876); here the
    result is an exact 0 that stays connected to the graph (``exit_logits.sum() * 0``), so
    ``backward`` gives zero gradients, as the original did.

    Args:
        exit_logits: ``[E, B, K]``.
        teacher: ``[B, K]``, used as given (pass it detached, as :func:`reliable_teacher` does).
        reliable: bool mask ``[B]``.
        temperature: τ > 0.

    Raises:
        ValueError: τ ≤ 0 or mismatched shapes.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if exit_logits.dim() != 3:
        raise ValueError(f"exit_logits must be [E, B, K], got {tuple(exit_logits.shape)}")
    _, b, k = exit_logits.shape
    if teacher.shape != (b, k):
        raise ValueError(f"teacher must be [{b}, {k}], got {tuple(teacher.shape)}")
    if reliable.shape != (b,) or reliable.dtype != torch.bool:
        raise ValueError(f"reliable must be a bool [{b}] mask, got {reliable.dtype} {tuple(reliable.shape)}")
    reliable = reliable.to(exit_logits.device)
    if not bool(reliable.any()):
        return exit_logits.float().sum() * 0.0
    # kd_divergence averages over exits and reliable samples; × E makes it a sum over exits
    return exit_logits.shape[0] * kd_divergence(exit_logits[:, reliable], teacher[reliable], temperature)


@register_distiller("esd")
class ESD(nn.Module):
    """The enhanced self-distillation distiller of paper B (arXiv 2510.06254; released code
    enhanced-self-distillation-framework-for-snn@d44e876, see the module docstring).

    ``forward(student, teacher=None, target)`` returns the already-weighted scalars
    ``{"branch_ce": alp · Σ_{b ∈ b1,b2,b3} CE(p_b, y), "esd_kd": β · Σ_e SD_e}`` with the exits
    e ∈ [b1, b2, b3, main] stacked in that order. The main exit's own CE is **not** returned: the
    training step adds it with weight 1 (``replaces_ce = False``). For CIFAR (alp = 1) the total is
    the released alp·Σ_e CE_e + β·Σ_e SD_e (``experiment/cifar/main.py``, ``train()``); for
    ImageNet alp = 0.7 applies to the branches only (``experiment/imagenet/main.py``, ``train()``,
    l. 69). The ``÷T`` of the released code is left to the training step.

    Inputs:
        ``student.stages``: ``len(stage_channels)`` tensors ``[B, C_i, H_i, W_i]``; a 5-D
        ``[T, B, C, H, W]`` tensor is averaged over its leading axis.
        ``student.logits``: the main exit, ``[T, B, K]`` (averaged over T) or ``[B, K]``.
        ``teacher``: ignored (self-distillation; accepted for the distiller interface).
        ``target``: int labels ``[B]`` or a soft/one-hot target ``[B, K]``. Branch CE is the soft
        cross-entropy ``−Σ_k y_k log softmax(p_b)_k`` (batch mean) against the target as given
        (int labels one-hot encoded, so it equals ``F.cross_entropy``); the reliability test uses
        the argmax class of a soft target.

    Gradients: the self-teacher is detached, so the KD term reaches each exit (the main exit
    included) only through that exit's own logits.

    Args:
        stage_channels: channels of the stage maps the branches read (64, 128, 256 for ResNet-18).
        num_features: width at which every branch ends (512).
        num_classes: K.
        esd_alpha: "alp", weight of the branch CEs (1.0 CIFAR, 0.7 ImageNet).
        esd_beta: weight β of the self-distillation term (0.3; 0.1 is the DVS default).
        kd_temperature: τ (3).
        esd_pool: ``"avg4"`` (released fixed AvgPool(4)) or ``"adaptive"``; see :class:`Branch`.
        std_blocks: add a :class:`StdConvBlock` after each DeepConv (ImageNet branches).
        esd_teacher: ``"reliable"`` (paper; released ``make_teacher()``) or ``"all"`` (ablation
            "plain self-distillation": teacher = mean of all four exits' logits, every sample kept).

    Raises:
        ValueError: (init) bad pool / teacher_mode / branch geometry, τ ≤ 0, negative weights,
            no stages; (forward) missing stages or a wrong count, mismatched shapes, bad target.
    """

    needs_feature = False
    needs_stages = True
    replaces_ce = False
    train_steps = ("bptt", "rate_bp")

    def __init__(
        self,
        stage_channels: Sequence[int] = (64, 128, 256),
        num_features: int = 512,
        num_classes: int = 10,
        esd_alpha: float = 1.0,
        esd_beta: float = 0.3,
        kd_temperature: float = 3.0,
        esd_pool: str = "avg4",
        std_blocks: bool = False,
        esd_teacher: str = "reliable",
    ) -> None:
        super().__init__()
        alp, beta, pool, teacher_mode = esd_alpha, esd_beta, esd_pool, esd_teacher
        if pool not in ESD_POOLS:
            raise ValueError(f"unknown esd_pool {pool!r}; allowed: {ESD_POOLS}")
        if teacher_mode not in ESD_TEACHER_MODES:
            raise ValueError(f"unknown esd_teacher {teacher_mode!r}; allowed: {ESD_TEACHER_MODES}")
        if kd_temperature <= 0:
            raise ValueError(f"kd_temperature must be > 0, got {kd_temperature}")
        if alp < 0 or beta < 0:
            raise ValueError(f"esd_alpha and esd_beta must be >= 0, got {alp}, {beta}")
        stage_channels = tuple(int(c) for c in stage_channels)
        if not stage_channels:
            raise ValueError("stage_channels must name at least one stage")
        self.stage_channels = stage_channels
        self.num_classes = int(num_classes)
        self.alp = float(alp)
        self.beta = float(beta)
        self.kd_temperature = float(kd_temperature)
        self.pool = pool
        self.teacher_mode = teacher_mode
        self.branches = nn.ModuleList(
            Branch(c, num_features, num_classes, std_blocks, pool) for c in stage_channels
        )

    @classmethod
    def check_config(cls, cfg) -> None:
        """``esd_alpha``, ``esd_beta`` (≥ 0), ``esd_pool`` (:data:`ESD_POOLS`) and ``esd_teacher``
        (:data:`ESD_TEACHER_MODES`) are set; ``kd_temperature`` > 0.

        Raises:
            ValueError: naming the missing or impossible field.
        """
        registry.require(cfg, "esd_alpha", "esd_beta", "esd_pool", "esd_teacher")
        registry.one_of(cfg, "esd_pool", ESD_POOLS)
        registry.one_of(cfg, "esd_teacher", ESD_TEACHER_MODES)
        registry.at_least(cfg, 0, "esd_alpha", "esd_beta")
        registry.at_least(cfg, 0, "kd_temperature", strict=True)

    @classmethod
    def needs_teacher(cls, cfg) -> bool:
        """Self-distillation: never a teacher model."""
        return False

    @classmethod
    def from_config(cls, cfg, ctx) -> "ESD":
        """One branch per student stage but the last (``student.widths``), ending at the
        student's ``num_features``; StdConvBlocks for the pre-activation (ImageNet) ResNet."""
        from replicate.models.spiking_resnet import SpikingPreActResNet
        student = ctx.student
        return cls(stage_channels=tuple(student.widths[:-1]), num_features=student.num_features,
                   num_classes=ctx.num_classes, esd_alpha=cfg.esd_alpha, esd_beta=cfg.esd_beta,
                   kd_temperature=cfg.kd_temperature, esd_pool=cfg.esd_pool,
                   std_blocks=isinstance(student, SpikingPreActResNet), esd_teacher=cfg.esd_teacher)

    def forward(
        self, student: ModelOutput, teacher: ModelOutput | None = None, target: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        if target is None:
            raise ValueError("ESD needs the target (labels or a soft target)")
        stages = student.stages
        n = len(self.branches)
        if stages is None:
            raise ValueError(f"ESD needs student.stages ({n} stage maps); ask the model for stages")
        if len(stages) != n:
            raise ValueError(f"ESD expects {n} stage maps (one per branch), got {len(stages)}")
        main = student.logits
        if main.dim() == 3:
            main = main.mean(0)
        if main.dim() != 2:
            raise ValueError(f"student logits must be [T, B, K] or [B, K], got {tuple(student.logits.shape)}")
        b, k = main.shape
        if k != self.num_classes:
            raise ValueError(f"student logits have {k} classes, ESD was built for {self.num_classes}")
        y_soft = as_soft_target(target, k).to(main.device)
        y = _labels(target, k, b).to(main.device)

        exits = []
        for i, (branch, s) in enumerate(zip(self.branches, stages)):
            if s.dim() == 5:
                s = s.mean(0)
            if s.dim() != 4 or s.shape[0] != b:
                raise ValueError(
                    f"stage {i} must be [B={b}, C, H, W] (or [T, B, C, H, W]), got {tuple(stages[i].shape)}"
                )
            exits.append(branch(s))
        branch_ce = sum(-(y_soft * F.log_softmax(p.float(), dim=-1)).sum(-1).mean() for p in exits)

        all_exits = torch.stack([p.float() for p in exits] + [main.float()])  # [E, B, K]
        if self.teacher_mode == "reliable":
            t, reliable = reliable_teacher(all_exits, y)
        else:  # plain self-distillation: the mean of every exit, every sample kept
            t = self_teacher(all_exits, y, "ensemble")
            reliable = torch.ones(b, dtype=torch.bool, device=main.device)
        sd = self_distillation_loss(all_exits, t, reliable, self.kd_temperature)
        return {"branch_ce": self.alp * branch_ce, "esd_kd": self.beta * sd}

    def extra_repr(self) -> str:
        return (
            f"stage_channels={self.stage_channels}, alp={self.alp}, beta={self.beta}, "
            f"kd_temperature={self.kd_temperature}, pool={self.pool!r}, "
            f"teacher_mode={self.teacher_mode!r}"
        )
