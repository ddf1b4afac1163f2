"""Temporally decoupled logit KD (Yu et al., ICML 2025) and its "standard KD" baseline.

Sources: Yu et al., *Efficient Logit-based Knowledge Distillation of Deep Spiking Neural Networks
for Full-Range Timestep Deployment*, ICML 2025 (arXiv 2501.15925; the standard-KD baseline is the
"L_SCE + L_SKL" row of its ablation), and its released code,
github.com/Intelli-Chip-Lab/snn_temporal_decoupling_distillation at commit e3f5fd4: the loss in
``experiment/cifar/main.py``, ``train()`` (l. 65-74), built from ``kd_loss()``, ``cal_loss()`` and
``make_teacher()`` of ``model/layer.py``.
With per-timestep student logits z_t ``[B, K]`` (t = 1..T), ANN teacher logits z^A ``[B, K]``,
p_τ(z) = softmax(z/τ) and

    KD_τ(z, q) = τ² · mean_b Σ_k q_bk (log q_bk − log p_τ(z_b)_k),   q = p_τ(teacher logits)

(the released ``kd_loss``: KL(q ‖ p_τ(z)) summed over classes, batch-mean, times τ²), the loss is

    L = L_TWCE + β·L_TWSD + α·L_TWKL
    L_TWCE = (1/T) Σ_t CE(z_t, y)
    L_TWKL = (1/T) Σ_t KD_τ(z_t, p_τ(z^A))          (teacher frozen, detached)
    L_TWSD = (1/T) Σ_t KD_τ(z_t, p_τ(ẑ))            (self-teacher ẑ detached, see :func:`self_teacher`)

Released values: τ = 3 (CIFAR, DVS) or 1 (ImageNet), α = 0.2, β = 0.5.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from replicate.distill import registry
from replicate.distill.registry import register_distiller
from replicate.distill.wsld import LogitKDFields, as_soft_target, check_temperature

from replicate.models.output import ModelOutput

__all__ = ["SELF_TEACHERS", "StandardKD", "TemporalKD", "kd_divergence", "self_teacher"]

#: Allowed self-teacher constructions: the paper's ensemble label (arXiv 2501.15925) and the
#: released ``make_teacher()`` (snn_temporal_decoupling_distillation ``model/layer.py``@e3f5fd4).
SELF_TEACHERS = ("ensemble", "correct_only")

#: The released ``make_teacher`` adds this to the count of correct timesteps before dividing.
_COUNT_EPS = 1e-8


def kd_divergence(
    student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float
) -> torch.Tensor:
    """KD_τ(z, p_τ(z_teacher)), the released ``kd_loss()`` (snn_temporal_decoupling_distillation
    ``model/layer.py``@e3f5fd4), a scalar.

    ``τ² · mean over all leading positions of Σ_k q_k (log q_k − log softmax(z/τ)_k)`` with
    ``q = softmax(teacher_logits / τ)``; terms with q_k = 0 count 0 (``F.kl_div`` convention).

    Args:
        student_logits: ``[..., B, K]``; a leading T axis gives the mean over t and b, i.e.
            (1/T) Σ_t KD_τ(z_t, ·).
        teacher_logits: ``[B, K]`` (broadcast over the leading axes) or the student's shape.
            Used as given: detach it yourself if no gradient should reach it.
        temperature: τ > 0.

    Raises:
        ValueError: τ ≤ 0 or shapes that do not broadcast to the student's.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    zs = student_logits.float()
    zt = teacher_logits.float()
    if zt.dim() > zs.dim() or zt.shape != zs.shape[zs.dim() - zt.dim():]:
        raise ValueError(
            f"teacher logits {tuple(teacher_logits.shape)} do not match student logits "
            f"{tuple(student_logits.shape)} (expected the trailing [B, K])"
        )
    log_p = F.log_softmax(zs / temperature, dim=-1)
    q = F.softmax(zt / temperature, dim=-1).expand_as(log_p)
    kl = F.kl_div(log_p, q, reduction="none").sum(-1)  # [..., B]
    return temperature**2 * kl.mean()


def _labels(target: torch.Tensor, num_classes: int, batch: int) -> torch.Tensor:
    """Hard labels ``[B]``: int targets as given, soft targets ``[B, K]`` by their argmax."""
    y = as_soft_target(target, num_classes)  # validates shape / dtype
    if y.shape[0] != batch:
        raise ValueError(f"target batch {y.shape[0]} != logits batch {batch}")
    return target.long() if target.dim() == 1 else target.argmax(dim=1)


