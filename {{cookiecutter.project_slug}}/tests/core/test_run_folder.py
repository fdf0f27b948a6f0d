"""The run folder: a new one per run even for simultaneous starts, one writer at a time, resume
that never rolls back (moved folder, corrupt last.ckpt, finished run, more budget), and no
folder left behind by a run that fails before any work."""

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta

import pytest
import torch
import yaml

from conftest import FAST, ROOT, read_metrics, run_script, when_room
from {{cookiecutter.package_name}}.runs.run_folder import run_name

QUICK = ["data.fraction=0.3", *when_room("checks", "baselines=false"), *FAST]  # a few seconds per epoch on 2 cores


def start(*overrides, log=None):
    """train.py in the background (stdout and stderr to `log`, never a pipe that could fill up)."""
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT / "src"))
    out = open(log, "w") if log else subprocess.DEVNULL
    return subprocess.Popen([sys.executable, str(ROOT / "train.py"), *overrides], env=env, stdout=out, stderr=out)


def stop_at_epoch(process, run_dir, epoch: int, sig=signal.SIGKILL) -> int:
    """Send `sig` once last.ckpt (renewed at the end of every epoch) holds `epoch`: in the middle of the next."""
    while last_epoch(run_dir) < epoch:
        assert process.poll() is None, f"the run ended before epoch {epoch}"
        time.sleep(0.1)
    time.sleep(0.3)
    process.send_signal(sig)
    return process.wait(timeout=120)


def last_epoch(run_dir) -> int:
    try:
        return torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["epoch"]
    except Exception:  # not there yet, or being written
        return -1


def folders(parent):
    return sorted(p.name for p in parent.iterdir()) if parent.exists() else []


