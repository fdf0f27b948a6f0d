"""Every way a run ends is recorded: a finished result is never lost, status.json never stays "running"
for a process that is gone, the worklog survives cut and foreign lines, metrics.json is strict JSON."""

import json
import signal
import subprocess

import pytest

from conftest import FAST, run_script, when_room
from {{cookiecutter.package_name}}.runs.run_status import read_status
{%- if cookiecutter.__with_workflow == "yes" %}
from {{cookiecutter.package_name}}.workflow.worklog import read_worklog
{%- endif %}
from stop_runs import start_train, wait_for

QUICK = [*FAST, *when_room("checks", "baselines=false"), *when_room("ensembles", "ensemble.k=0"), *when_room("diagnostics", "~callbacks.diagnostics")]


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
    result = (run_dir / "metrics.json").read_bytes()

{%- if cookiecutter.__with_workflow == "yes" %}
    # a failure before the longer run trains (here a damaged run_record.json) changes nothing of the finished run
    record, config = (run_dir / "run_record.json").read_text(), (run_dir / ".hydra" / "config.yaml").read_text()
    (run_dir / "run_record.json").write_text(record[: len(record) // 2])
    failed = run_script("train.py", f"resume={run_dir}", f"paths.log_dir={tmp_path}", "trainer.max_epochs=12")
    assert failed.returncode != 0, failed.stdout[-2000:]
    assert (run_dir / "metrics.json").read_bytes() == result
    assert (run_dir / ".hydra" / "config.yaml").read_text() == config
    assert read_status(run_dir)["status"] == "finished"
    (run_dir / "run_record.json").write_text(record)
{%- endif %}

    # killed with -9 while the longer run trains: the shorter run's result is still there, the folder says died
    process = start_train(f"resume={run_dir}", f"paths.log_dir={tmp_path}", "trainer.max_epochs=12", log=log)
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
{%- if cookiecutter.__with_workflow == "yes" %}
        [entry], _ = read_worklog(tmp_path / "worklog.jsonl")  # the log folder is on another disk: its line is there
        assert entry["status"] == "failed" and "Cannot write" in entry["detail"]
{%- endif %}
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def test_runs_shorter_than_log_every_n_steps_write_strict_json(tmp_path):
    folder = tmp_path / "sweep"
    process = run_script("train.py", "-m", "seed=1,2", "trainer.max_epochs=1", "trainer.log_every_n_steps=1000",
                         f"hydra.sweep.dir={folder}", f"paths.log_dir={tmp_path}", *QUICK)
    assert process.returncode == 0, process.stdout[-2000:] + process.stderr[-3000:]
    metrics = strict((folder / "0" / "metrics.json").read_text())
    assert metrics["train/loss"] is None and metrics["val/acc"] > 0  # never logged: null, not NaN
    assert strict((folder / "1" / "status.json").read_text())["status"] == "finished"
