"""The one flat run configuration.

Every field is a notebook parameter (papermill `-p name value`) and a key of the record's
``config``. Fields that a run's architecture does not use stay ``None``. The scientific fields
(everything except :data:`RUNTIME_FIELDS`) are hashed into :func:`config_hash`, which keys
records and checkpoints; a student's hash also covers its teacher's hash, so retraining a
teacher with another recipe invalidates the students distilled from it.

Adding a field changes the canonical JSON and so every hash: list a new field in
``HASH_OPTIONAL`` with a ``None`` default and it is left out of the hash while it is ``None``,
so the records made before it stay current.
"""
from __future__ import annotations

import dataclasses
import difflib
import re
import hashlib
import json
import typing
from dataclasses import dataclass, field, fields
from typing import Any

PROFILES = ("paper", "gpu", "cpu", "smoke")
#: Fields added after the first records; hashed only when set (see the module docstring).
HASH_OPTIONAL: frozenset[str] = frozenset({"lif_decay", "twkl_alpha", "twsd_beta", "self_teacher",
                                           "crop_padding", "autoaugment", "cutout", "in_chans",
                                           "esd_alpha", "esd_beta", "esd_pool", "esd_teacher",
                                           "sync_bn", "ratebp_bn_stats"})
TRAIN_STEP_NAMES = ("bptt", "rate_bp")

#: Fields that say where and how a run executes, not what it computes; excluded from the hash.
RUNTIME_FIELDS = frozenset({"data_root", "out_dir", "num_threads", "device", "teacher_checkpoint",
                            "eval_batch_size", "progress", "num_workers"})


def _r(lo=None, hi=None, lo_open=False, hi_open=False) -> tuple:
    return (lo, hi, lo_open, hi_open)


#: The range of every numeric field: (low, high, low excluded, high excluded); None = unbounded.
RANGES: dict[str, tuple] = {
    **{k: _r(1) for k in ("epochs", "batch_size", "curve_test_subset", "eval_batch_size", "T",
                          "embed_dim", "depth", "num_heads", "width", "in_chans", "img_size",
                          "teacher_img_size", "train_subset", "final_test_subset", "cutout",
                          "num_threads")},
    **{k: _r(0) for k in ("seed", "data_seed", "cooldown_epochs", "num_workers", "crop_padding",
                          "weight_decay", "warmup_lr", "min_lr", "mixup_alpha", "kd_weight",
                          "bkd_alpha")},
    **{k: _r(0, lo_open=True) for k in ("lr", "kd_temperature", "lif_v_threshold", "surrogate_alpha")},
    **{k: _r(0, 1) for k in ("warmup_frac", "mixup_off_frac", "hflip", "random_erasing")},
    **{k: _r(0, 1, hi_open=True) for k in ("label_smoothing", "momentum", "lif_decay", "bkd_mask_ratio")},
    "lif_tau": _r(1, lo_open=True),
}


