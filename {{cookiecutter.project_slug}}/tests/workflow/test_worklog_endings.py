"""The worklog line of every way a run ends (finished, failed, stopped, on a full disk) and of a sweep,
written through the worklog's doors: run.finish (a finished run) and the Hydra callback
workflow/worklog_line.py (a run that did not finish, a sweep's one line with its best job)."""

import fcntl
import json
import os
import signal
import subprocess

import pytest

from conftest import FAST, read_metrics, run_script, when_room
from {{cookiecutter.package_name}}.runs.run_status import read_status, write_status
from {{cookiecutter.package_name}}.workflow.worklog import append_entry, read_worklog
from stop_runs import start_train, wait_for

QUICK = [*FAST, *when_room("checks", "baselines=false"), *when_room("ensembles", "ensemble.k=0"),
         *when_room("diagnostics", "~callbacks.diagnostics")]
SMALL = ["data.subset=200", "model=tiny", *QUICK]


def mount_small_disk(disk, size: str) -> None:
    """A real disk of `size` at `disk` (tmpfs; needs root, else the test is skipped); unmount it after."""
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"needs root to mount a small tmpfs: {mounted.stderr.decode().strip()}")


def test_a_run_that_fails_after_it_started_gets_its_worklog_line_from_the_hydra_callback(tmp_path):
    """lr=1e30: the loss is NaN at step 1 and the run fails in runs/failures.py, never reaching run.finish."""
    run_dir = tmp_path / "run"
    process = run_script("train.py", f"hydra.run.dir={run_dir}", f"paths.log_dir={tmp_path}", "optimizer.lr=1e30",
                         "trainer.max_epochs=1", "note=diverges", *SMALL)
    assert process.returncode == 1, process.stdout[-2000:] + process.stderr[-3000:]
    [entry], skipped = read_worklog(tmp_path / "worklog.jsonl")
    assert entry["status"] == "failed" and entry["note"] == "diverges" and skipped == 0, entry
    assert "RunFailed: " in entry["detail"] and "loss is nan" in entry["detail"], entry
    assert read_status(run_dir)["detail"] == entry["detail"]  # the line says what status.json says
    assert json.loads((run_dir / "run_record.json").read_text())["status"] == "failed"
    assert (run_dir / "train.log").read_text().strip().splitlines()[-1].split(" - ", 1)[1].startswith("failed: RunFailed")


@pytest.mark.fast
def test_a_sweep_appends_one_line_with_its_best_job_and_reads_the_target_against_it(tmp_path):
    folder = tmp_path / "sweep"
    process = run_script("train.py", "-m", "optimizer.lr=1e-4,3e-3", "trainer.max_epochs=1", "note=lr sweep",
                         "target={metric: val/acc, value: 0.01, why: a loose bound}", f"hydra.sweep.dir={folder}",
                         f"paths.log_dir={tmp_path}", *SMALL)
    assert process.returncode == 0, process.stdout[-2000:] + process.stderr[-3000:]
    [entry], _ = read_worklog(tmp_path / "worklog.jsonl")  # its jobs append nothing
    scores = {job: read_metrics(folder / job)["val/acc"] for job in ("0", "1")}
    best = max(scores, key=lambda job: (scores[job], job == "0"))  # ties: the first job
    assert entry["kind"] == "sweep" and entry["status"] == "finished" and entry["note"] == "lr sweep", entry
    assert entry["jobs"] == 2 and entry["detail"] == f"best job: {best}", entry
    assert entry["metrics"]["val/acc"] == scores[best] and entry["target_result"]["met"], entry
    assert f"best job {best}: target val/acc >= 0.01: MET" in process.stdout, process.stdout[-2000:]
    assert len(entry["setups"]) == 2  # both jobs scored on the test set: the test-set counter counts them


