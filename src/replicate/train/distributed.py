"""Data-parallel training under ``torchrun`` (one process per device).

``torchrun --nproc_per_node=N -m replicate run ROW --profile paper`` starts N copies of the run;
:func:`setup` joins them into one process group (NCCL on GPUs, gloo on CPUs). The recipe's
``batch_size`` is the global batch: each rank trains on ``batch_size / N`` samples of a
:class:`~torch.utils.data.DistributedSampler` reshuffled per epoch from the run seed, and the
gradients of every trainable parameter (the student and the distiller's modules, e.g. BKD's
restoration block and the ESD branches: the BKDSNN original left its restoration block
unsynchronised) are averaged over the ranks after each backward (one flat all-reduce, as
``DistributedDataParallel``'s reducer does; the training steps call the models' own methods
(``return_feature``, ``return_stages``, ``T``), which DDP's wrapper would hide). Rank 0 alone
evaluates and writes checkpoints and records; the others wait at a barrier.

Without ``torchrun`` (no ``WORLD_SIZE`` in the environment) nothing here is active and a run is
exactly the single-process run of the committed records.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.utils.data import Dataset, DistributedSampler


@dataclass(frozen=True)
class World:
    """This process's place in the run: ``size`` processes, this one ``rank`` (``local_rank`` on
    its node); ``active`` when launched by torchrun (even with one process)."""

    size: int = 1
    rank: int = 0
    local_rank: int = 0
    active: bool = False

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup(device: str) -> World:
    """Join torchrun's process group if this process was started by torchrun.

    Returns the :class:`World`; for a CUDA ``device`` each rank uses ``cuda:<local_rank>``.

    Raises:
        RuntimeError: launched by torchrun for CUDA with fewer visible GPUs than local ranks.
    """
    if "WORLD_SIZE" not in os.environ:
        return World()
    local = int(os.environ.get("LOCAL_RANK", 0))
    cuda = device.startswith("cuda")
    if cuda:
        if torch.cuda.device_count() <= local:
            raise RuntimeError(f"local rank {local} has no GPU ({torch.cuda.device_count()} visible)")
        torch.cuda.set_device(local)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if cuda else "gloo")
    return World(dist.get_world_size(), dist.get_rank(), local, True)


def device_of(world: World, device: str) -> str:
    """The device this rank trains on (``cuda:<local_rank>`` under torchrun on GPUs)."""
    return f"cuda:{world.local_rank}" if world.active and device.startswith("cuda") else device


def per_rank_batch(world: World, batch_size: int) -> int:
    """The recipe's global batch split over the ranks.

    Raises:
        ValueError: ``batch_size`` is not a multiple of the number of processes.
    """
    if batch_size % world.size:
        raise ValueError(f"batch_size {batch_size} (the global batch) is not divisible by the "
                         f"{world.size} processes")
    return batch_size // world.size


def sampler(world: World, dataset: Dataset, seed: int) -> DistributedSampler:
    """Each rank's share of a shuffle drawn from ``seed`` and the epoch (``set_epoch``)."""
    return DistributedSampler(dataset, num_replicas=world.size, rank=world.rank, shuffle=True,
                              seed=seed, drop_last=True)


def average_gradients(world: World, params: list[torch.nn.Parameter]) -> None:
    """Replace every gradient by its mean over the ranks (one flat all-reduce)."""
    grads = [p.grad for p in params if p.grad is not None]
    if not world.active or world.size == 1 or not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= world.size
    offset = 0
    for g in grads:
        g.copy_(flat[offset:offset + g.numel()].view_as(g))
        offset += g.numel()


def all_finite(world: World, loss: torch.Tensor) -> bool:
    """Whether the loss is finite on every rank (so that all ranks stop together)."""
    ok = torch.tensor([float(torch.isfinite(loss.detach()).all())], device=loss.device)
    if world.active and world.size > 1:
        dist.all_reduce(ok, op=dist.ReduceOp.MIN)
    return bool(ok.item())


def mean_over_ranks(world: World, sums: dict[str, float]) -> dict[str, float]:
    """Per-term loss sums averaged over the ranks (the logged loss of the global batch)."""
    if not world.active or world.size == 1:
        return sums
    keys = sorted(sums)
    t = torch.tensor([sums[k] for k in keys], dtype=torch.float64)
    dist.all_reduce(t)
    return {k: float(v) / world.size for k, v in zip(keys, t)}


def gather(world: World, obj):
    """``[obj of rank 0, obj of rank 1, ...]`` on every rank (``[obj]`` without torchrun)."""
    if not world.active or world.size == 1:
        return [obj]
    out = [None] * world.size
    dist.all_gather_object(out, obj)
    return out


def barrier(world: World) -> None:
    if world.active and world.size > 1:
        dist.barrier()


def maybe_sync_bn(world: World, model: torch.nn.Module, device: str, sync_bn: bool | None) -> torch.nn.Module:
    """``model`` with its BatchNorms as SyncBatchNorm when the recipe asks for it (``sync_bn``)
    and the run spans several CUDA processes (SyncBatchNorm has no CPU implementation); else
    ``model`` unchanged."""
    if sync_bn and world.active and world.size > 1 and device.startswith("cuda"):
        return torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    return model


def broadcast_parameters(world: World, module: torch.nn.Module) -> None:
    """Every rank starts from rank 0's weights and buffers."""
    if world.active and world.size > 1:
        for t in [*module.parameters(), *module.buffers()]:
            dist.broadcast(t.data, src=0)