def fingerprint(folder) -> dict:
    """Every file below `folder` (its checkpoints, events, configs) -> the hash of its bytes."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_two_runs_started_at_the_same_moment_get_two_folders(tmp_path):
    # Claim every name of the next minute first: both runs MUST step aside (…_1, …_2), whatever second they start in.
    # Both get the same readable name (the model is left out of it), so the names collide too.
    common = [f"paths.log_dir={tmp_path}", "trainer.max_epochs=1", *when_room("ensembles", "ensemble.k=0"), *QUICK]
    suffix = run_name(",".join(sorted(common)))  # what configs/hydra/default.yaml appends to <date>_<time>
    common.append("hydra.job.config.override_dirname.exclude_keys=[model]")
    now = datetime.now()
    blocked = {f"{now + timedelta(seconds=s):%Y-%m-%d_%H-%M-%S}{suffix}" for s in range(-1, 90)}
    for name in blocked:
        (tmp_path / "runs" / name).mkdir(parents=True)
    runs = {model: start(f"model={model}", *common, log=tmp_path / model) for model in ("tiny", "small")}
    for model, process in runs.items():
        assert process.wait(timeout=600) == 0, (tmp_path / model).read_text()[-3000:]
    new = [tmp_path / "runs" / name for name in folders(tmp_path / "runs") if name not in blocked]
    assert len(new) == 2, folders(tmp_path / "runs")
    assert all(not any((tmp_path / "runs" / name).iterdir()) for name in blocked)  # nobody wrote into a taken one
    widths = {"tiny": 8, "small": 16}
    for run_dir in new:
        [model] = [o.split("=")[1] for o in yaml.safe_load((run_dir / ".hydra" / "overrides.yaml").read_text())
                   if o.startswith("model=")]
        checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
        assert checkpoint["hyper_parameters"]["model"]["width"] == widths[model]  # the folder's own run wrote it
        assert "test/acc" in read_metrics(run_dir)
        assert len(list(run_dir.glob("events.out.tfevents.*"))) >= 1


def test_a_second_writer_is_refused_naming_the_holder_and_a_killed_run_resumes(tmp_path):
    run_dir = tmp_path / "run"
    holder = start(f"hydra.run.dir={run_dir}", "trainer.max_epochs=30", *FAST)  # still training a minute later
    while not (run_dir / "checkpoints" / "last.ckpt").exists():
        assert holder.poll() is None
        time.sleep(0.05)
    second = run_script("train.py", f"resume={run_dir}", f"paths.log_dir={tmp_path}")
    assert holder.poll() is None, "the first run ended too early to test anything"
    assert second.returncode == 1, second.stdout[-2000:] + second.stderr[-2000:]
    error = second.stderr.strip().splitlines()[-1]
    assert error.startswith("error: ") and "in use" in error and f"pid {holder.pid}" in error, error
    assert "resuming" not in second.stdout and folders(tmp_path / "runs") == []  # refused before any work

    holder.kill()  # kill -9: the kernel drops its lock
    assert holder.wait() == -signal.SIGKILL
    epochs = last_epoch(run_dir) + 2  # its budget lowered: just one more epoch
    resumed = run_script("train.py", f"resume={run_dir}", f"trainer.max_epochs={epochs}", f"paths.log_dir={tmp_path}")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"training ran all {epochs} epochs" in resumed.stdout and "test/acc" in read_metrics(run_dir)
    assert folders(tmp_path / "runs") == []  # the resuming command leaves no folder of its own
    assert f"pid {holder.pid}" not in (run_dir / ".lock").read_text()


def test_a_moved_run_folder_resumed_after_two_kills_ends_like_the_run_left_alone(tmp_path):
    from stop_runs import steps

    setup = ["trainer.max_epochs=7", "trainer.deterministic=true", *QUICK]
    alone = tmp_path / "alone"
    assert run_script("train.py", f"hydra.run.dir={alone}", *setup).returncode == 0
    first, moved = tmp_path / "first", tmp_path / "moved"
    assert stop_at_epoch(start(f"hydra.run.dir={first}", *setup), first, 1) == -signal.SIGKILL
    shutil.move(first, moved)  # renamed (or synced from a cluster): every absolute path inside is stale
    again = start(f"resume={moved}", f"paths.log_dir={tmp_path}")
    assert stop_at_epoch(again, moved, 4) == -signal.SIGKILL
    process = run_script("train.py", f"resume={moved}", f"paths.log_dir={tmp_path}")
    assert process.returncode == 0, process.stderr[-3000:]
    assert "dirpath has changed" not in process.stderr
    names = {p.name for p in (moved / "checkpoints").glob("*.ckpt")}
    assert not [name for name in names if "-v" in name], names  # no last-v1.ckpt beside a stale last.ckpt
    # the run left alone's top-3 and last.ckpt are all there (a kill -9 between writing a new top-k
    # checkpoint and deleting the one it displaces may leave that one behind)
    assert {p.name for p in (alone / "checkpoints").glob("*.ckpt")} <= names, names
    expected, resumed = read_metrics(alone), read_metrics(moved)
    assert expected.keys() == resumed.keys()
    for key in expected:
        assert abs(expected[key] - resumed[key]) <= 1e-6, (key, expected[key], resumed[key])
    for tag in ("train/loss", "val/loss"):
        assert steps(moved, tag) == steps(alone, tag), tag


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished 3-epoch run, to be copied by the tests below: its folder."""
    folder = tmp_path_factory.mktemp("finished")
    process = run_script("train.py", f"hydra.run.dir={folder / 'run'}", "trainer.max_epochs=3", *QUICK)
    assert process.returncode == 0, process.stderr[-3000:]
    return folder / "run"


