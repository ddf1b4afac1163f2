"""replicate: re-runs spiking-neural-network training papers and records what was measured.

Importing the package registers its models with timm, so ``timm.create_model(name)`` works for
every name in ``replicate.models``.
"""
from . import models  # noqa: F401  (registers the models with timm)
from .config import Config

__all__ = ["Config", "load_model", "models"]


def __getattr__(name: str):
    """``replicate.load_model`` (:func:`replicate.inference.load_model`), imported on first use."""
    if name == "load_model":
        from .inference import load_model
        return load_model
    raise AttributeError(f"module 'replicate' has no attribute {name!r}")
__version__ = "0.1.0"