@dataclass
class Config:
    """A training run, as data. Names follow the papers (T, LIF τ, V_th, KD temperature ...).

    Raises:
        TypeError: a field has the wrong type (checked on construction, before any compute).
        ValueError: a field has an impossible value (unknown profile or distillation type, ...).
    """

    # --- what is run
    row: str = ""                      #: registry row id, e.g. ``bkdsnn-c10-2-384-mixed``
    profile: str = "smoke"             #: paper | gpu | cpu | smoke
    seed: int = 0                      #: run seed (init, shuffling, augmentation, masks)
    # --- data
    dataset: str = "cifar10"
    data_root: str | None = None       #: overrides $REPLICATE_DATA; see replicate.data
    data_seed: int = 0                 #: seed of the subset draw, separate from ``seed``
    train_subset: int | None = None    #: class-balanced train subset size (None: all)
    curve_test_subset: int = 2000      #: fixed class-balanced test subset for per-epoch curves
    final_test_subset: int | None = None  #: None: the full test set at the end
    recipe: str = "bkdsnn_cifar"       #: augmentation recipe, replicate.data.transforms
    # --- model
    model: str = ""                    #: timm name registered by replicate (or timm's own)
    pretrained: bool = False           #: timm hub weights (ANN teachers only; needs internet)
    embed_dim: int | None = None
    depth: int | None = None
    num_heads: int | None = None
    width: int | None = None           #: base width of ANN ResNets
    in_chans: int | None = None        #: input channels (None: 3; CIFAR10-DVS: 2 polarities)
    img_size: int | None = None        #: resize (bicubic) the batch before the model (ViT at 224)
    T: int | None = None               #: timesteps (SNNs)
    lif_tau: float | None = None
    lif_decay: float | None = None     #: leak λ, τ = 1/(1−λ) (ICML/NeurIPS papers); not with lif_tau
    lif_decay_input: bool | None = None
    lif_v_threshold: float | None = None
    lif_v_reset: float | None = 0.0    #: None = soft reset
    lif_detach_reset: bool | None = None
    surrogate: str | None = None
    surrogate_alpha: float | None = None
    # --- optimisation
    epochs: int = 1
    batch_size: int = 64
    optimizer: str = "adamw"           #: adamw | sgd
    lr: float = 5e-4
    weight_decay: float = 0.06
    momentum: float = 0.9
    warmup_frac: float = 0.05          #: warm-up as a fraction of all iterations
    warmup_lr: float = 1e-5
    min_lr: float = 1e-5
    cooldown_epochs: int = 0           #: epochs at min_lr after the cosine (paper: 10)
    label_smoothing: float = 0.1
    mixup_alpha: float = 0.0
    mixup_off_frac: float = 0.5        #: mixup switched off after this fraction of epochs
    randaugment: str | None = None     #: timm RandAugment string, e.g. ``rand-m9-n1-mstd0.4``
    random_erasing: float = 0.0
    hflip: float = 0.5
    crop_padding: int | None = None    #: RandomCrop(32, padding) (logit-KD recipe: 4)
    autoaugment: bool | None = None    #: torchvision AutoAugment, CIFAR-10 policy
    cutout: int | None = None          #: Cutout hole size in px (logit-KD recipe: 16)
    train_step: str = "bptt"           #: bptt | rate_bp (replicate.train.steps.TRAIN_STEPS)
    sync_bn: bool | None = None        #: SyncBatchNorm across torchrun's CUDA processes (as the original)
    #: rate-BP spike-pass BN statistics: None (Tensor.mean/var) | batchnorm (replicate.ratebp.BN_STATS)
    ratebp_bn_stats: str | None = None
    # --- distillation
    distill: str = "none"              #: none or a registered method (replicate.distill.registry)
    teacher_row: str | None = None     #: registry row of the teacher (same profile)
    teacher_checkpoint: str | None = None  #: explicit teacher weights (else looked up by hash)
    teacher_img_size: int | None = None    #: upsample the student batch (bicubic) for the teacher
    kd_temperature: float = 2.0
    kd_weight: float = 1.0
    bkd_mask_ratio: float = 0.15
    bkd_alpha: float = 2e-3
    twkl_alpha: float | None = None    #: α of per-timestep KD to the teacher (ICML 2025, L_TWKL)
    twsd_beta: float | None = None     #: β of per-timestep self-distillation (L_TWSD)
    self_teacher: str | None = None    #: ensemble | correct_only (how L_TWSD's teacher is formed)
    esd_alpha: float | None = None     #: "alp", weight of the branches' CE (enhanced-self-distillation-framework-for-snn experiment/cifar/main.py@d44e876, train())
    esd_beta: float | None = None      #: β, weight of the reliable self-distillation KD
    esd_pool: str | None = None        #: avg4 (the released fixed AvgPool(4)) | adaptive
    esd_teacher: str | None = None     #: reliable (correct exits only) | all (plain exit averaging)
    # --- runtime (not hashed)
    eval_batch_size: int = 256
    num_threads: int | None = None
    num_workers: int = 0               #: DataLoader worker processes (augmentation on a GPU box)
    device: str = "cpu"
    out_dir: str = "out"
    progress: bool = True
    teacher_hash: str | None = field(default=None, repr=False)  #: filled by the registry

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(Config)
        for f in fields(self):
            value = getattr(self, f.name)
            if not _isinstance(value, hints[f.name]):
                raise TypeError(f"config field {f.name!r} must be {_type_name(hints[f.name])}, "
                                f"got {type(value).__name__} {value!r}")
        if self.profile not in PROFILES:
            raise ValueError(f"profile {self.profile!r} is not one of {PROFILES}")
        self._check_ranges()
        from .distill import registry  # the methods validate their own fields
        if self.distill not in registry.names():
            registry.get(self.distill)  # raises, suggesting the closest registered name
        if self.train_step not in TRAIN_STEP_NAMES:
            raise ValueError(f"train_step {self.train_step!r} is not one of {TRAIN_STEP_NAMES}")
        if self.train_step == "rate_bp":
            self._check_rate_bp()
        if self.ratebp_bn_stats not in (None, "batchnorm"):
            raise ValueError(f"ratebp_bn_stats {self.ratebp_bn_stats!r} is not one of (None, 'batchnorm')")
        if self.ratebp_bn_stats is not None and self.train_step != "rate_bp":
            raise ValueError("ratebp_bn_stats applies to train_step='rate_bp' only")
        registry.check_config(self)
        if self.needs_teacher and not self.teacher_row:
            raise ValueError(f"distill={self.distill!r} needs teacher_row (the teacher's architecture; "
                             f"teacher_checkpoint may give its weights)")

        if self.optimizer not in ("adamw", "sgd"):
            raise ValueError(f"optimizer {self.optimizer!r} is not one of ('adamw', 'sgd')")
        self._check_names()
        self._check_subsets()

    def _check_ranges(self) -> None:
        """Every numeric field inside its range (:data:`RANGES`; ``None`` is "not set")."""
        for name, (lo, hi, lo_open, hi_open) in RANGES.items():
            v = getattr(self, name)
            if v is None:
                continue
            bad = (v <= lo if lo_open else v < lo) if lo is not None else False
            bad = bad or ((v >= hi if hi_open else v > hi) if hi is not None else False)
            if bad:
                lo_s = "" if lo is None else f"{'(' if lo_open else '['}{lo:g}"
                hi_s = "∞)" if hi is None else f"{hi:g}{')' if hi_open else ']'}"
                raise ValueError(f"{name} must be in {lo_s}, {hi_s}, got {v}")

    def _check_names(self) -> None:
        """The model is a timm name (replicate's or timm's own), the device one torch knows,
        the surrogate one the neurons know, and the output folder not empty."""
        if self.model:
            import timm

            import replicate.models  # noqa: F401  (registers replicate's models)
            if not timm.is_model(self.model):
                close = difflib.get_close_matches(self.model, timm.list_models(), n=3)
                hint = f"; did you mean {' or '.join(close)}?" if close else ""
                raise ValueError(f"model {self.model!r} is not a timm or replicate model{hint}")
        if not re.fullmatch(r"cpu|mps|cuda(:\d+)?", self.device):
            raise ValueError(f"device {self.device!r} is not cpu, cuda, cuda:N or mps")
        if self.surrogate is not None and self.surrogate not in ("sigmoid", "atan"):
            raise ValueError(f"surrogate {self.surrogate!r} is not 'sigmoid' or 'atan'")
        if not self.out_dir.strip():
            raise ValueError("out_dir is empty; name an output folder (e.g. out)")

    def _check_subsets(self) -> None:
        """Subsets no larger than their split, for a dataset of known shape
        (:data:`replicate.data.EXPECTED_SHAPES`)."""
        from .data import EXPECTED_SHAPES
        shape = EXPECTED_SHAPES.get(self.dataset)
        if shape is None:
            return
        n = len(shape["classes"])
        for name, split in (("train_subset", "train"), ("curve_test_subset", "test"),
                            ("final_test_subset", "test")):
            size = n * shape["per_class"][split]
            if getattr(self, name) is not None and getattr(self, name) > size:
                raise ValueError(f"{name} {getattr(self, name)} is larger than the {self.dataset} "
                                 f"{split} split ({size} images)")

    def _check_rate_bp(self) -> None:
        """Rate-based BP's eligibility assumes soft reset, detached reset and no input decay
        (Rate-based BP, NeurIPS 2024, arXiv 2410.11488; ``model/layer.py``@3c70ee9 of
        github.com/Tab-ct/rate-based-backpropagation, ``LIFLayer.calcu_sg_and_elig()``)."""
        want = {"lif_v_reset": None, "lif_detach_reset": True, "lif_decay_input": False}
        bad = {k: getattr(self, k) for k, v in want.items() if getattr(self, k) != v}
        if self.T is None or bad:
            raise ValueError(
                f"train_step='rate_bp' needs an SNN (T set) with lif_v_reset=None (soft reset), "
                f"lif_detach_reset=True and lif_decay_input=False; got T={self.T}, {bad}")

    # ------------------------------------------------------------------ helpers
    @property
    def needs_teacher(self) -> bool:
        """Whether the run distils from a teacher model (the method says: TWCE + TWSD alone,
        α = 0, and the self-distillation of NeurIPS 2025 do not)."""
        from .distill import registry
        return registry.needs_teacher(self)

    def replace(self, **changes: Any) -> "Config":
        """A copy with ``changes`` applied (validated like a new config)."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise TypeError(f"unknown config field(s) {sorted(unknown)}; "
                            f"known: {sorted(f.name for f in fields(self))}")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def scientific(self) -> dict[str, Any]:
        """The hashed part: everything that changes what is computed."""
        return {k: v for k, v in self.to_dict().items()
                if k not in RUNTIME_FIELDS and not (k in HASH_OPTIONAL and v is None)}

    @property
    def hash(self) -> str:
        return config_hash(self)

    def model_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``timm.create_model``: the model fields that are set."""
        keys = ("embed_dim", "depth", "num_heads", "width", "in_chans", "T", "lif_tau", "lif_decay", "lif_decay_input",
                "lif_v_threshold", "lif_detach_reset", "surrogate", "surrogate_alpha")
        kw = {k: getattr(self, k) for k in keys if getattr(self, k) is not None}
        if self.T is not None:  # an SNN: the reset mode is meaningful, None = soft reset
            # timm.create_model drops None-valued kwargs, so soft reset travels as "soft"
            kw["lif_v_reset"] = "soft" if self.lif_v_reset is None else self.lif_v_reset
        return kw


