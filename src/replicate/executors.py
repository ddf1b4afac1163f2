"""How ``replicate batch`` executes its runs: in this process (``--executor local``) or as one
SLURM job per run through submitit (``--executor slurm``), on the same per-run function.

:func:`execute_run` is that function: it claims the run (:mod:`replicate.claims`), decides under
the claim whether the run must be (re)done (another process may have finished it meanwhile, so a
finished record is never rewritten), runs it (papermill of ``notebooks/train.ipynb``, or
``torchrun`` of ``replicate run`` for a job with several GPUs) and releases the claim.

:func:`schedule` feeds the planned runs to an executor, teachers first: a student starts only
once its teacher is settled (done or verified here or elsewhere; a failed teacher skips its
students). A run claimed by a live process elsewhere is tried again when that claim is gone
(so every batch ends with every run settled, and two batches never train the same run); with
``--no-wait`` jobs are only submitted, students with ``--dependency=afterok:<teacher job>``.
"""
from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

from . import claims
from . import cli

#: Seconds between two looks at a claim or a job the batch waits for.
POLL_S = 2.0


@dataclass(frozen=True)
class RunJob:
    """One run of a batch, as the per-run function (here or in a SLURM job) needs it."""

    cfg: object                 #: the run's :class:`~replicate.config.Config`
    overrides: dict             #: the batch's ``-p`` overrides (notebook parameters)
    out: str                    #: the output folder
    force: bool = False         #: ``--force``: retrain unless retrained since ``since``
    quiet: bool = False         #: do not stream the notebook's output
    since: float = 0.0          #: when the batch started (``--force`` retrains once)
    gpus: int = 0               #: GPUs of its SLURM job: more than one runs it under ``torchrun``
    waited_for: str = ""        #: ``host:pid`` that held its claim when it was last tried

    @property
    def teacher(self) -> bool:
        return cli._row(self.cfg.row).arm == "teacher"

    @property
    def claim(self) -> Path:
        c = self.cfg
        return claims.claim_path(self.out, c.row, c.profile, c.seed, c.hash)

    def outcome(self, status: str, detail: str, **kw) -> "cli.Outcome":
        return cli.Outcome(self.cfg.row, self.cfg.seed, self.cfg.hash, status, detail, **kw)


# --------------------------------------------------------------------------- the per-run function
def _finished_since(job: RunJob) -> bool:
    """Whether the run's record verifies and was finished after ``job.since`` (``--force`` by a
    concurrent batch has retrained it already)."""
    from .results import read_record, record_path
    from .safeio import DamagedFileError

    c = job.cfg
    rec = record_path(job.out, c.row, c.profile, c.seed, c.hash)
    try:
        return read_record(rec)["provenance"].get("finished_unix", 0) >= job.since
    except (FileNotFoundError, DamagedFileError):
        return False


def decide(job: RunJob) -> tuple[str | None, bool, str]:
    """Under the claim: why the run must be done (``None``: it need not), whether it retrains
    (``force``), and the detail of a skip."""
    if job.force:
        if _finished_since(job):
            return None, False, "retrained since this batch began"
        return "--force", True, ""
    reason, force = cli.rerun_reason(job.cfg, job.teacher, Path(job.out), notebook=job.gpus <= 1)
    done_by = f"done by {job.waited_for}" if job.waited_for else "verified"
    return reason, force, done_by


def _skip_line(job: RunJob, detail: str) -> str:
    c = job.cfg
    what = ("record, notebook" + (" and weights" if job.teacher else "") + " verified"
            if detail == "verified" else detail)
    return f"  skip {c.row} seed {c.seed} ({c.hash}): {what}"


