"""Forward passes that give a :class:`ModelOutput` for any model, top-1 evaluation and firing rates."""
from __future__ import annotations

import inspect

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from ..models.output import ModelOutput
from spikingjelly.activation_based.neuron import BaseNode
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
    it is not in that repository, so which vector it was is our reading). A timm CNN (its
    ``forward_features`` is a map, e.g. torchvision's ResNet as ``resnet50.tv_in1k``) gives that map
    unpooled, ``[B, C, H, W]``: the layer-4 output after its last ReLU, BKD's map variant for CNN
    teachers (``Spike-Element-Wise-ResNet/cifar10dvs/loss.py``@dd6bd53: the restored student map is
    compared without pooling).

    Event frames ``[T, B, C, H, W]`` reach an ANN (a model without ``T``, e.g. the ICML 2025 DVS
    teacher) as their time mean ``[B, C, H, W]``.

    Raises:
        ValueError: ``need_stages`` for a model that cannot return its stages.
    """
    if x.dim() == 5 and not hasattr(model, "T"):
        x = x.mean(0)
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
    if feats.dim() == 4:  # a CNN: its last map [B, C, H, W] (BKD's map variant)
        return ModelOutput(model.forward_head(feats), feats)
    pre = model.forward_head(feats, pre_logits=True)
    return ModelOutput(model.get_classifier()(pre), pre)


class FiringRates:
    """Mean spike rate of every spiking neuron layer of ``model`` (any spikingjelly ``BaseNode``:
    :class:`replicate.neurons.LIF`, the SEW-ResNets' IF) while the context is open.

    ``rates()`` → ``{module name: fraction of (neuron, timestep) pairs that spiked}``.
    """

    def __init__(self, model: torch.nn.Module):
        self.model, self.sums, self.counts, self.handles = model, {}, {}, []

    def __enter__(self) -> "FiringRates":
        for name, m in self.model.named_modules():
            if isinstance(m, BaseNode):
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


@torch.inference_mode()
def evaluate(model: torch.nn.Module, data: Dataset, *, batch_size: int, device: str,
             img_size: int | None = None, num_workers: int = 0) -> dict:
    """Top-1 (%) of the T-mean prediction on ``data`` (items ``(x, y)``: a normalised image
    ``[C, H, W]`` or frames ``[T, C, H, W]`` and an int class), in order, plus the firing rates of
    every LIF layer and, for SNNs, ``prefix_top1``: the top-1 of the mean of the first T'
    timesteps for T' = 1..T (ICML 2025 "full-range timesteps"), same pass."""
    was_training = model.training
    model.eval()
    correct, prefix, n = 0, None, 0
    # its own generator: iterating a DataLoader draws a seed, which must not move the global RNG
    # (the training run's augmentation and masks continue from it after every evaluation)
    loader = DataLoader(data, batch_size=batch_size, shuffle=False, num_workers=num_workers,
                        generator=torch.Generator())

    with FiringRates(model) as fr:
        for xb, yb in loader:
            xb = xb.to(device)
            if xb.dim() == 5:  # event frames: [B, T, C, H, W] -> [T, B, C, H, W]
                xb = xb.transpose(0, 1)
            out = forward_output(model, resize(xb, img_size), need_feature=False)
            correct += int((out.mean_logits.argmax(-1).cpu() == yb).sum())
            n += len(yb)
            if out.logits.dim() == 3:  # SNN: every deployment budget T' <= T from the same pass
                c = prefix_correct(out.logits, yb)
                prefix = c if prefix is None else prefix + c
    model.train(was_training)
    return {"top1": 100.0 * correct / n, "firing_rates": fr.rates(), "mean_firing_rate": fr.mean(),
            "prefix_top1": None if prefix is None else (100.0 * prefix / n).tolist()}
