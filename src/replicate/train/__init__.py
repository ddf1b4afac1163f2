"""Training: the engine (``run(config) -> record``), its steps, schedule and checkpoints."""
from .engine import TeacherNotFoundError, build_model, load_teacher, preflight, run
from .steps import TRAIN_STEPS, StepContext

__all__ = ["run", "preflight", "build_model", "load_teacher", "TeacherNotFoundError",
           "TRAIN_STEPS", "StepContext"]