def self_teacher(logits: torch.Tensor, target: torch.Tensor, mode: str = "correct_only") -> torch.Tensor:
    """Detached self-teacher logits ẑ ``[B, K]`` from per-timestep logits ``[T, B, K]``.

    * ``"ensemble"`` (the paper's "ensemble label", arXiv 2501.15925, as third-party summaries of
      it describe it): ẑ = (1/T) Σ_t z_t.
    * ``"correct_only"`` (released code, ``model/layer.py``@e3f5fd4, ``make_teacher()``): with
      m_{t,b} = 1[argmax_k z_{t,b,k} = y_b] (ties → lowest index, as ``torch.argmax``),
      ẑ_b = Σ_t m_{t,b} z_{t,b} / (Σ_t m_{t,b} + 1e-8). If **no** timestep of sample b is
      correct, ẑ_b is the zero vector, so p_τ(ẑ_b) is uniform and the TWSD term of that sample
      pulls every z_t toward the uniform distribution. This is kept on purpose (fidelity to the
      released code); the sample is **not** dropped from the batch mean.
      Soft targets ``[B, K]`` (mixup/cutmix/smoothing) are reduced to their argmax class for the
      correctness test (the released code only ever sees hard labels).

    Raises:
        ValueError: unknown ``mode``, ``logits`` not ``[T, B, K]``, or a bad target.
    """
    if mode not in SELF_TEACHERS:
        raise ValueError(f"unknown self_teacher {mode!r}; allowed: {SELF_TEACHERS}")
    if logits.dim() != 3:
        raise ValueError(f"self_teacher needs per-timestep logits [T, B, K], got {tuple(logits.shape)}")
    z = logits.detach().float()
    if mode == "ensemble":
        return z.mean(0)
    y = _labels(target, z.shape[2], z.shape[1]).to(z.device)
    mask = (z.argmax(dim=2) == y.unsqueeze(0)).to(z.dtype)  # [T, B]
    count = mask.sum(0).unsqueeze(1) + _COUNT_EPS  # [B, 1]
    return (z * mask.unsqueeze(2)).sum(0) / count


