"""A killed sweep leaves nothing running and can be finished (sweeps/workers.py, sweeps/finish_sweep.py).

A real 4-job sweep with the joblib launcher, 2 jobs at a time: its main process is killed while the
first 2 jobs train, every process of the sweep must be gone 15 s later (found by a marker in their
environment), and the sweep's own command given its folder finishes it: 4 jobs in the summary, the
jobs that had finished not trained again, the stopped ones resumed from their checkpoints.
"""

import csv
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from conftest import FAST, ROOT, run_script, when_room

pytest.importorskip("hydra_plugins.hydra_joblib_launcher")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads /proc")]

# each job trains for 10 s (Lightning's Timer, kept in the checkpoints), however fast the machine
JOB = ["trainer.max_epochs=100000", "+trainer.max_time=00:00:00:10", "~callbacks.early_stopping", *when_room("checks", "baselines=false"), *when_room("ensembles", "ensemble.k=0"),
       "model=tiny", "data.subset=100", *when_room("diagnostics", "~callbacks.diagnostics"), *FAST]


def sweep_command(tmp_path: Path) -> list[str]:
    return ["-m", "seed=0,1,2,3", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", f"paths.log_dir={tmp_path}",
            f"hydra.sweep.dir={tmp_path / 'sweep'}", *JOB]


def processes_with(marker: str) -> list[int]:
    """Every live process whose environment holds `marker` (all the sweep's processes inherit it)."""
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if marker.encode() in environ.read_bytes() and "Z" not in stat_state(environ.parent):
                found.append(int(environ.parent.name))
        except OSError:  # ended meanwhile, or not ours to read
            continue
    return found


def stat_state(proc: Path) -> str:
    return (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]  # Z: a zombie has ended


def kill_while_two_jobs_train(tmp_path: Path, sig: int, marker: str, group: bool) -> tuple[subprocess.Popen, Path, list]:
    """Start the sweep, send `sig` to its main process (group: to all its processes, as Ctrl-C in a terminal)."""
    log = tmp_path / "sweep.log"
    environment = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT / "src"), SWEEP_TEST_MARKER=marker)
    process = subprocess.Popen([sys.executable, str(ROOT / "train.py"), *sweep_command(tmp_path)], cwd=ROOT,
                               env=environment, stdout=open(log, "w"), stderr=subprocess.STDOUT,
                               start_new_session=True)  # its own process group, as a command typed in a terminal
    folder = tmp_path / "sweep"
    try:
        while len(jobs := training(folder)) < 2:  # two jobs side by side, each after its first epoch
            assert process.poll() is None, log.read_text()[-3000:]
            time.sleep(0.1)
    except BaseException:
        process.kill()  # its workers follow it (sweeps/workers.py)
        raise
    if group:
        os.killpg(process.pid, sig)
    else:
        process.send_signal(sig)
    process.wait(timeout=60)
    return process, log, jobs


def training(folder: Path) -> list[str]:
    """The jobs with a last.ckpt and no metrics.json yet."""
    return [job.name for job in folder.glob("[0-9]") if (job / "checkpoints" / "last.ckpt").exists()
            and not (job / "metrics.json").exists()]


@pytest.mark.parametrize("sig, group", [(signal.SIGKILL, False), (signal.SIGTERM, False), (signal.SIGINT, True)],
                         ids=["kill-9", "sigterm", "ctrl-c"])
