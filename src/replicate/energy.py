"""Synaptic operations and energy per image of SNNs (and ANNs), as Spikingformer/CML estimate them.

The rule (spec-bkdsnn-cml §5; Spikingformer: energy_consumption_calculation/ops.py@4378623, whose
output for CML+Spikingformer-8-768 is Spikingformer-CML:
imagenet/energy_consumption_of_CML_Spikingformer-8-768_log.txt@8e51213):

1. Every Conv1d/2d/3d and Linear ℓ has a dense op count per image
   M_ℓ = (output elements) × (C_in/groups · ∏kernel + 1 if bias) / images, i.e. over all T·B rows it
   sees, so M_ℓ already includes the factor T.
2. If ℓ's input is exactly binary ({0, 1}) it costs r_ℓ · M_ℓ accumulates (**AC**), r_ℓ being the
   mean of its input (the input firing rate); otherwise M_ℓ multiply-accumulates (**MAC**).
3. Spiking self-attention (SSA) adds per block T·h·N·d²·(min(r_k, r_v) + r_q) ACs, with r_q, r_k,
   r_v the output rates of the q/k/v LIFs (Kᵀ·V gated by the sparser of K and V, then Q·(KᵀV)).
4. E = 4.6 pJ · ΣMAC + 0.9 pJ · ΣAC (45 nm, 32-bit float; Horowitz, ISSCC 2014).

BN, pooling, neuron updates, residual additions and ANN attention matmuls are not counted, as in
the original script. One deliberate difference: our models apply their Linear classifier to every
timestep (``[T, B, F]`` → ``[T, B, K]``) and predict with the T-mean of the logits, while the
released models apply it once to the T-mean of the features; the two are the same affine map, so
with ``fold_head=True`` (default) a non-binary classifier input of an SNN (a model with a ``T``) is
counted once per image, not T times — which gives the log's ΣMAC = 0.520993768 G for 8-768.

spikingjelly 2.0 ships ``activation_based.op_counter`` (``MACCounter``, ``ACCounter``,
``SynOpCounter`` under ``DispatchCounterMode``, and ``SimpleEnergyProfiler`` with the same 4.6/0.9
pJ). We do not use it as the hook here: it intercepts every aten op through ``__torch_dispatch__``
and synchronises (``.item()``) several times per op; its SynOps are exact weight uses (border
positions of padded convs count less than r·M, biases are not counted), so it is not the paper's
rule; it has no SSA term; and MACCounter also counts BN. ``tests/test_energy.py`` checks that both
agree where the rules coincide (bias-free 1×1 convs and Linears; dense MACs of any conv).

Counts are **ops per image**, energies **mJ per image** (1 mJ = 10⁹ pJ).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Mapping

import torch
import torch.nn as nn

__all__ = ["PJ_AC", "PJ_MAC", "SSANames", "Counter", "benchmark_overhead", "energy_mj",
           "from_rates"]

#: Energy of one 32-bit float multiply-accumulate at 45 nm, pJ (spec-bkdsnn-cml §5).
PJ_MAC = 4.6
#: Energy of one 32-bit float accumulate at 45 nm, pJ.
PJ_AC = 0.9

_COUNTED = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)


@dataclass(frozen=True)
class SSANames:
    """Attribute names that identify a spiking self-attention module: it has submodules ``q``,
    ``k``, ``v`` (the LIFs whose *output* rates gate Q·Kᵀ·V), an int attribute ``heads`` and the
    embedding dim under the first present name of ``dims``. Defaults fit ``SpikingSelfAttention``
    of :mod:`replicate.models.spikingformer`."""

    q: str = "q_lif"
    k: str = "k_lif"
    v: str = "v_lif"
    heads: str = "num_heads"
    dims: tuple[str, ...] = ("dim", "embed_dim")


def energy_mj(mac: float, ac: float, pj_mac: float = PJ_MAC, pj_ac: float = PJ_AC) -> float:
    """E in mJ for ``mac`` MACs and ``ac`` ACs (pJ per op given): (pj_mac·mac + pj_ac·ac)·10⁻⁹."""
    return (pj_mac * mac + pj_ac * ac) * 1e-9


def _dense_ops(module: nn.Module, out: torch.Tensor) -> int:
    """Dense op count of one call: output elements × (weights per output + 1 if bias)."""
    fan_in = module.weight[0].numel()  # C_in/groups·∏kernel (conv) or in_features (Linear)
    return out.numel() * (fan_in + (module.bias is not None))


def _classifier(model: nn.Module) -> nn.Module | None:
    """The Linear that produces the logits (``get_classifier()``, or the last module of a
    Sequential classifier), for SNNs (models with ``T``) only; else None."""
    get = getattr(model, "get_classifier", None)
    if not hasattr(model, "T") or not callable(get):
        return None
    head = get()
    if isinstance(head, nn.Sequential) and len(head):
        head = head[-1]
    return head if isinstance(head, nn.Linear) else None


def _ssa_modules(model: nn.Module, names: SSANames,
                 heads: int | None) -> dict[str, tuple[int, int]]:
    """``{module name: (heads, dim)}`` of the SSA modules of ``model`` (``heads`` overrides)."""
    found = {}
    for name, m in model.named_modules():
        if not all(isinstance(getattr(m, a, None), nn.Module) for a in (names.q, names.k, names.v)):
            continue
        dims = (getattr(m, a, None) for a in names.dims)
        dim = next((d for d in dims if isinstance(d, int)), None)
        h = heads if heads is not None else getattr(m, names.heads, None)
        if isinstance(h, int) and dim is not None:
            found[name] = (h, dim)
    return found


def _binary_and_sum(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(whether ``x`` is exactly {0, 1}-valued, Σx) as device scalars, without a host sync.

    x − x² is 0 exactly for x ∈ {0, 1} and nonzero for every other float (NaN and ±inf included),
    so one fused op and a reduction decide; the sum is taken in fp32 (exact up to 2²⁴ spikes per
    call, relative error ~1e-7 beyond)."""
    binary = ~torch.addcmul(x, x, x, value=-1).any()
    return binary, x.sum(dtype=torch.float32)


