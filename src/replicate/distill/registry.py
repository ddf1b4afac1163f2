"""The distiller registry: one source file per distillation method, found by name.

A method is an ``nn.Module`` class decorated with ``@register_distiller("name")`` that builds
itself from a run's :class:`~replicate.config.Config` (``from_config(cfg, ctx)``), validates the
config fields it reads (``check_config(cfg)``, called by ``Config`` before any compute) and says
what the training step must give it (class attributes, :class:`Distiller`). The engine, the config
and the book ask the registry; none of them names a method. ``"none"`` (plain CE training) is not
a class: :func:`build` returns ``None`` for it.

Example (a whole method; see CONTRIBUTING.md)::

    @register_distiller("toy")
    class Toy(nn.Module):
        needs_feature = False
        @classmethod
        def from_config(cls, cfg, ctx):
            return cls(cfg.kd_weight)
        def forward(self, student, teacher, target):
            return {"toy": self.w * (student.mean_logits - teacher.mean_logits).pow(2).mean()}
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Protocol, TypeVar, runtime_checkable

import torch
from torch import nn

if TYPE_CHECKING:  # pragma: no cover
    from ..config import Config
    from ..models.output import ModelOutput

NONE = "none"
_REGISTRY: dict[str, type[nn.Module]] = {}
#: Class attributes a distiller may set, with the value assumed when it does not.
DEFAULTS: dict[str, Any] = {"needs_feature": False, "needs_stages": False, "replaces_ce": False,
                            "train_steps": ("bptt",)}


@runtime_checkable
class Distiller(Protocol):
    """What the engine and the training steps expect of a registered distiller.

    Attributes:
        needs_feature: the models must return their last feature map (student ``[T, B, C, H, W]``
            or ``[B, C, H, W]`` T-mean, teacher ``[B, C]`` or ``[B, C, H, W]``; BKD).
        needs_stages: the student must return its stage outputs (NeurIPS 2025 branches).
        replaces_ce: the distiller returns its own CE term (per-timestep TWCE, ICML 2025), so the
            step adds no CE of the T-mean logits.
        train_steps: the training steps it can be used with (``replicate.train.steps``).
    """

    needs_feature: ClassVar[bool]
    needs_stages: ClassVar[bool]
    replaces_ce: ClassVar[bool]
    train_steps: ClassVar[tuple[str, ...]]

    @classmethod
    def from_config(cls, cfg: "Config", ctx: "BuildContext") -> "Distiller": ...

    def forward(self, student: "ModelOutput", teacher: "ModelOutput | None",
                target: torch.Tensor) -> dict[str, torch.Tensor]:
        """Named, already weighted scalar loss terms; the step adds them to its CE."""


@dataclass
class BuildContext:
    """What a distiller may look at while it is built.

    Attributes:
        student: the student model (train or eval mode; a probe must not change its state).
        teacher: the frozen teacher, or ``None`` when the run has none.
        probe: a few training images ``[N, C, H, W]`` on the run's device, for shape probes.
        num_classes: K, the number of classes.
        img_size, teacher_img_size: the sizes the step resizes a batch to (None: as is).
    """

    student: nn.Module
    teacher: nn.Module | None
    probe: torch.Tensor
    num_classes: int
    img_size: int | None = None
    teacher_img_size: int | None = None

    def feature_shapes(self) -> tuple[int, int, bool]:
        """``(C_student, C_teacher, pooled)`` of the models' last features on :attr:`probe`:
        ``pooled`` is True when the teacher's feature is a vector ``[B, C]`` (ViT class token,
        pooled ResNet). Runs both models in eval mode without gradients (BN statistics untouched).
        """
        from ..train.evaluate import forward_output, resize
        self.student.eval()
        with torch.no_grad():
            s = forward_output(self.student, resize(self.probe, self.img_size), True).feature
            t = forward_output(self.teacher, resize(self.probe, self.teacher_img_size), True).feature
        return s.shape[1], t.shape[1], t.dim() == 2


D = TypeVar("D", bound=type)


def register_distiller(name: str) -> Callable[[D], D]:
    """Class decorator: register a distiller under ``name`` (the config's ``distill`` value).

    Raises:
        ValueError: ``name`` is taken (or is ``"none"``), or the class has no ``from_config``.
    """
    def deco(cls: D) -> D:
        if name == NONE or name in _REGISTRY:
            raise ValueError(f"distiller {name!r} is already registered ({_REGISTRY.get(name)})")
        if not callable(getattr(cls, "from_config", None)):
            raise ValueError(f"distiller {cls.__name__} needs a from_config(cfg, ctx) classmethod")
        _REGISTRY[name] = cls
        return cls
    return deco


def unregister_distiller(name: str) -> None:
    """Remove ``name`` (tests that register a toy method clean up with this)."""
    _REGISTRY.pop(name, None)


def names() -> tuple[str, ...]:
    """Every valid ``distill`` value: ``"none"`` and the registered names."""
    return (NONE, *sorted(_REGISTRY))


def get(name: str) -> type[nn.Module]:
    """The class registered as ``name``.

    Raises:
        ValueError: unknown name; the message suggests the closest registered names.
    """
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, names(), n=3)
        hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
        raise ValueError(f"unknown distiller {name!r}{hint} (registered: {', '.join(names())})")
    return _REGISTRY[name]


def trait(name: str, attr: str) -> Any:
    """A class attribute of distiller ``name`` (see :data:`DEFAULTS`); ``"none"`` has the defaults."""
    if name == NONE:
        return DEFAULTS[attr]
    return getattr(get(name), attr, DEFAULTS[attr])


def check_config(cfg: "Config") -> None:
    """Validate the fields the configured method reads, and its compatibility with the training
    step, before any compute.

    Raises:
        ValueError: unknown method, a missing or impossible field, or an unsupported step.
    """
    if cfg.distill == NONE:
        return
    cls = get(cfg.distill)
    steps = trait(cfg.distill, "train_steps")
    if cfg.train_step not in steps:
        usable = [n for n in names() if cfg.train_step in trait(n, "train_steps")]
        raise ValueError(f"distill={cfg.distill!r} supports train_step {' or '.join(steps)}, not "
                         f"{cfg.train_step!r} (usable with it: {', '.join(usable)})")

    check = getattr(cls, "check_config", None)
    if check is not None:
        check(cfg)


def needs_teacher(cfg: "Config") -> bool:
    """Whether the run distils from a teacher model: the method's ``needs_teacher(cfg)`` if it
    has one, else True for every method but ``"none"``."""
    if cfg.distill == NONE:
        return False
    fn = getattr(get(cfg.distill), "needs_teacher", None)
    return True if fn is None else bool(fn(cfg))


def require(cfg: "Config", *names: str) -> None:
    """Raise ``ValueError`` naming every field of ``names`` that is ``None`` in ``cfg``."""
    missing = [k for k in names if getattr(cfg, k) is None]
    if missing:
        raise ValueError(f"distill={cfg.distill!r} needs {', '.join(missing)}")


def at_least(cfg: "Config", bound: float, *names: str, strict: bool = False) -> None:
    """Raise ``ValueError`` for the first field of ``names`` below ``bound`` (at it, if strict)."""
    for k in names:
        v = getattr(cfg, k)
        if not (v > bound if strict else v >= bound):
            raise ValueError(f"{k} must be {'>' if strict else '>='} {bound:g}, got {v}")


def one_of(cfg: "Config", name: str, allowed: tuple[str, ...]) -> None:
    """Raise ``ValueError`` if field ``name`` is not one of ``allowed``."""
    if getattr(cfg, name) not in allowed:
        raise ValueError(f"{name} {getattr(cfg, name)!r} is not one of {allowed}")


def build(cfg: "Config", ctx: BuildContext) -> nn.Module | None:
    """The distiller of ``cfg`` built by its ``from_config`` (``None`` for ``"none"``)."""
    if cfg.distill == NONE:
        return None
    return get(cfg.distill).from_config(cfg, ctx)
