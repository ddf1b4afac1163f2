"""The fused CPU LIF gives spikingjelly's bits: spikes, membrane, input gradients, and the
parameters of a model after several optimiser steps (so it can be the default and committed records
stay valid)."""
import itertools

import pytest
import torch
from spikingjelly.activation_based import neuron

from replicate import fused_lif
from replicate.neurons import SURROGATES, LIFSettings

CASES = list(itertools.product([0.0, None], [True, False], [True, False], ["sigmoid", "atan"]))


def _bits(t: torch.Tensor) -> torch.Tensor:
    return t.detach().contiguous().view(torch.int32)


def _reference(x, g, s: LIFSettings):
    """spikingjelly's own LIFNode (multi-step, CPU): spikes, final membrane, input gradient."""
    node = neuron.LIFNode(tau=s.tau, decay_input=s.decay_input, v_threshold=s.v_threshold,
                          v_reset=s.v_reset, detach_reset=s.detach_reset, step_mode="m",
                          surrogate_function=SURROGATES[s.surrogate](alpha=s.surrogate_alpha))
    x = x.clone().requires_grad_()
    spikes = node(x)
    (spikes * g).sum().backward()
    return spikes.detach(), node.v.detach(), x.grad


def _ours(x, g, s: LIFSettings, fused: bool):
    kw = dict(tau=s.tau, decay_input=s.decay_input, v_threshold=s.v_threshold, v_reset=s.v_reset,
              detach_reset=s.detach_reset, surrogate=s.surrogate, alpha=s.surrogate_alpha)
    x = x.clone().requires_grad_()
    T = x.shape[0]
    p = fused_lif._params(**{k: v for k, v in kw.items()})
    spikes, v_last = fused_lif._LIFFunction.apply(x.reshape(T, -1), p, fused)
    (spikes.view(x.shape) * g).sum().backward()
    return spikes.view(x.shape).detach(), v_last.view(x.shape[1:]), x.grad


@pytest.mark.parametrize("fused", [False, True], ids=["eager", "compiled"])
@pytest.mark.parametrize("v_reset,detach,decay_input,surrogate", CASES)
def test_bit_identical_to_spikingjelly(v_reset, detach, decay_input, surrogate, fused):
    if fused and not fused_lif.available():
        pytest.skip("no C++ toolchain for the fused LIF here")
    torch.manual_seed(0)
    # odd sizes: PyTorch's vectorised kernels treat a tensor's tail differently
    x = torch.randn(5, 3, 7, 11) * 1.5 + 0.6
    g = torch.randn_like(x)
    for tau in (2.0, 1.25):
        s = LIFSettings(tau=tau, decay_input=decay_input, v_reset=v_reset, detach_reset=detach,
                        surrogate=surrogate, surrogate_alpha=4.0 if surrogate == "sigmoid" else 2.0)
        ref, mine = _reference(x, g, s), _ours(x, g, s, fused)
        assert ref[0].sum() > 0, "no spikes: the test would not exercise the reset"
        for a, b in zip(ref, mine):
            assert torch.equal(_bits(a), _bits(b))


def test_bit_identical_on_a_long_timestep():
    """N = 140 002 per timestep: PyTorch splits its sigmoid over threads (grain 32 768) and runs
    each share's tail in scalar code; the fused backward must split it the same way."""
    if not fused_lif.available():
        pytest.skip("no C++ toolchain for the fused LIF here")
    torch.manual_seed(1)
    x = torch.randn(3, 2, 70001) * 1.5 + 0.6
    g = torch.randn_like(x)
    s = LIFSettings()
    for a, b in zip(_reference(x, g, s), _ours(x, g, s, True)):
        assert torch.equal(_bits(a), _bits(b))