@register_distiller("temporal")
class TemporalKD(nn.Module):

    """Temporally decoupled logit KD, the loss of the released ``experiment/cifar/main.py``@e3f5fd4,
    ``train()``: ``{"twce", "twkl", "twsd"}`` (weighted scalars).

    ``forward(student, teacher, target)`` returns
    ``{"twce": L_TWCE, "twkl": α·L_TWKL, "twsd": β·L_TWSD}`` (``"twce"`` only if ``include_twce``);
    their sum is the paper's objective, so a training step using this distiller must **not** add
    its own CE on the T-mean logits. A term whose weight is 0 is returned as a constant 0 without
    being computed (then ``teacher`` may be ``None``, e.g. the TWCE + TWSD ablation).

    Inputs:
        ``student.logits``: per-timestep logits ``[T, B, K]``.
        ``teacher.logits``: ``[B, K]`` (an SNN teacher's ``[T, B, K]`` is reduced to its T-mean);
        detached here, so no gradient reaches the teacher.
        ``target``: int labels ``[B]`` or a soft target ``[B, K]``. TWCE is the (soft)
        cross-entropy −Σ_k y_k log softmax(z_t)_k averaged over t and b, equal to
        ``F.cross_entropy`` for int labels. ``correct_only`` uses the argmax of a soft target.

    Args:
        twkl_alpha: α, weight of the ANN-teacher term (0.2 in the released commands).
        twsd_beta: β, weight of the self-distillation term (0.5).
        kd_temperature: τ of both KD terms (3 CIFAR/DVS, 1 ImageNet).
        self_teacher: ``"correct_only"`` (released code, default) or ``"ensemble"`` (paper).
        include_twce: also return the per-timestep CE.

    Raises:
        ValueError: bad constructor arguments; (forward) logits not ``[T, B, K]``, mismatched
            teacher, missing teacher with α ≠ 0, or a bad target.
    """

    needs_feature = False
    replaces_ce = True  # brings its own per-timestep CE (TWCE); an instance without it sets False

    def __init__(
        self,
        twkl_alpha
: float = 0.2,
        twsd_beta: float = 0.5,
        kd_temperature: float = 3.0,
        self_teacher: str = "correct_only",
        include_twce: bool = True,
    ) -> None:
        super().__init__()
        if kd_temperature <= 0:
            raise ValueError(f"kd_temperature must be > 0, got {kd_temperature}")
        if self_teacher not in SELF_TEACHERS:
            raise ValueError(f"unknown self_teacher {self_teacher!r}; allowed: {SELF_TEACHERS}")
        self.twkl_alpha = float(twkl_alpha)
        self.twsd_beta = float(twsd_beta)
        self.kd_temperature = float(kd_temperature)
        self.self_teacher = self_teacher
        self.include_twce = bool(include_twce)
        self.replaces_ce = self.include_twce  # the engine then adds no T-mean CE of its own


    @classmethod
    def check_config(cls, cfg) -> None:
        """``twkl_alpha``, ``twsd_beta`` (≥ 0) and ``self_teacher`` (one of
        :data:`SELF_TEACHERS`) are set; ``kd_temperature`` > 0.

        Raises:
            ValueError: naming the missing or impossible field.
        """
        registry.require(cfg, "twkl_alpha", "twsd_beta", "self_teacher")
        registry.one_of(cfg, "self_teacher", SELF_TEACHERS)
        registry.at_least(cfg, 0, "twkl_alpha", "twsd_beta")
        registry.at_least(cfg, 0, "kd_temperature", strict=True)

    @classmethod
    def needs_teacher(cls, cfg) -> bool:
        """Only the TWKL term (α ≠ 0) needs the ANN teacher; TWCE + TWSD is self-distillation."""
        return bool(cfg.twkl_alpha)

    @classmethod
    def from_config(cls, cfg, ctx) -> "TemporalKD":
        return cls(twkl_alpha=cfg.twkl_alpha, twsd_beta=cfg.twsd_beta,
                   kd_temperature=cfg.kd_temperature, self_teacher=cfg.self_teacher)


    def forward(
        self, student: ModelOutput, teacher: ModelOutput | None, target: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        z = student.logits
        if z.dim() != 3:
            raise ValueError(f"TemporalKD needs per-timestep student logits [T, B, K], got {tuple(z.shape)}")
        _, b, k = z.shape
        zero = z.new_zeros((), dtype=torch.float32)
        out: dict[str, torch.Tensor] = {}
        if self.include_twce:
            y = as_soft_target(target, k).to(z.device)
            if y.shape[0] != b:
                raise ValueError(f"target batch {y.shape[0]} != logits batch {b}")
            out["twce"] = -(y * F.log_softmax(z.float(), dim=-1)).sum(-1).mean()
        if self.twkl_alpha != 0.0:
            if teacher is None:
                raise ValueError("TemporalKD with twkl_alpha != 0 needs teacher logits")
            zt = teacher.mean_logits.detach()
            if zt.shape != (b, k):
                raise ValueError(f"teacher logits must be [{b}, {k}], got {tuple(teacher.logits.shape)}")
            out["twkl"] = self.twkl_alpha * kd_divergence(z, zt, self.kd_temperature)
        else:
            out["twkl"] = zero
        if self.twsd_beta != 0.0:
            z_hat = self_teacher(z, target, self.self_teacher)  # detached
            out["twsd"] = self.twsd_beta * kd_divergence(z, z_hat, self.kd_temperature)
        else:
            out["twsd"] = zero
        return out

    def extra_repr(self) -> str:
        return (
            f"twkl_alpha={self.twkl_alpha}, twsd_beta={self.twsd_beta}, "
            f"kd_temperature={self.kd_temperature}, self_teacher={self.self_teacher!r}, "
            f"include_twce={self.include_twce}"
        )


@register_distiller("standard_kd")
class StandardKD(LogitKDFields, nn.Module):

    """The paper's "standard KD" baseline (the "L_SCE + L_SKL" ablation row of arXiv 2501.15925,
    both terms on z̄): ``{"kd": α·KD_τ}``.

    KD_τ(z̄, p_τ(z^A)) with z̄ = (1/T) Σ_t z_t the T-mean student logits ``[B, K]`` and z^A the
    (detached) teacher logits ``[B, K]``. The CE on z̄ (L_SCE) is the training step's ordinary CE
    and is not returned here. ``target`` is ignored. No parameters; ``needs_feature = False``.

    Args:
        kd_temperature: τ > 0 (3 for CIFAR, as the temporal method).
        kd_weight: weight α of the KD term (the baseline's weight is not published; 0.2 by
            analogy with TWKL).


    Raises:
        ValueError: τ ≤ 0; (forward) mismatched logit shapes.
    """

    needs_feature = False
    train_steps = ("bptt", "rate_bp")  # only the T-mean logits: rate-based BP can train it

    def __init__(self, kd_temperature: float = 3.0, kd_weight: float = 0.2) -> None:
        super().__init__()
        self.kd_temperature = check_temperature(kd_temperature)
        self.alpha = float(kd_weight)


    def forward(
        self, student: ModelOutput, teacher: ModelOutput, target: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        zs = student.mean_logits
        zt = teacher.mean_logits.detach()
        if zs.dim() != 2 or zs.shape != zt.shape:
            raise ValueError(
                f"student (T-mean) and teacher logits must both be [B, K]; got {tuple(zs.shape)} "
                f"and {tuple(zt.shape)}"
            )
        return {"kd": self.alpha * kd_divergence(zs, zt, self.kd_temperature)}

    def extra_repr(self) -> str:
        return f"kd_temperature={self.kd_temperature}, alpha={self.alpha}"
