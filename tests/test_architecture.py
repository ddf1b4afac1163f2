"""The package's shape: a method is one file (the registry), functions stay short, the registry's
rows and claims are consistent, and one notebook serves every row."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from replicate.config import Config
from replicate.distill import registry
from replicate.experiments import CLAIM_KINDS, Claim, Source, config_for, get_row, rows
from replicate.train import run

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src" / "replicate"


class _Toy(nn.Module):
    """A whole distillation method defined inside the test: the student's T-mean logits pulled
    towards the teacher's by a learnable scale."""

    needs_feature = False

    def __init__(self, weight: float) -> None:
        super().__init__()
        self.weight = weight
        self.scale = nn.Parameter(torch.ones(()))

    @classmethod
    def check_config(cls, cfg) -> None:
        if cfg.kd_weight > 10:
            raise ValueError(f"toy: kd_weight must be <= 10, got {cfg.kd_weight}")

    @classmethod
    def from_config(cls, cfg, ctx):
        assert ctx.num_classes == 10 and ctx.teacher is not None and ctx.probe.shape[1:] == (3, 32, 32)
        return cls(cfg.kd_weight)

    def forward(self, student, teacher, target):
        diff = self.scale * student.mean_logits - teacher.mean_logits.detach()
        return {"toy": self.weight * diff.pow(2).mean()}


@pytest.fixture
def toy_registered():
    registry.register_distiller("toy")(_Toy)
    yield
    registry.unregister_distiller("toy")


def test_a_distiller_registered_in_a_test_trains_a_smoke_run(tmp_path, data_root, smoke_teacher, toy_registered):
    """Adding a method touches no other file: Config accepts its name, validates its fields
    through it before any compute, the engine builds, trains and checkpoints it."""
    assert "toy" in registry.names()
    with pytest.raises(ValueError, match="toy: kd_weight must be <= 10"):
        config_for("bkdsnn-c10-2-384-mixed", "smoke", distill="toy", kd_weight=11.0)
    cfg = config_for("bkdsnn-c10-2-384-mixed", "smoke", 0, data_root=data_root, out_dir=str(tmp_path),
                     progress=False, teacher_checkpoint=str(smoke_teacher), distill="toy", kd_weight=0.5)
    assert cfg.needs_teacher
    rec = run(cfg)
    assert {"train_ce", "train_toy"} <= set(rec["curves"][0]) and "train_bkd" not in rec["curves"][0]
    assert rec["metrics"]["distill_params"] == 1  # the toy's learnable scale
    assert {k: rec["overrides"][k] for k in ("distill", "kd_weight")} == {"distill": "toy", "kd_weight": 0.5}

    assert rec["curves"][0]["train_toy"] > 0


def test_unknown_or_incompatible_method_is_refused_by_the_config():
    with pytest.raises(ValueError, match="unknown distiller 'mixd'; did you mean 'mixed'"):
        Config(distill="mixd")
    with pytest.raises(ValueError, match="supports train_step bptt, not 'rate_bp'"):
        config_for("esd-c10-r18-rate-bp", "smoke", distill="mixed")
    assert registry.trait("esd", "train_steps") == ("bptt", "rate_bp")
    assert registry.trait("none", "needs_feature") is False


def test_every_registered_distiller_follows_the_protocol():
    for name in registry.names()[1:]:
        cls = registry.get(name)
        assert callable(cls.from_config) and issubclass(cls, nn.Module), name
        for attr, default in registry.DEFAULTS.items():
            assert isinstance(getattr(cls, attr, default), type(default)), (name, attr)


def test_engine_and_config_name_no_method_and_no_model_class():
    """The engine asks the registry; it never branches on a method or imports a model class."""
    for path in (SRC / "train" / "engine.py", SRC / "train" / "steps.py", SRC / "config.py"):
        text = path.read_text()
        for name in registry.names()[1:]:
            assert f'"{name}"' not in text, f"{path.name} names the method {name!r}"
        assert "from ..models." not in text and "isinstance(model" not in text, path.name


def test_no_function_in_the_package_is_over_60_lines():
    long = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > 60:
                    long.append(f"{path.relative_to(SRC)}:{node.lineno} {node.name} ({n} lines)")
    assert not long, "functions over 60 lines: " + ", ".join(long)