def config_fields() -> tuple[str, ...]:
    """Every field name of :class:`Config`, in declaration order."""
    return tuple(f.name for f in fields(Config))


def config_hash(cfg: Config) -> str:

    """16 hex digits of sha256 over the canonical JSON of :meth:`Config.scientific`."""
    blob = json.dumps(cfg.scientific(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def coerce_parameters(params: dict[str, Any]) -> dict[str, Any]:
    """Validate notebook/CLI parameters against the :class:`Config` fields.

    Raises:
        TypeError: an unknown name, or a value of the wrong type (``"3"`` for an int field).
    """
    hints = typing.get_type_hints(Config)
    out = {}
    for k, v in params.items():
        if k not in hints:
            close = difflib.get_close_matches(k, sorted(hints), n=3)
            hint = f"did you mean {' or '.join(close)}? " if close else ""
            raise TypeError(f"unknown parameter {k!r}; {hint}(`replicate show ROW` lists every field)")

        if not _isinstance(v, hints[k]):
            raise TypeError(f"parameter {k!r} must be {_type_name(hints[k])}, "
                            f"got {type(v).__name__} {v!r}")
        out[k] = v
    return out


def _isinstance(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return any(_isinstance(value, a) for a in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is float:  # ints are fine where floats are expected, bools are not
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def _type_name(hint: Any) -> str:
    args = typing.get_args(hint)
    if args:
        return " or ".join(_type_name(a) for a in args)
    return "None" if hint is type(None) else getattr(hint, "__name__", str(hint))