def execute_run(job: RunJob, check_only: bool = False) -> "cli.Outcome | None":
    """Claim, decide, run and release one run; its :class:`~replicate.cli.Outcome`.

    A run claimed by a live process is settled as ``skipped`` with ``claimed_by`` set (the
    scheduler tries it again once the claim is gone). ``check_only``: stop after deciding, and
    return ``None`` when the run must be done (its job will claim it again)."""
    c = job.cfg
    claim = claims.acquire(job.claim, log=lambda s: print(s, flush=True))
    if not isinstance(claim, claims.Claim):
        who = claims.describe(claim)
        print(f"  busy {c.row} seed {c.seed} ({c.hash}): claimed by {who}", flush=True)
        return job.outcome("skipped", f"claimed by {who}", claimed_by=who)
    with claim:
        reason, force, detail = decide(job)
        if reason is None:
            print(_skip_line(job, detail), flush=True)
            return job.outcome("skipped", detail)
        if check_only:
            return None
        how = f"torchrun x{job.gpus}" if job.gpus > 1 else cli.NOTEBOOK
        print(f"  run  {c.row} seed {c.seed} ({c.hash}) via {how}: {reason}", flush=True)
        out = _torchrun(job, force) if job.gpus > 1 else cli._run_notebook(
            c, _Opts(job.out, job.quiet), job.overrides, force)
    if out.status == "done":
        print(f"       done in {out.wall_s:.0f} s", flush=True)
    return out


@dataclass(frozen=True)
class _Opts:
    """What :func:`replicate.cli._run_notebook` reads of the batch's arguments."""

    out: str
    quiet: bool


def _torchrun(job: RunJob, force: bool) -> "cli.Outcome":
    """Run ``replicate run`` under ``torchrun --nproc_per_node=<gpus>`` (the engine's
    data-parallel mode: the recipe's batch is the global batch); its record, no notebook."""
    c = job.cfg
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           f"--nproc_per_node={job.gpus}", "-m", "replicate", "run", c.row, "--profile", c.profile,
           "--seed", str(c.seed), "--out", str(job.out),
           *(["--data-root", str(c.data_root)] if c.data_root else []),
           *[a for k, v in job.overrides.items() for a in ("-p", f"{k}={v!r}")],
           *(["--force"] if force else []), *(["-q"] if job.quiet else [])]
    t0 = time.time()
    r = subprocess.run(cmd, cwd=str(cli.REPO))
    if r.returncode:
        return job.outcome("failed", f"torchrun exited with status {r.returncode}",
                           wall_s=time.time() - t0)
    ran = "ran (forced)" if force else "ran"
    return job.outcome("done", f"{ran} (torchrun x{job.gpus})", wall_s=time.time() - t0)


def run_job(job: RunJob) -> "cli.Outcome":
    """The entry point of a SLURM job: :func:`execute_run` in the job's process."""
    return execute_run(job)


# --------------------------------------------------------------------------- executors
class LocalRunner:
    """``--executor local``: every run in this process, one after another."""

    waits = True

    def submit(self, job: RunJob, after: str | None = None) -> "cli.Outcome":
        return execute_run(job)

    def running(self) -> set[str]:
        return set()

    def finished(self) -> list:
        return []


class SubmititRunner:
    """``--executor slurm``: one submitit job per run (``params``: submitit's generic and
    ``slurm_`` parameters; ``cluster``: ``slurm``, or ``local`` in the tests). ``wait``: wait for
    the jobs; otherwise submit only, students after their teacher's job (``afterok``)."""

    def __init__(self, folder: str | Path, cluster: str, params: dict, wait: bool = True) -> None:
        self.folder, self.cluster, self.params, self.waits = Path(folder), cluster, params, wait
        self.jobs: dict = {}  # hash -> (submitit job, RunJob)

    def _executor(self, job: RunJob, after: str | None):
        import submitit

        ex = submitit.AutoExecutor(folder=self.folder / "%j", cluster=self.cluster)
        dep = {"slurm_dependency": f"afterok:{after}",
               "slurm_additional_parameters": {"kill-on-invalid-dep": "yes"}} if after else {}
        ex.update_parameters(name=f"replicate-{job.cfg.row}-seed{job.cfg.seed}",
                             gpus_per_node=job.gpus or None, **self.params, **dep)
        return ex

    def submit(self, job: RunJob, after: str | None = None) -> "cli.Outcome | None":
        """Check the run under its claim here (verified or claimed: its outcome, no job); else
        submit it. Returns the outcome, ``None`` for a job to wait for."""
        settled = execute_run(job, check_only=True)
        if settled is not None:
            return settled
        c = job.cfg
        j = self._executor(job, after).submit(run_job, job)
        print(f"  submitted {c.row} seed {c.seed} ({c.hash}) as job {j.job_id}"
              + (f", after job {after}" if after else ""), flush=True)
        if not self.waits:
            return job.outcome("submitted", "queued (--no-wait)", job=str(j.job_id),
                               look_at=str(j.paths.stdout))
        self.jobs[c.hash] = (j, job)
        return None

    def running(self) -> set[str]:
        return set(self.jobs)

    def finished(self) -> list:
        """``(RunJob, Outcome)`` of every job that ended since the last call."""
        out = []
        for h, (j, job) in list(self.jobs.items()):
            if j.done():
                del self.jobs[h]
                out.append((job, _job_outcome(j, job)))
        return out