def test_rows_name_registered_teachers_and_references_and_claims_are_data():
    ids = {r.id for r in rows()}
    for r in rows():
        assert r.teacher_row in ids | {None} and r.reference in ids | {None}, r.id
        if r.reference:  # a Δ is paired at the profiles both rows have (the row's own, gpu aside)
            ref = get_row(r.reference)
            assert set(ref.recipes) >= set(r.recipes) - {"gpu"}, r.id

        for c in r.claims:
            assert c.kind in CLAIM_KINDS and isinstance(c.source, Source) and str(c.source), r.id
            ok = r.checkable(c)
            assert ok is True or (isinstance(ok, str) and ok), r.id
    # a claim on a row that cannot run here says why; one that can, says so
    assert get_row("logitkd-in1k-pr34-full").checkable(get_row("logitkd-in1k-pr34-full").claim).startswith("no ImageNet")
    assert get_row("bkdsnn-c10-2-384-mixed").checkable(get_row("bkdsnn-c10-2-384-mixed").claim) is True
    with pytest.raises(ValueError, match="claim kind 'top5'"):
        Claim(1.0, "x", kind="top5")


def _papermill(out: Path, *params: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "papermill", str(REPO / "notebooks" / "train.ipynb"), str(out),
           "--cwd", str(REPO / "notebooks"), *params]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


def test_notebook_unknown_parameter_fails_in_one_line_before_compute(tmp_path):
    r = _papermill(tmp_path / "nb.ipynb", "-p", "row", "bkdsnn-c10-2-384-baseline", "-p", "profile", "smoke",
                   "-p", "out_dir", str(tmp_path / "out"), "-p", "no_such_field", "1", "-p", "lr_rate", "0.1")
    assert r.returncode != 0
    nb = json.loads((tmp_path / "nb.ipynb").read_text())
    errors = [o for c in nb["cells"] for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert len(errors) == 1 and errors[0]["ename"] == "ParameterError"
    assert "unknown parameter 'no_such_field'" in errors[0]["evalue"]
    assert not (tmp_path / "out").exists()  # nothing was decoded, trained or written


@pytest.mark.slow
def test_notebook_records_a_papermill_override_and_serves_teachers(tmp_path, data_root):
    """One notebook: a teacher row, then a student with `-p lr 0.05` recorded as an override."""
    out = tmp_path / "out"
    base = ["-p", "profile", "smoke", "-p", "data_root", data_root, "-p", "out_dir", str(out), "-p", "progress", "False"]
    t = _papermill(tmp_path / "teacher.ipynb", "-p", "row", "logitkd-c10-teacher", *base)
    assert t.returncode == 0, t.stderr[-2000:]
    s = _papermill(tmp_path / "student.ipynb", "-p", "row", "logitkd-c10-r18-full", "-p", "lr", "0.05", *base)
    assert s.returncode == 0, s.stderr[-2000:]
    cfg = config_for("logitkd-c10-r18-full", "smoke", 0, lr=0.05)
    rec = json.loads(next((out / "records" / "logitkd-c10-r18-full" / "smoke").glob("*.json")).read_text())
    assert rec["config_hash"] == cfg.hash != config_for("logitkd-c10-r18-full", "smoke", 0).hash
    assert rec["overrides"] == {"lr": 0.05} and rec["config"]["lr"] == 0.05
    nb = (tmp_path / "student.ipynb").read_text()
    assert "image/png" in nb and "registered records" in nb  # the learning curve and the comparison
    assert not list((REPO / "notebooks").glob("out"))  # nothing written beside the notebook


def test_every_committed_record_rehashes_to_its_file_name():
    """The refactor changed no hashed field: each committed record's own config, read back into
    today's Config, hashes to the hash in its file name and in the record."""
    paths = sorted((REPO / "results" / "records").glob("*/*/*.json"))
    assert len(paths) >= 50
    for path in paths:
        rec = json.loads(path.read_text())
        cfg = Config(**rec["config"])
        assert cfg.hash == rec["config_hash"] == path.stem.split("-", 1)[1], path


def test_evaluation_leaves_the_global_rng_where_it_was():
    """Training continues from the global RNG after every per-epoch evaluation: iterating the
    evaluation DataLoader must not draw from it (a change here changes every record)."""
    from torch.utils.data import TensorDataset

    from replicate.train.evaluate import evaluate
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 3))
    data = TensorDataset(torch.randn(10, 3, 2, 2), torch.randint(0, 3, (10,)))
    torch.manual_seed(7)
    before = torch.get_rng_state()
    ev = evaluate(model, data, batch_size=4, device="cpu")
    assert torch.equal(torch.get_rng_state(), before)
    logits = model(data.tensors[0])
    assert ev["top1"] == pytest.approx(100 * (logits.argmax(1) == data.tensors[1]).float().mean().item())