class Counter:
    """Hooks that count MACs, ACs, SSA ACs and input firing rates while the context is open.

    ``with Counter(model) as c: <forward passes>`` then ``c.summary()``. Works for any model whose
    first positional argument is ``[B, ...]`` or ``[T, B, C, H, W]`` (5-D: images = dim 1), called
    as ``model(x, ...)`` (images are counted by a pre-hook on ``model`` itself). The
    per-call work is one pass over each Conv/Linear input (three when its {0, 1} test runs) and a
    few scalar tensor ops, with no host synchronisation (``benchmark_overhead`` measures the cost).

    Args:
        model: the network (hooks go on its Conv/Linear modules and SSA q/k/v LIFs).
        pj_mac, pj_ac: energy per MAC / per AC in pJ (defaults 4.6 / 0.9).
        ssa: attribute names that identify SSA modules (:class:`SSANames`).
        ssa_heads: count the SSA term with this many heads instead of the module's (the 8-768 log
            used 12 for a model with 8, spec §5 "Quirk").
        fold_head: count a time-distributed Linear classifier with non-binary input once per image
            (see module docstring); False counts it on every timestep.
        check_every: the exact {0, 1} test of a layer's input runs on its first call and every
            ``check_every``-th call after; calls in between reuse the verdict (whether a layer
            sees spikes is a property of the network, not of the batch) and only sum the input,
            which keeps the hooks' cost near one pass over the inputs. 1 = test every call.
        measure: False records only shapes (used by :func:`from_rates`).
    """

    def __init__(self, model: nn.Module, *, pj_mac: float = PJ_MAC, pj_ac: float = PJ_AC,
                 ssa: SSANames = SSANames(), ssa_heads: int | None = None, fold_head: bool = True,
                 check_every: int = 10, measure: bool = True):
        if check_every < 1:
            raise ValueError(f"check_every must be >= 1, got {check_every}")
        self.model, self.pj_mac, self.pj_ac, self.measure = model, pj_mac, pj_ac, measure
        self.check_every = check_every
        self.ssa_names = ssa
        self.ssa = _ssa_modules(model, ssa, ssa_heads)
        self.head = _classifier(model) if fold_head else None
        self.handles: list[Any] = []
        self.reset()

    def reset(self) -> None:
        """Forget every count. Entering the context again keeps counting (one evaluation may span
        several ``with`` blocks); a new evaluation needs a new Counter or ``reset()``."""
        self.images = 0
        self.dense: dict[str, float] = {}   # Σ dense ops over calls (all rows, every timestep)
        self.folded: dict[str, float] = {}  # the same with the classifier counted once per image
        self.record: dict[str, list[tuple]] = {}  # per call: (Σx, verdict, dense, folded, numel)
        self.calls: dict[str, int] = {}
        self.verdict: dict[str, torch.Tensor] = {}  # True if the last checked input was binary
        self.lif: dict[str, list] = {}      # q/k/v LIF name -> [Σ spikes (tensor), elements]

    def _targets(self):
        """(module, forward hook) pairs: every Conv/Linear, and the q/k/v LIFs of each SSA."""
        for name, m in self.model.named_modules():
            if isinstance(m, _COUNTED):
                yield m, self._layer_hook(name, m is self.head)
        for name in self.ssa:
            for attr in (self.ssa_names.q, self.ssa_names.k, self.ssa_names.v):
                full = f"{name}.{attr}".lstrip(".")
                yield self.model.get_submodule(full), self._lif_hook(full)

    def __enter__(self) -> "Counter":
        self.handles.append(
            self.model.register_forward_pre_hook(self._count_images, with_kwargs=True))
        self.handles += [m.register_forward_hook(hook) for m, hook in self._targets()]
        return self

    def __exit__(self, *exc: Any) -> None:
        for h in self.handles:
            h.remove()
        self.handles = []

    def _count_images(self, _m: nn.Module, args: tuple, kwargs: dict) -> None:
        x = args[0] if args else next(v for v in kwargs.values() if torch.is_tensor(v))
        self.images += x.shape[1] if x.dim() == 5 else x.shape[0]

    def _layer_hook(self, name: str, is_head: bool):
        def hook(module: nn.Module, inputs: tuple, out: torch.Tensor) -> None:
            x = inputs[0].detach()
            dense = _dense_ops(module, out)
            folded = dense / x.shape[0] if is_head and x.dim() >= 3 else dense
            self.dense[name] = self.dense.get(name, 0) + dense
            self.folded[name] = self.folded.get(name, 0) + folded
            if self.measure:
                self._accumulate(name, x, dense, folded)
        return hook

    def _accumulate(self, name: str, x: torch.Tensor, dense: int, folded: float) -> None:
        """Record one call: Σx and the layer's {0, 1} verdict (device scalars, reduced in
        :meth:`_layers`) with the call's dense and folded op counts and input size. The exact
        test runs on the layer's first call and every ``check_every``-th call after."""
        calls = self.calls.get(name, 0)
        self.calls[name] = calls + 1
        if calls % self.check_every == 0:
            self.verdict[name], s = _binary_and_sum(x)
        else:
            s = x.sum(dtype=torch.float32)
        self.record.setdefault(name, []).append((s, self.verdict[name], dense, folded, x.numel()))

    def _lif_hook(self, name: str):
        def hook(_m: nn.Module, _i: tuple, out: torch.Tensor) -> None:
            s = out.detach().sum(dtype=torch.float32).double() if self.measure else 0.0
            prev = self.lif.get(name, [0.0, 0])
            self.lif[name] = [prev[0] + s, prev[1] + out.numel()]
        return hook

    def _layers(self) -> dict[str, dict[str, Any]]:
        """Per-layer counts per image from the recorded calls (one host sync per layer): binary
        calls add r·M ACs, the others M MACs (the classifier's M folded over T)."""
        layers = {}
        for name, calls in self.record.items():
            s, binary = (torch.stack([c[i] for c in calls]).double().cpu() for i in (0, 1))
            dense, folded, numel = (torch.tensor([c[i] for c in calls], dtype=torch.float64)
                                    for i in (2, 3, 4))
            mac = float(((1 - binary) * folded).sum())
            elems = float((binary * numel).sum())
            layers[name] = {"mac": mac / self.images,
                            "ac": float((binary * s * dense / numel).sum()) / self.images,
                            "input_rate": float((binary * s).sum()) / elems if elems else 1.0,
                            "binary": mac == 0, "dense": self.dense[name] / self.images}
        return layers

    def summary(self) -> dict[str, Any]:
        """Counts per image over every forward pass so far (see :func:`_assemble` for the keys).

        Raises:
            ValueError: no forward pass ran while the context was open, or ``measure=False``.
        """
        if not self.images or not self.measure:
            raise ValueError("Counter.summary(): no measured forward pass ran inside the context")
        rates = {n: float(s) / e for n, (s, e) in self.lif.items()}
        return _assemble(self, self._layers(), rates)