def _job_outcome(j, job: RunJob) -> "cli.Outcome":
    """The outcome a finished job returned, or a failure naming the job and its log."""
    c = job.cfg
    try:
        o = j.result()
    except Exception as e:  # noqa: BLE001  (a job that died, timed out or raised)
        o = job.outcome("failed", cli._first_line(f"job {j.job_id}: {e}", 100),
                        look_at=str(j.paths.stderr))
    o.job = str(j.job_id)
    if o.status == "failed":
        o.look_at = o.look_at or str(j.paths.stderr)
        print(cli._one_line(f"replicate batch: error: {c.row} seed {c.seed} failed in job "
                            f"{j.job_id} ({o.detail}); see {o.look_at}"), file=sys.stderr, flush=True)
    elif o.status == "done":
        print(f"  done {c.row} seed {c.seed} ({c.hash}) in job {j.job_id}, {o.wall_s:.0f} s", flush=True)
    return o


# --------------------------------------------------------------------------- scheduling
def _gate(job: RunJob, todo: list, runner, final: dict):
    """``"wait"`` (its teacher is not settled, or the claim it waits for is held), an outcome
    that settles it without running (its teacher failed or is trained elsewhere), or ``None``."""
    c, th = job.cfg, job.cfg.teacher_hash
    if th and (th in runner.running() or any(j.cfg.hash == th for j in todo)):
        return "wait"
    t = final.get(th) if th else None
    if t is not None and t.status == "failed":
        print(f"  skip {c.row} seed {c.seed} ({c.hash}): its teacher failed")
        return job.outcome("skipped", f"teacher failed ({c.teacher_row})")
    if t is not None and t.claimed_by:
        print(f"  skip {c.row} seed {c.seed} ({c.hash}): its teacher is claimed by {t.claimed_by}")
        return job.outcome("skipped", f"teacher claimed by {t.claimed_by}")
    if job.waited_for and claims.holder(job.claim) is not None:
        return "wait"
    return None


def _teacher_job(job: RunJob, final: dict) -> str | None:
    """The id of the job submitted (not waited for) for ``job``'s teacher, if any."""
    t = final.get(job.cfg.teacher_hash) if job.cfg.teacher_hash else None
    return t.job if t is not None and t.status == "submitted" else None


def _settle(job: RunJob, o: "cli.Outcome", todo: list, final: dict, waits: bool) -> None:
    """Record ``o``; a run claimed elsewhere goes back into ``todo`` when the batch waits."""
    if o.claimed_by and waits:
        todo.append(replace(job, waited_for=o.claimed_by))
    else:
        final[job.cfg.hash] = o


def schedule(jobs: list[RunJob], runner, final: dict) -> None:
    """Execute ``jobs`` (teachers first) on ``runner`` until each is settled; ``final`` maps each
    settled run's hash to its outcome as it settles (kept by the caller after an interrupt).
    Stops at once on a full disk."""
    todo = list(jobs)
    while todo or runner.running():
        moved = False
        for job in list(todo):
            gate = _gate(job, todo, runner, final)
            if gate == "wait":
                continue
            todo.remove(job)
            moved = True
            o = gate or runner.submit(job, after=_teacher_job(job, final))
            if o is not None:
                _settle(job, o, todo, final, runner.waits)
                if o.disk_full:
                    return
        for job, o in runner.finished():
            _settle(job, o, todo, final, runner.waits)
            moved = True
        if not moved:
            time.sleep(POLL_S)