def test_sigterm_after_the_result_is_written_is_noted_and_the_ending_is_recorded_in_full(tmp_path):
    """The end-of-run phase: the run is held inside its worklog append (the test holds worklog.lock)."""
    run_dir, log = tmp_path / "run", tmp_path / "run.log"
    with open(tmp_path / "worklog.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        process = start_train(f"hydra.run.dir={run_dir}", f"paths.log_dir={tmp_path}", "trainer.max_epochs=1", *QUICK,
                        log=log)
        wait_for((run_dir / "metrics.json").is_file, process, "its result")
        process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=120) == 0, log.read_text()[-3000:]  # finished: the signal came too late to stop it
    assert "note: SIGTERM came after the run had written its result" in log.read_text()
    assert read_status(run_dir)["status"] == "finished"
    [entry], skipped = read_worklog(tmp_path / "worklog.jsonl")
    assert entry["status"] == "finished" and skipped == 0
    assert not list(run_dir.rglob("*.tmp"))


def test_on_a_full_disk_the_status_still_says_how_the_run_ended_and_the_worklog_keeps_whole_lines(small_disk):
    disk, fill = small_disk
    (disk / "run").mkdir()
    write_status(disk / "run", "running", ["seed=1"])
    entry = {"kind": "run", "date": "2026-12-06 10:00:00", "run": "logs/runs/a", "status": "finished",
             "metrics": {"test/acc": 0.5}, "note": "x" * 3000, "command": "python train.py"}
    append_entry(disk / "worklog.jsonl", entry)
    fill()
    write_status(disk / "run", "failed", ["seed=1"], OSError("No space left on device"))  # a small write
    assert read_status(disk / "run")["status"] == "failed"
    assert sorted(path.name for path in (disk / "run").iterdir()) == ["status.json"]  # no .tmp left
    with pytest.raises(OSError):
        append_entry(disk / "worklog.jsonl", entry | {"run": "logs/runs/b"})  # cut short: a half line
    (disk / "filler").unlink()
    append_entry(disk / "worklog.jsonl", entry | {"run": "logs/runs/c"})  # space again: a whole line of its own
    entries, skipped = read_worklog(disk / "worklog.jsonl")
    assert [e["run"] for e in entries] == ["logs/runs/a", "logs/runs/c"] and skipped == 1


def test_cut_and_foreign_worklog_lines_are_skipped_and_counted_and_the_next_run_appends_a_whole_line(tmp_path):
    jsonl = tmp_path / "worklog.jsonl"
    jsonl.write_text('42\n{"kind": "run", "date": "2026-12-01 10:00:00", "run": "logs/runs/x", "stat')  # cut short
    process = run_script("train.py", f"hydra.run.dir={tmp_path / 'run'}", f"paths.log_dir={tmp_path}",
                         "trainer.max_epochs=1", "note=after a full disk", *QUICK)
    assert process.returncode == 0, process.stdout[-2000:] + process.stderr[-3000:]
    assert read_status(tmp_path / "run")["status"] == "finished"
    entries, skipped = read_worklog(jsonl)
    assert [entry["note"] for entry in entries] == ["after a full disk"] and skipped == 2
    assert jsonl.read_text().endswith("}\n") and jsonl.read_text().count("\n") == 3  # on its own line
    table = run_script("worklog.py", "--log", str(jsonl))
    assert table.returncode == 0, table.stderr[-2000:]
    assert "after a full disk" in table.stdout and "1 of 1 entries" in table.stdout
    assert f"skipped 2 line(s) of {jsonl}" in table.stderr
    ideas = run_script("ideas.py", "--log", str(jsonl))
    assert ideas.returncode == 0, ideas.stderr[-2000:]
    assert f"skipped 2 line(s) of {jsonl}" in ideas.stderr and "score" in ideas.stdout


@pytest.fixture
def small_disk(tmp_path):
    """A real 64 kB disk (tmpfs; needs root), and fill() that takes all of its free space."""
    disk = tmp_path / "disk"
    mount_small_disk(disk, "64k")

    def fill():
        descriptor = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            while os.write(descriptor, b"x" * 512):
                pass
        except OSError:  # the disk is full
            pass
        finally:
            os.close(descriptor)

    yield disk, fill
    subprocess.run(["umount", str(disk)], check=True)