def _ssa_terms(counter: Counter, lif_rates: Mapping[str, float]) -> dict[str, dict[str, Any]]:
    """Per SSA module: T·h·N·d²·(min(r_k, r_v) + r_q) ACs per image and its inputs."""
    terms = {}
    names = counter.ssa_names
    for name, (heads, dim) in counter.ssa.items():
        key = {a: f"{name}.{getattr(names, a)}".lstrip(".") for a in "qkv"}
        if not all(k in counter.lif for k in key.values()):
            continue  # this attention module did not run
        r = {a: float(lif_rates[key[a]]) for a in "qkv"}
        per_image = counter.lif[key["q"]][1] / counter.images  # T·D·N = T·h·d·N elements of Q
        d = dim / heads
        terms[name] = {"ac": per_image * d * (min(r["k"], r["v"]) + r["q"]), "r_q": r["q"],
                       "r_k": r["k"], "r_v": r["v"], "heads": heads, "head_dim": d,
                       "q_elements": per_image}
    return terms


def _assemble(counter: Counter, layers: dict[str, dict[str, Any]],
              lif_rates: Mapping[str, float]) -> dict[str, Any]:
    """The summary dict: ``mac``, ``ac`` (conv/linear ACs + SSA ACs), ``conv_ac``, ``ssa_ac``
    (ops per image), ``energy_mj`` (mJ per image), ``layers`` {name: {mac, ac, input_rate (1.0
    for a non-binary input, as the paper prints it), binary, dense}}, ``ssa`` {name: term},
    ``pj_mac``, ``pj_ac`` (pJ), ``images`` and ``head_folded`` (the classifier counted once)."""
    ssa = _ssa_terms(counter, lif_rates)
    mac = sum((v["mac"] for v in layers.values()), 0.0)
    conv_ac = sum((v["ac"] for v in layers.values()), 0.0)
    ssa_ac = sum((v["ac"] for v in ssa.values()), 0.0)
    head = next((n for n, m in counter.model.named_modules() if m is counter.head), None)
    folded = (head in layers and layers[head]["mac"] > 0
              and counter.folded[head] < counter.dense[head])
    return {"mac": mac, "ac": conv_ac + ssa_ac, "conv_ac": conv_ac, "ssa_ac": ssa_ac,
            "energy_mj": energy_mj(mac, conv_ac + ssa_ac, counter.pj_mac, counter.pj_ac),
            "layers": layers, "ssa": ssa, "pj_mac": counter.pj_mac, "pj_ac": counter.pj_ac,
            "images": counter.images, "head_folded": head if folded else None}


