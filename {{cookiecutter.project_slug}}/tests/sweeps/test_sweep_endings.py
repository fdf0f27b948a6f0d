"""A sweep's summary reads what its jobs left: a job killed with -9 is "died", a job that never logged
train/loss has an empty cell, and a summary that cannot be written fails the sweep (exit 1) and says why."""

import csv
import json
import os
import signal
import subprocess
import sys

from conftest import FAST, ROOT, run_script, when_room
from {{cookiecutter.package_name}}.runs.run_status import read_status
from stop_runs import start_train, wait_for

QUICK = [*FAST, *when_room("checks", "baselines=false"), *when_room("ensembles", "ensemble.k=0"),
         *when_room("diagnostics", "~callbacks.diagnostics")]


def test_a_sweep_job_killed_with_minus_9_reads_died_in_the_summary(tmp_path):
    folder, log = tmp_path / "sweep", tmp_path / "sweep.log"
    process = start_train("-m", "seed=1,2", "trainer.max_epochs=30", f"hydra.sweep.dir={folder}",
                    f"paths.log_dir={tmp_path}", *QUICK, log=log)
    wait_for((folder / "0" / "checkpoints" / "last.ckpt").is_file, process, "its first epoch")
    process.kill()
    assert process.wait(timeout=60) == -signal.SIGKILL
    assert json.loads((folder / "0" / "status.json").read_text())["status"] == "running"  # what it wrote last
    summary = subprocess.run([sys.executable, "-m", "{{cookiecutter.package_name}}.sweeps.summary", str(folder)],
                             env=dict(os.environ, PYTHONPATH=str(ROOT / "src")), capture_output=True, text=True)
    assert summary.returncode == 0, summary.stderr[-2000:]
    with open(folder / "summary.csv") as file:
        [row] = list(csv.DictReader(file))
    assert row["status"] == "died" and f"pid {process.pid}" in row["error"], row
    assert "DIED  job 0" in summary.stdout, summary.stdout[-2000:]


def test_jobs_that_never_logged_the_train_loss_summarize_with_an_empty_cell(tmp_path):
    folder = tmp_path / "sweep"
    process = run_script("train.py", "-m", "seed=1,2", "trainer.max_epochs=1", "trainer.log_every_n_steps=1000",
                         f"hydra.sweep.dir={folder}", f"paths.log_dir={tmp_path}", *QUICK)
    assert process.returncode == 0, process.stdout[-2000:] + process.stderr[-3000:]
    with open(folder / "summary.csv") as file:
        rows = list(csv.DictReader(file))
    assert [row["status"] for row in rows] == ["finished", "finished"] and not rows[0].get("train/loss")
    assert float(rows[0]["val/acc"]) > 0


def test_a_sweep_whose_summary_fails_exits_1_and_says_why(tmp_path):
    folder = tmp_path / "sweep"
    (folder / "summary.md").mkdir(parents=True)  # the summary cannot be written there
    process = run_script("train.py", "-m", "seed=1", "trainer.max_epochs=1", f"hydra.sweep.dir={folder}",
                         f"paths.log_dir={tmp_path}", *QUICK)
    assert process.returncode == 1, process.stdout[-2000:] + process.stderr[-3000:]
    assert f"error: the sweep summary of {folder} failed" in process.stderr, process.stderr[-3000:]
    assert f"sweeps.summary {folder}" in process.stderr  # the command that writes it again
    assert read_status(folder / "0")["status"] == "finished"  # the job itself is fine
