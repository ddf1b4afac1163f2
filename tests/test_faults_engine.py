"""Fault injection, engine side: damaged checkpoints and records, divergence, a kill before each
``os.replace``, a full disk. Each fault is reproduced, then detected, named, set aside (never
deleted) and recovered from; the recovered run ends with the numbers of an uninterrupted one."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from replicate.experiments import config_for
from replicate.results import checkpoint_dir, load_records, record_path
from replicate.safeio import DamagedFileError
from replicate.train import run

ROW = "bkdsnn-c10-2-384-baseline"


def _cfg(out, data_root, **kw):
    return config_for(ROW, "smoke", 0, data_root=data_root, out_dir=str(out), progress=False, **kw)


@pytest.fixture(scope="module")
def reference(tmp_path_factory, data_root):
    """The uninterrupted smoke run every recovered run must reproduce."""
    return run(_cfg(tmp_path_factory.mktemp("ref"), data_root))


def _same(a: dict, b: dict) -> None:
    assert a["curves"] == b["curves"] and a["metrics"] == b["metrics"] and a["config_hash"] == b["config_hash"]


def _garble(path: Path) -> None:
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    data[mid:mid + 4096] = os.urandom(min(4096, len(data) - mid))
    path.write_bytes(bytes(data))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])


def _aside(folder: Path, name: str, tag: str = "damaged") -> list[Path]:
    return sorted(folder.glob(f"{name}.{tag}-*"))


@pytest.mark.parametrize("damage", [_garble, _truncate], ids=["garbled", "truncated"])
def test_damaged_last_pt_is_set_aside_and_the_run_starts_over(tmp_path, data_root, reference, damage, capsys):
    cfg = _cfg(tmp_path, data_root)
    with pytest.raises(KeyboardInterrupt):
        run(cfg, _interrupt_after_steps=12)  # 10 steps per epoch: last.pt holds epoch 1
    last = checkpoint_dir(tmp_path, cfg.hash) / "last.pt"
    damage(last)
    rec = run(cfg)
    _same(rec, reference)
    assert rec["provenance"]["resumed_from_epoch"] is None  # started over, did not trust it
    assert len(_aside(last.parent, "last.pt")) == 1
    assert "damaged file" in capsys.readouterr().err


@pytest.mark.parametrize("damage", [_garble, _truncate], ids=["garbled", "truncated"])
def test_damaged_record_is_named_set_aside_and_redone(tmp_path, data_root, reference, damage):
    cfg = _cfg(tmp_path, data_root)
    run(cfg)
    path = record_path(tmp_path, ROW, "smoke", 0, cfg.hash)
    damage(path)
    with pytest.raises(DamagedFileError, match=str(path)):
        load_records(tmp_path)  # the book names the file instead of a 198-line traceback
    _same(run(cfg), reference)
    assert len(_aside(path.parent, path.name)) == 1


def test_divergence_that_leaves_a_finite_loss_writes_no_record(tmp_path, data_root):
    """lr = 1e6 for one epoch: the weights and BN statistics blow up; no checkpoint of that
    state and no record may exist afterwards."""
    cfg = _cfg(tmp_path, data_root, lr=1e6, warmup_frac=0.0, epochs=1)
    with pytest.raises(FloatingPointError, match="non-finite"):
        run(cfg)
    assert not record_path(tmp_path, ROW, "smoke", 0, cfg.hash).exists()
    assert not (checkpoint_dir(tmp_path, cfg.hash) / "model.pt").exists()


def test_force_retrains_and_keeps_the_old_files(tmp_path, data_root, reference):
    cfg = _cfg(tmp_path, data_root)
    first = run(cfg)
    again = run(cfg, force=True)
    _same(again, reference)
    assert again["provenance"]["finished_unix"] > first["provenance"]["finished_unix"]
    rec = record_path(tmp_path, ROW, "smoke", 0, cfg.hash)
    assert len(_aside(rec.parent, rec.name, "replaced")) == 1
    assert len(_aside(checkpoint_dir(tmp_path, cfg.hash), "model.pt", "replaced")) == 1


_KILLER = textwrap.dedent("""
    import os, sys
    import replicate.safeio as safeio
    from replicate.experiments import config_for
    from replicate.train import run
    k, calls = int(sys.argv[3]), [0]
    real = os.replace
    def replace(src, dst):
        calls[0] += 1
        if calls[0] == k:
            os._exit(137)  # killed with the temporary written and fsynced, before the rename
        real(src, dst)
    safeio.os.replace = replace
    cfg = config_for(sys.argv[1], "smoke", 0, data_root=os.environ["REPLICATE_DATA"],
                     out_dir=sys.argv[2], progress=False)
    run(cfg)
""")


def test_a_kill_before_each_os_replace_loses_nothing(tmp_path, data_root, reference):
    """A run killed just before its k-th rename (last.pt, last.pt, model.pt, record), then
    rerun, ends with the uninterrupted run's numbers and no temporary left behind."""
    script = tmp_path / "killer.py"
    script.write_text(_KILLER)
    for k in (1, 2, 3, 4):
        out = tmp_path / f"out{k}"
        r = subprocess.run([sys.executable, str(script), ROW, str(out), str(k)],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 137, r.stderr[-2000:]
        assert list(out.rglob(".*.tmp*")), "the kill should leave a temporary behind"
        _same(run(_cfg(out, data_root)), reference)  # cleans the dead writer's temporaries, resumes
        assert not list(out.rglob(".*.tmp*"))


def test_a_full_disk_is_one_line_naming_the_path(tmp_path, data_root):
    """RLIMIT_FSIZE makes every write past 8 KiB fail with EFBIG, as a full disk would."""
    code = textwrap.dedent(f"""
        import resource, signal, sys
        from replicate.cli import main
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192))
        sys.exit(main(["run", "{ROW}", "--profile", "smoke", "--out", r"{tmp_path / 'out'}", "-q"]))
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                       env={**os.environ, "REPLICATE_DATA": data_root})
    assert r.returncode == 1, r.stdout + r.stderr
    lines = [l for l in r.stderr.strip().splitlines() if l.strip()]
    assert len(lines) == 1 and "cannot write" in lines[0] and str(tmp_path / "out") in lines[0], r.stderr
    assert not list((tmp_path / "out").rglob(".*.tmp*"))  # no half-written temporary left
    assert not list((tmp_path / "out").rglob("*.json"))
