"""The set-up files agree with each other and the README names the commands CI runs."""
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_environment_yml_has_the_lock_files_exact_pins():
    lock = {l.strip() for l in (ROOT / "requirements-lock.txt").read_text().splitlines()
            if l.strip() and not l.startswith("#")}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert {p for p in pip if "==" in p} == lock
    assert all("==" in p for p in lock)
    assert "torch==2.14.1" in lock and "torchvision==0.29.1" in lock


def test_readme_starts_with_the_two_commands_and_ci_calls_the_test_one():
    head = (ROOT / "README.md").read_text().splitlines()[:12]
    assert any("make all" in l for l in head) and any("make test" in l for l in head)
    assert "make test" in (ROOT / ".ci" / "run").read_text()
