"""Forward passes that give a :class:`ModelOutput` for any model, top-1 evaluation and firing rates."""
from __future__ import annotations

import inspect

import torch
import torch.nn.functional as F

from ..models.output import ModelOutput
from ..neurons import LIF
from ..prefix import prefix_correct


def resize(x: torch.Tensor, size: int | None) -> torch.Tensor:
    """Bicubic resize of a ``[B, C, H, W]`` batch to ``size``×``size`` (no-op for ``None``)."""
    if size is None or x.shape[-1] == size:
        return x
    return F.interpolate(x, size=(size, size), mode="bicubic", align_corners=False)


def forward_output(model: torch.nn.Module, x: torch.Tensor, need_feature: bool,
                   need_stages: bool = False) -> ModelOutput:
    """``ModelOutput`` of ``model`` on ``x``: replicate's models natively, timm models through
    ``forward_features`` + ``forward_head(pre_logits=True)`` (the pre-logits vector: BKDSNN's
    teacher feature is a ``Bs*D`` vector, ``BRDLoss.forward()`` in
    ``Spikingformer-CML/imagenet/loss.py``@dd6bd53 of
    github.com/Intelligent-Computing-Research-Group/BKDSNN; the patched timm forward that produced
    it is not in that repository, so which vector it was is our reading).

    Raises:
        ValueError: ``need_stages`` for a model that cannot return its stages.
    """
    params = inspect.signature(model.forward).parameters
    if need_stages:
        if "return_stages" not in params:
            raise ValueError(f"{type(model).__name__} cannot return its stage outputs (needed by "
                             "self-distillation branches); use a spiking ResNet")
        return model(x, return_feature=need_feature, return_stages=True)
    if "return_feature" in params:
        if need_feature:
            return model(x, return_feature=True)
        return ModelOutput(model(x))
    if not need_feature:
        return ModelOutput(model(x))
    feats = model.forward_features(x)
    pre = model.forward_head(feats, pre_logits=True)
    return ModelOutput(model.get_classifier()(pre), pre)


class FiringRates:
    """Mean spike rate of every LIF module of ``model`` while the context is open.

    ``rates()`` → ``{module name: fraction of (neuron, timestep) pairs that spiked}``.
    """

    def __init__(self, model: torch.nn.Module):
        self.model, self.sums, self.counts, self.handles = model, {}, {}, []

    def __enter__(self) -> "FiringRates":
        for name, m in self.model.named_modules():
            if isinstance(m, LIF):
                self.handles.append(m.register_forward_hook(self._hook(name)))
        return self

    def _hook(self, name):
        def f(_m, _i, out):
            self.sums[name] = self.sums.get(name, 0.0) + float(out.detach().sum())
            self.counts[name] = self.counts.get(name, 0) + out.numel()
        return f

    def __exit__(self, *exc) -> None:
        for h in self.handles:
            h.remove()

    def rates(self) -> dict[str, float]:
        return {k: self.sums[k] / self.counts[k] for k in self.sums}

    def mean(self) -> float | None:
        n = sum(self.counts.values())
        return sum(self.sums.values()) / n if n else None


@torch.no_grad()
def evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, *, batch_size: int,
             device: str, img_size: int | None = None) -> dict:
    """Top-1 (%) of the T-mean prediction on normalised images ``x`` ``[N, 3, H, W]``, plus
    the firing rates of every LIF layer and, for SNNs, ``prefix_top1``: the top-1 of the mean
    of the first T' timesteps for T' = 1..T (ICML 2025 "full-range timesteps"), same pass."""
    was_training = model.training
    model.eval()
    correct, prefix = 0, None
    with FiringRates(model) as fr:
        for i in range(0, len(x), batch_size):
            xb = resize(x[i:i + batch_size].to(device), img_size)
            out = forward_output(model, xb, need_feature=False)
            yb = y[i:i + batch_size]
            correct += int((out.mean_logits.argmax(-1).cpu() == yb).sum())
            if out.logits.dim() == 3:  # SNN: every deployment budget T' <= T from the same pass
                c = prefix_correct(out.logits, yb)
                prefix = c if prefix is None else prefix + c
    model.train(was_training)
    return {"top1": 100.0 * correct / len(x), "firing_rates": fr.rates(), "mean_firing_rate": fr.mean(),
            "prefix_top1": None if prefix is None else (100.0 * prefix / len(x)).tolist()}
