"""Shared helpers: tests run the project's real entry points as a user would."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # the package, whether or not it is pip-installed

# The feature rooms baked into this project (tests/<room>/ goes with its room at bake time).
ROOMS = {p.name for p in (ROOT / "tests").iterdir() if p.is_dir() and p.name != "core" and not p.name.startswith(("_", "."))}


def when_room(room: str, *overrides: str) -> list[str]:
    """Overrides that name a feature room's keys (e.g. `baselines=false`), only in a bake that has the room."""
    return list(overrides) if room in ROOMS else []


# Fast, quiet settings for the test runs: no progress bar redraws, few threads.
FAST = ["~callbacks.progress_bar", "~callbacks.model_summary"]


def run_script(script: str, *overrides: str, cwd: Path = ROOT, timeout: int = 600, env: dict | None = None):
    """Run `python <script> <overrides>` in the project; returns the CompletedProcess."""
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), environment.get("PYTHONPATH", "")])
    environment.setdefault("OMP_NUM_THREADS", "1")
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, str(ROOT / script), *overrides],
        cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout,
    )


def pytest_collection_modifyitems(items):
    """Two tiers: `pytest -m "not slow"` runs the tests marked `fast` (a few per folder, each room's main path,
    ~2 minutes on 2 cores); every other test is `slow`. `pytest` alone runs both: the gate before a change lands."""
    for item in items:
        if not item.get_closest_marker("fast"):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def train(tmp_path):
    """train(*overrides) -> (process, run_dir): one run of train.py into a fresh folder."""

    def run(*overrides: str, expect_ok: bool = True, env: dict | None = None):
        run_dir = tmp_path / f"run{len(list(tmp_path.glob('run*')))}"
        process = run_script("train.py", f"hydra.run.dir={run_dir}", f"paths.log_dir={tmp_path}", *overrides, env=env)
        if expect_ok:
            assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
        return process, run_dir

    return run


def imported_packages(process) -> set[str]:
    """The top-level packages a run imported, read from its stderr when it ran with
    env={"PYTHONPROFILEIMPORTTIME": "1"} (what `python -X importtime` prints)."""
    lines = [line.split("|")[-1].strip() for line in process.stderr.splitlines() if line.startswith("import time:")]
    return {name.split(".")[0] for name in lines[1:]}  # the first line is the header


IMPORT_TIMES = {"PYTHONPROFILEIMPORTTIME": "1"}


def read_metrics(run_dir: Path) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())
