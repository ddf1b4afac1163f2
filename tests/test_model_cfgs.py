"""timm default cfgs of the models replicate registers, and the shared-helper layout of the model files."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import timm
import torch
from timm.data import resolve_data_config
from timm.models import get_pretrained_cfg, is_model_pretrained, model_entrypoint

import replicate.models  # noqa: F401  (registers the models)
from replicate.data.transforms import RECIPES
from replicate.models import CifarResNet, CMLSpikingformer, count_parameters
from replicate.models.spiking_resnet import SpikingPreActResNet, SpikingResNet

MODELS_DIR = Path(replicate.models.__file__).parent


def _data_cfg(side: int, interpolation: str, mean, std, crop_pct: float) -> dict:
    """The data config ``resolve_data_config`` should give for a ``side``×``side`` RGB model."""
    return {"input_size": (3, side, side), "interpolation": interpolation, "mean": mean, "std": std,
            "crop_pct": crop_pct}


CIFAR = _data_cfg(32, "bicubic", (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616), 1.0)
IMAGENET = _data_cfg(224, "bilinear", (0.485, 0.456, 0.406), (0.229, 0.224, 0.225), 0.875)
LOGITKD_STD = (0.2023, 0.1994, 0.2010)
IMAGENET_SF = _data_cfg(224, "bicubic", IMAGENET["mean"], IMAGENET["std"], 1.0)  # imagenet.yml of both repos
DVS = {"input_size": (2, 128, 128), "interpolation": "bilinear", "mean": (0.0, 0.0), "std": (1.0, 1.0),
       "crop_pct": 1.0}

#: every name replicate registers → (resolved data config, num_classes, params of the default model)
EXPECTED = {
    "cml_spikingformer_cifar": (CIFAR, 10, 9_320_122),
    "cml_spikingformer_4_256_cifar": (CIFAR, 10, 4_152_106),
    "cml_spikingformer_2_384_cifar": (CIFAR, 10, 5_762_746),
    "cml_spikingformer_4_384_cifar": (CIFAR, 10, 9_320_122),
    "spikingformer_cifar": (CIFAR, 10, 9_320_122),
    "cml_spikingformer_imagenet": (IMAGENET_SF, 1000, 16_816_024),
    "spikingformer_imagenet": (IMAGENET_SF, 1000, 16_816_024),
    "cml_spikingformer_dvs": (DVS, 10, 2_566_666),
    "spikingformer_dvs": (DVS, 10, 2_566_666),
    "cifar_resnet18_ann": (CIFAR, 10, 11_173_962),
    "cifar_resnet34_ann": (CIFAR, 10, 21_282_122),
    "cifar_resnet19_ann": (CIFAR, 10, 12_697_994),
    "spiking_resnet18_cifar": (CIFAR, 10, 11_173_962),
    "spiking_resnet19_cifar": (CIFAR, 10, 12_697_994),
    "spiking_resnet34_cifar": (CIFAR, 10, 21_282_122),
    "spiking_preact_resnet34_imagenet": (IMAGENET, 1000, 21_806_184),
    "sew_resnet18": (IMAGENET, 1000, 11_689_512),
    "sew_resnet34": (IMAGENET, 1000, 21_797_672),
    "sew_resnet50": (IMAGENET, 1000, 25_557_032),
}


def replicate_names() -> set[str]:
    return {n for n in timm.list_models() if model_entrypoint(n).__module__.startswith("replicate.")}


def test_every_registered_model_has_an_expected_cfg():
    assert replicate_names() == set(EXPECTED)


def test_cifar_cfg_uses_the_data_pipelines_numbers():
    assert RECIPES["bkdsnn_cifar"] == (CIFAR["mean"], CIFAR["std"])
    assert RECIPES["logitkd_cifar"] == (CIFAR["mean"], LOGITKD_STD)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_registered_cfg_has_no_weights(name):
    cfg = get_pretrained_cfg(name)
    data, k, _ = EXPECTED[name]
    assert cfg is not None and not cfg.has_weights and not is_model_pretrained(name)
    assert cfg.hf_hub_id is None and not cfg.url and cfg.architecture == name
    assert cfg.num_classes == k and tuple(cfg.input_size) == data["input_size"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_resolve_data_config_of_default_model(name):
    data, k, params = EXPECTED[name]
    model = timm.create_model(name)
    resolved = resolve_data_config(model=model)
    assert {key: resolved[key] for key in data} == data
    assert resolved["crop_mode"] == "center"
    assert model.pretrained_cfg is model.default_cfg
    assert model.pretrained_cfg["architecture"] == name and model.pretrained_cfg["num_classes"] == k
    assert model.num_classes == k and count_parameters(model) == params
    for key in ("first_conv", "classifier"):  # the cfg names real modules
        assert isinstance(model.get_submodule(model.pretrained_cfg[key]), torch.nn.Module)


def test_instance_cfg_follows_create_model_kwargs():
    m = timm.create_model("spiking_resnet19_cifar", width=4, in_chans=2, num_classes=11)
    data = resolve_data_config(model=m)
    assert data["input_size"] == (2, 32, 32)
    assert data["mean"] == (0.0, 0.0) and data["std"] == (1.0, 1.0)  # DVS frames: not normalised
    assert m.pretrained_cfg["num_classes"] == 11
    f = timm.create_model("cml_spikingformer_cifar", embed_dim=32, depth=1, num_heads=2, img_size=16,
                          num_classes=100)
    assert resolve_data_config(model=f)["input_size"] == (3, 16, 16)
    assert f.pretrained_cfg["num_classes"] == 100
    reg = get_pretrained_cfg("spiking_resnet19_cifar")  # the registry is not touched
    assert tuple(reg.input_size) == (3, 32, 32) and reg.num_classes == 10


def test_pretrained_cfg_overlay_selects_the_logitkd_std():
    m = timm.create_model("spiking_resnet18_cifar", width=4, pretrained_cfg_overlay=dict(std=LOGITKD_STD))
    data = resolve_data_config(model=m)
    assert (data["mean"], data["std"]) == RECIPES["logitkd_cifar"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_pretrained_true_is_refused(name):
    with pytest.raises(ValueError, match="no pretrained weights"):
        timm.create_model(name, pretrained=True)


@pytest.mark.parametrize("name, timm_kwargs, cls, kwargs", [
    ("cml_spikingformer_2_384_cifar", dict(T=1), CMLSpikingformer,
     dict(embed_dim=384, depth=2, num_heads=12, T=1)),
    ("cifar_resnet19_ann", dict(width=4), CifarResNet,
     dict(layers=(3, 3, 2), width=4, channels=(8, 16, 32), hidden_features=16)),
    ("spiking_resnet18_cifar", dict(width=4, T=2), SpikingResNet,
     dict(layers=(2, 2, 2, 2), widths=(4, 8, 16, 32), T=2)),
    ("spiking_resnet19_cifar", dict(width=4, T=2), SpikingResNet,
     dict(layers=(3, 3, 2), widths=(8, 16, 32), strides=(1, 2, 2), stem_width=8, hidden_features=16, T=2)),
    ("spiking_preact_resnet34_imagenet", dict(width=4, T=2), SpikingPreActResNet,
     dict(layers=(3, 4, 6, 3), width=4, T=2)),
])
def test_timm_build_path_leaves_weights_and_outputs_unchanged(name, timm_kwargs, cls, kwargs):
    """The registered entrypoint (timm's build_model_with_cfg) builds the very model the class does:
    same state_dict keys and values from the same seed, same outputs."""
    torch.manual_seed(0)
    a = timm.create_model(name, **timm_kwargs).eval()
    torch.manual_seed(0)
    b = cls(**kwargs).eval()
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb) and all(torch.equal(sa[key], sb[key]) for key in sa)
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(a(x), b(x))


def _relative_imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level >= 1:
            yield node.module or "", [alias.name for alias in node.names]


def test_no_model_file_imports_private_names_of_another():
    model_files = {p.stem for p in MODELS_DIR.glob("*.py")} - {"__init__"}
    for path in MODELS_DIR.glob("*.py"):
        for module, names in _relative_imports(path):
            if module.split(".")[-1] in model_files or module == "":
                private = [n for n in names if n.startswith("_")]
                assert not private, f"{path.name} imports {private} from .{module}"


def test_sources_are_cited_by_file_and_commit_not_by_spec_section():
    files = list(MODELS_DIR.glob("*.py")) + [MODELS_DIR.parent / "neurons.py"]
    for path in files:
        text = path.read_text()
        assert not re.search(r"spec[- ]|§", text), f"{path.name} still cites a spec section"