def _meta_pass(model: nn.Module, x: torch.Tensor) -> bool:
    """One forward of ``model`` on ``x`` on the meta device, for its shapes only (no compute, no
    weights touched); False if the model cannot run there."""
    from torch.func import functional_call

    state = {**dict(model.named_parameters()), **dict(model.named_buffers())}
    meta = {k: torch.empty_like(v, device="meta") for k, v in state.items()}
    try:
        with torch.no_grad():
            functional_call(model, meta, (x.to("meta"),))
    except (NotImplementedError, RuntimeError):
        return False
    return True


def _real_pass(model: nn.Module, x: torch.Tensor) -> None:
    """One forward of ``model`` (eval mode, restored after) on zeros shaped like ``x``."""
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros_like(x, device=device))
    finally:
        model.train(was_training)


def from_rates(model: nn.Module, input_size: tuple[int, ...], rates: Mapping[str, float | None],
               **counter_kwargs: Any) -> dict[str, Any]:
    """The :class:`Counter` summary for given firing rates, without data (for published logs).

    Args:
        model: the network (not modified; shapes come from a meta-device pass).
        input_size: one image, ``(C, H, W)`` (the model repeats it T times) or ``(T, C, H, W)``.
        rates: for every Conv/Linear that runs, by module name: its **input** rate in [0, 1] (→
            r·M ACs) or None (non-binary input → M MACs); for every SSA q/k/v LIF (e.g.
            ``block.0.attn.q_lif``): its **output** rate.
        counter_kwargs: ``pj_mac``, ``pj_ac``, ``ssa``, ``ssa_heads``, ``fold_head`` of Counter.

    Raises:
        ValueError: a counted layer or SSA LIF missing from ``rates``, or an unknown name in it.
    """
    shape = (1, *input_size) if len(input_size) == 3 else (input_size[0], 1, *input_size[1:])
    x = torch.empty(shape)
    with Counter(model, measure=False, **counter_kwargs) as c:
        if not _meta_pass(model, x):
            c.reset()
            _real_pass(model, x)
    missing = sorted(set(c.dense) - set(rates)) + sorted(set(c.lif) - set(rates))
    unknown = sorted(set(rates) - set(c.dense) - set(c.lif))
    if missing or unknown:
        raise ValueError(f"from_rates: missing rates for {missing}; unknown names {unknown}")
    layers = {}
    for name, dense in c.dense.items():
        r = rates[name]
        layers[name] = {"mac": c.folded[name] if r is None else 0.0,
                        "ac": 0.0 if r is None else float(r) * dense, "binary": r is not None,
                        "input_rate": 1.0 if r is None else float(r), "dense": dense}
    return _assemble(c, layers, {n: rates[n] for n in c.lif})


