"""Every way a run ends is recorded: a finished result is never lost, status.json never stays "running"
for a process that is gone, the worklog survives cut and foreign lines, metrics.json is strict JSON."""

import fcntl
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import FAST, ROOT, run_script, when_room
from {{cookiecutter.package_name}}.runs.run_status import read_status, write_status
from {{cookiecutter.package_name}}.workflow.worklog import append_entry, read_worklog

QUICK = [*FAST, *when_room("checks", "baselines=false"), "ensemble.k=0", *when_room("diagnostics", "~callbacks.diagnostics")]


def start(*arguments, log):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT / "src"))
    with open(log, "w") as out:  # a file, never a pipe that could fill up
        return subprocess.Popen([sys.executable, str(ROOT / "train.py"), *arguments], env=env, stdout=out, stderr=out)


def wait_for(condition, process, what: str) -> None:
    while not condition():
        assert process.poll() is None, f"the run ended before {what}"
        time.sleep(0.02)


def strict(text: str) -> dict:
    """json.loads that refuses NaN and Infinity (not JSON: other tools fail on them)."""
    def refuse(constant):
        raise ValueError(f"not strict JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def test_a_finished_run_resumed_longer_keeps_its_result_until_the_longer_run_ends(tmp_path):
    run_dir, log = tmp_path / "run", tmp_path / "resume.log"
    first = run_script("train.py", f"hydra.run.dir={run_dir}", f"paths.log_dir={tmp_path}", "trainer.max_epochs=2",
                       *QUICK)
    assert first.returncode == 0, first.stderr[-3000:]
    result, config = (run_dir / "metrics.json").read_bytes(), (run_dir / ".hydra" / "config.yaml").read_text()

    # a failure before the longer run trains (here a damaged run_record.json) changes nothing of the finished run
    record = (run_dir / "run_record.json").read_text()
    (run_dir / "run_record.json").write_text(record[: len(record) // 2])
    failed = run_script("train.py", f"resume={run_dir}", f"paths.log_dir={tmp_path}", "trainer.max_epochs=12")
    assert failed.returncode != 0, failed.stdout[-2000:]
    assert (run_dir / "metrics.json").read_bytes() == result
    assert (run_dir / ".hydra" / "config.yaml").read_text() == config
    assert read_status(run_dir)["status"] == "finished"
    (run_dir / "run_record.json").write_text(record)

    # killed with -9 while the longer run trains: the shorter run's result is still there, the folder says died
    process = start(f"resume={run_dir}", f"paths.log_dir={tmp_path}", "trainer.max_epochs=12", log=log)
    wait_for(lambda: read_status(run_dir).get("pid") == process.pid, process, "it started training")
    assert read_status(run_dir)["status"] == "running"  # marked while it runs, not "finished"
    last = (run_dir / "checkpoints" / "last.ckpt").stat().st_mtime_ns
    wait_for(lambda: (run_dir / "checkpoints" / "last.ckpt").stat().st_mtime_ns != last, process, "an epoch")
    process.send_signal(signal.SIGSTOP)  # frozen mid-training: the kill lands here
    assert (run_dir / "metrics.json").read_bytes() == result, "the longer run ended before the kill: too late"
    process.kill()
    assert process.wait(timeout=60) == -signal.SIGKILL
    assert (run_dir / "metrics.json").read_bytes() == result, log.read_text()[-2000:]
    assert read_status(run_dir)["status"] == "died"
    assert "max_epochs: 12" in (run_dir / ".hydra" / "config.yaml").read_text()  # the budget it trains to

    again = run_script("train.py", f"resume={run_dir}", f"paths.log_dir={tmp_path}")  # it continues to 12 epochs
    assert again.returncode == 0, again.stderr[-3000:]
    assert "training ran all 12 epochs" in again.stdout, again.stdout[-2000:]
    assert (run_dir / "metrics.json").read_bytes() != result
    assert read_status(run_dir)["status"] == "finished"


def test_sigterm_after_the_result_is_written_is_noted_and_the_ending_is_recorded_in_full(tmp_path):
    """The end-of-run phase: the run is held inside its worklog append (the test holds worklog.lock)."""
    run_dir, log = tmp_path / "run", tmp_path / "run.log"
    with open(tmp_path / "worklog.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        process = start(f"hydra.run.dir={run_dir}", f"paths.log_dir={tmp_path}", "trainer.max_epochs=1", *QUICK,
                        log=log)
        wait_for((run_dir / "metrics.json").is_file, process, "its result")
        process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=120) == 0, log.read_text()[-3000:]  # finished: the signal came too late to stop it
    assert "note: SIGTERM came after the run had written its result" in log.read_text()
    assert read_status(run_dir)["status"] == "finished"
    [entry], skipped = read_worklog(tmp_path / "worklog.jsonl")
    assert entry["status"] == "finished" and skipped == 0
    assert not list(run_dir.rglob("*.tmp"))


def mount_small_disk(disk, size: str) -> None:
    """A real disk of `size` at `disk` (tmpfs; needs root, else the test is skipped); unmount it after."""
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"needs root to mount a small tmpfs: {mounted.stderr.decode().strip()}")


def test_a_full_disk_ends_the_run_failed_with_its_status_and_worklog_line(tmp_path):
    disk = tmp_path / "disk"
    mount_small_disk(disk, "700k")
    try:
        run_dir = disk / "run"
        process = run_script("train.py", f"hydra.run.dir={run_dir}", f"paths.log_dir={tmp_path}",
                             "trainer.max_epochs=4", *QUICK)
        assert process.returncode == 1, process.stdout[-2000:] + process.stderr[-3000:]
        assert "Traceback" not in process.stderr, process.stderr[-3000:]
        assert "free on that disk" in process.stderr, process.stderr[-2000:]
        status = read_status(run_dir)
        assert status["status"] == "failed" and "Cannot write" in status["error"], status
        assert not [path for path in run_dir.rglob("*") if path.name.endswith(".tmp")]
        [entry], _ = read_worklog(tmp_path / "worklog.jsonl")  # the log folder is on another disk: its line is there
        assert entry["status"] == "failed" and "Cannot write" in entry["detail"]
    finally:
        subprocess.run(["umount", str(disk)], check=True)


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


def test_runs_shorter_than_log_every_n_steps_write_strict_json(tmp_path):
    folder = tmp_path / "sweep"
    process = run_script("train.py", "-m", "seed=1,2", "trainer.max_epochs=1", "trainer.log_every_n_steps=1000",
                         f"hydra.sweep.dir={folder}", f"paths.log_dir={tmp_path}", *QUICK)
    assert process.returncode == 0, process.stdout[-2000:] + process.stderr[-3000:]
    metrics = strict((folder / "0" / "metrics.json").read_text())
    assert metrics["train/loss"] is None and metrics["val/acc"] > 0  # never logged: null, not NaN
    assert strict((folder / "1" / "status.json").read_text())["status"] == "finished"
