"""replicate: re-runs spiking-neural-network training papers and records what was measured.

Importing the package registers its models with timm, so ``timm.create_model(name)`` works for
every name in ``replicate.models``.
"""
from . import models  # noqa: F401  (registers the models with timm)
from .config import Config

__all__ = ["Config", "models"]
__version__ = "0.1.0"
