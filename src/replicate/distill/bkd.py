"""Blurred knowledge distillation (BKD): channel-masked student map -> restoration block ->
regress the teacher's feature.

Sources: Xu et al., *BKDSNN: Enhancing the Performance of Learning-based Spiking Neural Networks
Training with Blurred Knowledge Distillation*, ECCV 2024 (arXiv 2407.09083), and its released code,
github.com/Intelligent-Computing-Research-Group/BKDSNN at commit dd6bd53,
``Spikingformer-CML/imagenet/loss.py``, class ``BRDLoss`` (modules: ``__init__()``; mask and
loss: ``get_dis_loss()``).
This is a **training-only** loss: the align conv and restoration block are trained jointly with the
student and discarded at test time. In ``eval()`` mode or under ``torch.no_grad()`` it still
computes (the random mask is still applied), which is only meaningful for logging.
"""
from __future__ import annotations

import torch
from torch import nn

from replicate.distill.registry import register_distiller
from replicate.models.output import ModelOutput

__all__ = ["BKD", "channel_mask"]



def channel_mask(
    batch: int,
    channels: int,
    ratio: float,
    device: torch.device | str | None = None,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Per-sample channel-dropping mask ``[B, C, 1, 1]`` (BKDSNN
    ``Spikingformer-CML/imagenet/loss.py``@dd6bd53, ``BRDLoss.get_dis_loss()``, l. 64-66).

    Draws U ~ Uniform[0, 1) per (sample, channel); the mask is 0 where U < ratio, else 1
    (no 1/(1-ratio) rescaling). Broadcasts over H, W, so whole channels are zeroed.
    Uses the global RNG unless ``generator`` is given.

    Raises:
        ValueError: if ratio is outside [0, 1].
    """
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(f"mask ratio must be in [0, 1], got {ratio}")
    u = torch.rand((batch, channels, 1, 1), device=device, generator=generator)
    return (u >= ratio).to(dtype)


@register_distiller("bkd")
class BKD(nn.Module):

    """BKD feature loss (BKDSNN ``Spikingformer-CML/imagenet/loss.py``@dd6bd53,
    ``BRDLoss.forward()`` / ``get_dis_loss()``), returned as ``{"bkd": L_BKD}``.

        g     = P(G(M * A(F_s)))                       (P only if ``pooled``)
        L_BKD = alpha * sum((g - t)^2) / B

    Modules (``BRDLoss.__init__()``, same file): ``align`` = 1x1 conv with bias C_s -> C_t if
    C_s != C_t, else Identity; ``generation`` = conv3x3(pad 1, bias) -> ReLU -> conv3x3(pad 1, bias),
    default PyTorch init.

    Inputs of ``forward(student, teacher, target)`` (``target`` is ignored):
        ``student.feature``: T-mean last feature map ``[B, C_s, H, W]`` (real-valued).
        ``teacher.feature``: ``[B, C_t]`` pooled vector if ``pooled`` (ViT teachers), else a map
        ``[B, C_t, H, W]`` with the student's H, W (CNN/SNN teachers). Detached here.

    Args:
        student_channels: C_s.
        teacher_channels: C_t.
        mask_ratio: lambda, the probability a channel is zeroed (default 0.15: ``lambda_mgd`` in
            ``BRDLoss`` and in every BKDSNN config at dd6bd53).
        alpha: loss scale (2e-3 in all "mixed" and CIFAR configs).
        pooled: global spatial mean before comparing (True for a vector teacher feature).

    Raises:
        ValueError: (forward) if a feature is missing or its shape does not match.
    """

    needs_feature = True

    def __init__(
        self,
        student_channels: int,
        teacher_channels: int,
        bkd_mask_ratio: float = 0.15,
        bkd_alpha: float = 2e-3,
        pooled: bool = True,
    ) -> None:
        super().__init__()
        if not 0.0 <= bkd_mask_ratio <= 1.0:
            raise ValueError(f"bkd_mask_ratio must be in [0, 1], got {bkd_mask_ratio}")
        self.student_channels = int(student_channels)
        self.teacher_channels = int(teacher_channels)
        self.mask_ratio = float(bkd_mask_ratio)
        self.alpha = float(bkd_alpha)

        self.pooled = bool(pooled)
        c_s, c_t = self.student_channels, self.teacher_channels
        self.align: nn.Module = (
            nn.Conv2d(c_s, c_t, kernel_size=1, stride=1, padding=0, bias=True) if c_s != c_t else nn.Identity()
        )
        self.generation = nn.Sequential(
            nn.Conv2d(c_t, c_t, kernel_size=3, padding=1, bias=True),
            nn.ReLU(inplace=True),
            nn.Conv2d(c_t, c_t, kernel_size=3, padding=1, bias=True),
        )

    @classmethod
    def check_config(cls, cfg) -> None:
        """``bkd_mask_ratio`` in [0, 1) (1 would mask every channel) and ``bkd_alpha`` ≥ 0.

        Raises:
            ValueError: naming the field and its value.
        """
        if not 0 <= cfg.bkd_mask_ratio < 1:
            raise ValueError(f"bkd_mask_ratio must be in [0, 1), got {cfg.bkd_mask_ratio}")
        if not cfg.bkd_alpha >= 0:
            raise ValueError(f"bkd_alpha must be >= 0, got {cfg.bkd_alpha}")

    @classmethod
    def from_config(cls, cfg, ctx) -> "BKD":
        """Channels and pooling probed from the student's and the teacher's last features."""
        c_s, c_t, pooled = ctx.feature_shapes()
        return cls(c_s, c_t, bkd_mask_ratio=cfg.bkd_mask_ratio, bkd_alpha=cfg.bkd_alpha, pooled=pooled)

    @staticmethod
    def expected_param_counts(student_channels: int, teacher_channels: int) -> dict[str, int]:

        """Sizes of the ``BRDLoss`` modules (BKDSNN ``Spikingformer-CML/imagenet/loss.py``@dd6bd53,
        ``__init__()``): ``{"generation": 2*(9*C_t^2 + C_t), "align": C_s*C_t + C_t or 0}``."""
        c_s, c_t = student_channels, teacher_channels
        return {
            "generation": 2 * (9 * c_t * c_t + c_t),
            "align": c_s * c_t + c_t if c_s != c_t else 0,
        }

    def param_counts(self) -> dict[str, int]:
        """Actual parameter counts of ``generation`` and ``align``."""
        return {
            "generation": sum(p.numel() for p in self.generation.parameters()),
            "align": sum(p.numel() for p in self.align.parameters()),
        }

    def restore(self, feature: torch.Tensor) -> torch.Tensor:
        """g from the student map: ``[B, C_s, H, W]`` -> ``[B, C_t]`` (pooled) or ``[B, C_t, H, W]``.

        Draws a fresh mask from the global RNG on every call.
        """
        if feature.dim() != 4 or feature.shape[1] != self.student_channels:
            raise ValueError(
                f"student feature must be [B, {self.student_channels}, H, W], got {tuple(feature.shape)}"
            )
        x = self.align(feature)
        mask = channel_mask(x.shape[0], x.shape[1], self.mask_ratio, device=x.device, dtype=x.dtype)
        g = self.generation(x * mask)
        return g.mean(dim=(2, 3)) if self.pooled else g

    def forward(
        self, student: ModelOutput, teacher: ModelOutput, target: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        if student.feature is None or teacher.feature is None:
            raise ValueError("BKD needs student.feature and teacher.feature (request features)")
        t = teacher.feature.detach()
        b = student.feature.shape[0]
        if self.pooled:
            expected = (b, self.teacher_channels)
        else:
            expected = (b, self.teacher_channels, *student.feature.shape[2:])
        if tuple(t.shape) != expected:
            raise ValueError(
                f"teacher feature must be {expected} (pooled={self.pooled}), got {tuple(t.shape)}"
            )
        g = self.restore(student.feature)
        loss = self.alpha * (g.float() - t.float()).pow(2).sum() / b
        return {"bkd": loss}

    def extra_repr(self) -> str:
        return (
            f"student_channels={self.student_channels}, teacher_channels={self.teacher_channels}, "
            f"mask_ratio={self.mask_ratio}, alpha={self.alpha}, pooled={self.pooled}"
        )