def test_a_killed_sweep_leaves_nothing_running_and_its_command_finishes_it(tmp_path, sig, group):
    marker = uuid.uuid4().hex
    process, log, running = kill_while_two_jobs_train(tmp_path, sig, marker, group)
    assert process.returncode == -sig
    deadline = time.monotonic() + 15
    while processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert processes_with(marker) == [], log.read_text()[-3000:]  # no worker, no resource tracker left
    said = log.read_text()
    start = "stopped or killed? finish this sweep with: "  # printed when the sweep starts
    finish = next(line for line in said.splitlines() if line.startswith(start)).removeprefix(start)
    assert finish.startswith("python train.py -m "), said[:500]
    folder = tmp_path / "sweep"
    stopped = [job for job in running if not (folder / job / "metrics.json").exists()]
    assert stopped, f"{running} both finished before the kill: nothing to test"
    if sig != signal.SIGKILL:
        assert f"stopped by {sig.name}: the running jobs stop and keep their last.ckpt; finish the sweep with: {finish}" in said
    for job in stopped:  # each running job stopped as a single run stops, and said how to continue it
        assert f"continue it with: python train.py resume={folder / job}" in said, said[-3000:]
        assert '"status": "interrupted"' in (folder / job / "status.json").read_text()
    environment = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT / "src"))
    summary = subprocess.run([sys.executable, "-m", "{{cookiecutter.package_name}}.sweeps.summary", str(folder)],
                             cwd=ROOT, env=environment, capture_output=True, text=True)  # docs/sweeps.md: the summary by hand
    assert summary.returncode == 0, summary.stderr[-3000:]
    assert f"This finishes it: `{finish}`" in summary.stdout and finish in (folder / "summary.md").read_text()
    finished = {job: (folder / job / "metrics.json").stat().st_mtime_ns for job in "0123"
                if (folder / job / "metrics.json").exists()}
    events = {job: sorted(p.name for p in (folder / job).glob("events.out.tfevents.*")) for job in finished}

    again = subprocess.run(["bash", "-c", finish], cwd=ROOT, env=environment, capture_output=True, text=True)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    for job in stopped:
        assert f"resuming {folder / job} from epoch" in again.stdout, again.stdout[-3000:]
    with open(folder / "summary.csv") as file:
        rows = list(csv.DictReader(file))
    assert sorted(row["job"] for row in rows) == ["0", "1", "2", "3"]
    assert all(row["status"] == "finished" for row in rows), rows
    for job, mtime in finished.items():  # not trained again: the same metrics.json, no new TensorBoard events
        assert (folder / job / "metrics.json").stat().st_mtime_ns == mtime, job
        assert sorted(p.name for p in (folder / job).glob("events.out.tfevents.*")) == events[job], job


def test_a_sweep_run_one_job_after_another_stopped_by_sigterm_is_finished_by_its_command(tmp_path):
    """Without a launcher the jobs train in the sweep's own process: Lightning stops the running one."""
    folder = tmp_path / "sweep"
    command = ["-m", "seed=0,1", f"paths.log_dir={tmp_path}", f"hydra.sweep.dir={folder}", *JOB]
    environment = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT / "src"))
    log = tmp_path / "sweep.log"
    process = subprocess.Popen([sys.executable, str(ROOT / "train.py"), *command], cwd=ROOT, env=environment,
                               stdout=open(log, "w"), stderr=subprocess.STDOUT)
    while not (folder / "0" / "checkpoints" / "last.ckpt").exists():
        assert process.poll() is None, log.read_text()[-3000:]
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=120) == 143, log.read_text()[-3000:]
    assert not (folder / "1").exists()  # the sweep stopped: the next job never started
    again = run_script("train.py", *command)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert f"resuming {folder / '0'} from epoch" in again.stdout
    with open(folder / "summary.csv") as file:
        assert sorted((row["job"], row["status"]) for row in csv.DictReader(file)) == [("0", "finished"),
                                                                                      ("1", "finished")]


def test_another_command_given_a_sweeps_folder_is_refused_with_the_command_that_finishes_it(tmp_path):
    folder = tmp_path / "sweep"
    quick = ["trainer.max_epochs=1", *when_room("checks", "baselines=false"), *when_room("ensembles", "ensemble.k=0"), "model=tiny", "data.subset=100", *FAST]
    first = run_script("train.py", "-m", "seed=0", f"hydra.sweep.dir={folder}", f"paths.log_dir={tmp_path}", *quick)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    before = sorted(p.name for p in folder.rglob("*"))
    other = run_script("train.py", "-m", "seed=0,1", f"hydra.sweep.dir={folder}", f"paths.log_dir={tmp_path}", *quick)
    assert other.returncode == 2
    message = other.stderr.strip()
    assert "holds a sweep of other overrides" in message and "seed=0,1" in message, message
    assert f"python train.py -m seed=0 paths.log_dir={tmp_path}" in message and "Traceback" not in message
    assert sorted(p.name for p in folder.rglob("*")) == before  # nothing ran, nothing written