def _end_to_end(counter: Counter, x: torch.Tensor, reps: int) -> tuple[float, float]:
    """Fastest of ``reps`` interleaved plain and counted forwards, seconds (the counter stays one
    evaluation across the counted ones, as in a real one)."""
    plain, counted = [], []
    with torch.no_grad():
        for _ in range(reps):
            t0 = time.perf_counter()
            counter.model(x)
            t1 = time.perf_counter()
            with counter:
                counter.model(x)
            plain.append(t1 - t0)
            counted.append(time.perf_counter() - t1)
    return min(plain), min(counted)


def _hook_seconds(counter: Counter, x: torch.Tensor, reps: int) -> tuple[float, float]:
    """Fastest of ``reps`` replays of the counter's hooks on the inputs/outputs of one forward,
    seconds: (a call that runs the exact {0, 1} test, a call that only sums)."""
    calls: list[tuple] = []
    handles = [m.register_forward_hook(lambda m, i, o, h=h: calls.append((h, m, i, o)))
               for m, h in counter._targets()]
    with torch.no_grad():
        counter.model(x)
    for handle in handles:
        handle.remove()
    checked, steady = [], []
    for _ in range(reps):
        counter.reset()
        for out in (checked, steady):  # after reset() every layer's first call is a checked one
            t0 = time.perf_counter()
            for hook, m, i, o in calls:
                hook(m, i, o)
            out.append(time.perf_counter() - t0)
    counter.reset()
    return min(checked), min(steady)


def benchmark_overhead(batch: int = 64, reps: int = 7, threads: int | None = 2) -> dict[str, dict]:
    """Print and return the cost of :class:`Counter` relative to a plain evaluation forward on
    the cpu-profile models: CML-Spikingformer 2-64 (2 heads, T 4) and spiking ResNet-18 width 8
    (T 6), a batch of ``batch`` random 32×32 images, eval mode, no_grad.

    Two estimates per model, in % of the plain forward: ``end_to_end`` (fastest counted vs fastest
    plain forward, interleaved ``reps`` times) and ``hooks`` (the hooks replayed alone on one
    forward's tensors, amortised over ``check_every`` calls: one exact {0, 1} test, the rest sums
    only), which does not drown in the noise of a shared machine. Not a test: timings depend on
    the machine and its load."""
    import timm

    import replicate.models  # noqa: F401  (registers the models)

    if threads:
        torch.set_num_threads(threads)
    cases = {"cml_spikingformer_cifar 2-64 T=4": dict(embed_dim=64, depth=2, num_heads=2, T=4),
             "spiking_resnet18_cifar w8 T=6": dict(width=8, T=6)}
    result = {}
    for label, kwargs in cases.items():
        counter = Counter(timm.create_model(label.split()[0], **kwargs).eval())
        x = torch.randn(batch, 3, 32, 32)
        plain, counted = _end_to_end(counter, x, reps)
        checked, steady = _hook_seconds(counter, x, reps)
        k = counter.check_every
        hooks = (checked + (k - 1) * steady) / k
        r = result[label] = {
            "plain_ms": 1e3 * plain, "counted_ms": 1e3 * counted,
            "end_to_end_pct": 100 * (counted / plain - 1), "hooks_pct": 100 * hooks / plain,
            "checked_call_pct": 100 * checked / plain, "sum_only_pct": 100 * steady / plain}
        print(f"{label}: forward {r['plain_ms']:.0f} ms plain, {r['counted_ms']:.0f} ms counted "
              f"({r['end_to_end_pct']:+.1f} %); hooks alone {r['hooks_pct']:.1f} % (exact-test "
              f"call {r['checked_call_pct']:.1f} %, sum-only call {r['sum_only_pct']:.1f} %, "
              f"check_every={k})")
    return result