def test_model_parameters_after_steps_bit_identical(monkeypatch):
    """Three SGD steps of a small spiking ResNet-18 (T = 3): every parameter equal bit for bit
    with the C++ loop and with spikingjelly's own neuron."""
    if not fused_lif.available():
        pytest.skip("no C++ toolchain for the fused LIF here")
    import timm

    import replicate.models  # noqa: F401  (registers the models)

    def train(enabled: str):
        monkeypatch.setenv("REPLICATE_FUSED_LIF", enabled)
        torch.manual_seed(0)
        model = timm.create_model("spiking_resnet18_cifar", num_classes=10, width=4, T=3)
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        gen = torch.Generator().manual_seed(1)
        for _ in range(3):
            x = torch.randn(4, 3, 32, 32, generator=gen)
            y = torch.randint(0, 10, (4,), generator=gen)
            loss = torch.nn.functional.cross_entropy(model(x).mean(0), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        return [p.detach().clone() for p in model.parameters()]

    ref, fused = train("0"), train("1")
    assert len(ref) == len(fused) > 0
    for a, b in zip(ref, fused):
        assert torch.equal(_bits(a), _bits(b))


def test_fused_path_is_taken_and_bad_input_is_refused():
    if not fused_lif.available():
        pytest.skip("no C++ toolchain for the fused LIF here")
    x = torch.ones(2, 3)
    with pytest.raises(ValueError, match="float32 CPU"):
        fused_lif.lif_multistep(x.double(), tau=2.0, decay_input=True, v_threshold=1.0,
                                v_reset=0.0, detach_reset=True, surrogate="sigmoid", alpha=4.0)
    with pytest.raises(ValueError, match="surrogates"):
        fused_lif.lif_multistep(x, tau=2.0, decay_input=True, v_threshold=1.0, v_reset=0.0,
                                detach_reset=True, surrogate="erf", alpha=4.0)
    # 2 steps of constant input 1.5, τ = 2, hard reset: H = 0.75 → 1.125 (spike) → reset
    out = fused_lif.lif_multistep(torch.full((3, 1), 1.5), tau=2.0, decay_input=True,
                                  v_threshold=1.0, v_reset=0.0, detach_reset=True,
                                  surrogate="sigmoid", alpha=4.0, fused=True)
    assert out.flatten().tolist() == [0.0, 1.0, 0.0]
    assert fused_lif.build_seconds() is not None


def test_builds_wherever_a_compiler_is_present(monkeypatch):
    """CI and `make system` provide g++: there the fused path must build, not silently fall back
    (a fallback gives the same numbers, about 25 % slower per spiking-ResNet step)."""
    import shutil

    monkeypatch.delenv("REPLICATE_FUSED_LIF", raising=False)
    if shutil.which("g++") is None and shutil.which("c++") is None:
        pytest.skip("no C++ compiler on this machine")
    assert fused_lif.available(), fused_lif._FAILED


def test_a_failed_build_falls_back_with_one_warning_and_the_same_spikes(monkeypatch):
    """No compiler (the build raises): one RuntimeWarning, `available()` is False, and LIF layers
    run spikingjelly's neuron, with the same spikes."""
    from torch.utils import cpp_extension

    def broken(*a, **k):
        raise RuntimeError("Error building extension 'replicate_fused_lif'\nc++: not found")

    monkeypatch.setattr(fused_lif, "_EXT", None)
    monkeypatch.setattr(fused_lif, "_FAILED", None)
    monkeypatch.setattr(cpp_extension, "load", broken)
    monkeypatch.delenv("REPLICATE_FUSED_LIF", raising=False)
    with pytest.warns(RuntimeWarning, match="fused LIF unavailable .*c\\+\\+: not found"):
        assert fused_lif.available() is False
    assert fused_lif.available() is False  # decided once: no second warning, no second build
    with pytest.raises(RuntimeError, match="extension unavailable"):
        fused_lif.lif_multistep(torch.ones(2, 3), tau=2.0, decay_input=True, v_threshold=1.0,
                                v_reset=0.0, detach_reset=True, surrogate="sigmoid", alpha=4.0,
                                fused=True)
    torch.manual_seed(0)
    x = torch.randn(4, 2, 9) * 2
    s = LIFSettings()
    assert torch.equal(s.build()(x), _reference(x, torch.ones_like(x), s)[0])