def test_resuming_a_finished_run_changes_nothing_unless_the_budget_is_raised(finished, tmp_path):
    from stop_runs import steps

    run_dir = tmp_path / "run"
    shutil.copytree(finished, run_dir)
    before = fingerprint(run_dir)
    process = run_script("train.py", f"resume={run_dir}", "optimizer.lr=0.5", f"paths.log_dir={tmp_path}")
    assert process.returncode == 0, process.stderr[-3000:]
    assert "has finished" in process.stdout and f"python train.py resume={run_dir} trainer.max_epochs=6" in process.stdout
    assert "ignored overrides: optimizer.lr=0.5" in process.stderr  # and why
    assert fingerprint(run_dir) == before  # not a byte changed: TensorBoard events and metrics included
    assert folders(tmp_path / "runs") == []

    process = run_script("train.py", f"resume={run_dir}", "trainer.max_epochs=5", f"paths.log_dir={tmp_path}")
    assert process.returncode == 0, process.stderr[-3000:]
    assert "training ran all 5 epochs" in process.stdout, process.stdout[-2000:]
    assert torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["epoch"] == 4
    assert "test/acc" in read_metrics(run_dir)
{%- if cookiecutter.__with_ensembles == "yes" %}
    assert "ensemble/soft/acc" in read_metrics(run_dir)
{%- endif %}
    assert steps(run_dir, "val/loss") == sorted(set(steps(run_dir, "val/loss")))  # 5 epochs, no step twice
    assert len(steps(run_dir, "val/loss")) == 5 + 1  # 5 epochs, and the best weights once more at the end
    assert len(steps(run_dir, "test/acc")) == 1  # the 3-epoch result is hidden from the first of the new steps
    assert "max_epochs: 5" in (run_dir / ".hydra" / "config.yaml").read_text()  # a later resume keeps it
    assert "trainer.max_epochs=5" in (run_dir / ".hydra" / "overrides.yaml").read_text()
    assert folders(tmp_path / "runs") == []


def test_a_corrupt_last_ckpt_falls_back_to_the_newest_readable_checkpoint(finished, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(finished, run_dir)
    (run_dir / "metrics.json").unlink()  # as if killed after the last epoch, before the end
    last = run_dir / "checkpoints" / "last.ckpt"
    last.write_bytes(last.read_bytes()[:2000])  # killed while writing it
    process = run_script("train.py", f"resume={run_dir}", f"paths.log_dir={tmp_path}")
    assert process.returncode == 0, process.stderr[-3000:]
    assert "cannot read last.ckpt" in process.stderr and "resuming from epoch002.ckpt" in process.stderr
    assert "from epoch 2, step" in process.stdout and "(checkpoints/epoch002.ckpt)" in process.stdout
    assert "test/acc" in read_metrics(run_dir)


def test_a_failed_resume_says_why_and_leaves_no_folder(finished, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(finished, broken)
    (broken / "metrics.json").unlink()
    for path in (broken / "checkpoints").glob("*.ckpt"):
        path.write_bytes(path.read_bytes()[:1000])
    (tmp_path / "empty").mkdir()
    cases = {tmp_path / "nowhere": "does not exist", tmp_path / "empty": "does not exist",
             broken: "No readable checkpoint"}
    for run_dir, says in cases.items():
        process = run_script("train.py", f"resume={run_dir}", f"paths.log_dir={tmp_path / 'logs'}")
        assert process.returncode == 1, process.stderr[-2000:]
        assert "Traceback" not in process.stderr
        error = process.stderr.strip().splitlines()[-1]
        assert error.startswith("error: ") and says in error and "Nothing was trained" in error, error
        assert folders(tmp_path / "logs" / "runs") == []  # no folder for the failed command
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.fast
def test_a_run_that_fails_validation_leaves_no_folder(tmp_path):
    for script in ("train.py", *when_room("checks", "check.py")):
        process = run_script(script, "optimizer.lr=-1", f"paths.log_dir={tmp_path}")
        assert process.returncode == 2, process.stderr[-2000:]
        assert "optimizer.lr=-1" in process.stderr and "Traceback" not in process.stderr
        assert folders(tmp_path / "runs") == [] and folders(tmp_path / "checks") == []


def test_a_failing_job_of_a_sweep_does_not_stop_the_others(tmp_path):
    process = run_script("train.py", "-m", "optimizer.lr=-1,1e-3", f"hydra.sweep.dir={tmp_path / 'sweep'}",
                         "trainer.max_epochs=1", *when_room("ensembles", "ensemble.k=0"), *QUICK)
    assert process.returncode != 0  # Hydra: a job failed
    assert "optimizer.lr=-1 is not allowed" in process.stderr
    assert "test/acc" in read_metrics(tmp_path / "sweep" / "1")  # the job after the failed one ran
    assert not (tmp_path / "sweep" / "0" / "metrics.json").exists()
