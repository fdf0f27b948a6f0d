"""Resume after a crash, Ctrl-C, and a non-finite loss: nothing lost, failures loud."""

import json
import shutil
import signal

import pytest
import torch

from conftest import FAST, ROOT, read_metrics, run_script
from stop_runs import start, steps, stop_after_first_epoch

SETUP = ["trainer.max_epochs=5", "trainer.deterministic=true", *FAST]


@pytest.mark.fast
def test_a_killed_run_resumed_ends_exactly_like_the_run_left_alone(tmp_path):
    alone, killed = tmp_path / "alone", tmp_path / "killed"
    process = run_script("train.py", f"hydra.run.dir={alone}", *SETUP)
    assert process.returncode == 0, process.stderr[-3000:]
    assert stop_after_first_epoch(start(killed, *SETUP), killed, signal.SIGKILL, "last.ckpt") == -signal.SIGKILL
    saved = torch.load(killed / "checkpoints" / "last.ckpt", weights_only=True)
    assert saved["epoch"] < 4, "killed too late to test anything"
    process = run_script("train.py", f"resume={killed}", f"hydra.run.dir={tmp_path / 'resume'}", *FAST)
    assert process.returncode == 0, process.stderr[-3000:]
    assert f"resuming {killed}" in process.stdout
    expected, resumed = read_metrics(alone), read_metrics(killed)  # metrics.json lands in the resumed folder
    assert expected.keys() == resumed.keys()
    for key in expected:
        assert abs(expected[key] - resumed[key]) <= 1e-6, (key, expected[key], resumed[key])
    for tag in ("train/loss", "val/loss"):  # TensorBoard: the same steps, none twice
        assert steps(killed, tag) == steps(alone, tag), tag


def test_with_last_ckpt_every_3_epochs_a_killed_run_resumes_exactly_from_the_newest_checkpoint(tmp_path):
    """callbacks.last_checkpoint.every_n_epochs=3 (docs/runs.md: fewer writes): killed before the first last.ckpt,
    the run resumes from its newest top-k checkpoint and still ends like the run left alone."""
    sparse = [*SETUP, "callbacks.last_checkpoint.every_n_epochs=3"]
    alone, killed = tmp_path / "alone", tmp_path / "killed"
    process = run_script("train.py", f"hydra.run.dir={alone}", *sparse)
    assert process.returncode == 0, process.stderr[-3000:]
    assert stop_after_first_epoch(start(killed, *sparse), killed, signal.SIGKILL) == -signal.SIGKILL
    on_disk = sorted(path.name for path in (killed / "checkpoints").glob("*.ckpt"))
    assert "last.ckpt" not in on_disk, f"killed too late to test anything: {on_disk}"
    process = run_script("train.py", f"resume={killed}", f"hydra.run.dir={tmp_path / 'resume'}", *FAST)
    assert process.returncode == 0, process.stderr[-3000:]
    assert f"resuming {killed}" in process.stdout
    expected, resumed = read_metrics(alone), read_metrics(killed)
    assert expected.keys() == resumed.keys()
    for key in expected:
        assert abs(expected[key] - resumed[key]) <= 1e-6, (key, expected[key], resumed[key])


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_and_sigterm_keep_last_ckpt_fail_and_say_how_to_resume(tmp_path, sig, code):
    # SIGTERM is what a scheduler, a preemption or `timeout` sends: Lightning alone would exit 0 there
    run_dir, log = tmp_path / "run", tmp_path / "log"
    process = start(run_dir, *SETUP, log=log)
    assert stop_after_first_epoch(process, run_dir, sig, marker="last.ckpt") == code, log.read_text()[-3000:]
    assert (run_dir / "checkpoints" / "last.ckpt").exists()
    said = log.read_text().strip().splitlines()
    assert said[-2] == f"stopped by {sig.name}; the run folder: {run_dir}", said[-3:]
    assert said[-1] == f"continue it with: python train.py resume={run_dir}", said[-3:]
    process = run_script("train.py", f"resume={run_dir}", f"paths.log_dir={tmp_path}", *FAST)
    assert process.returncode == 0, process.stderr[-3000:]
    assert "training ran all 5 epochs" in process.stdout
    assert "test/acc" in json.loads((run_dir / "metrics.json").read_text())


def test_resume_from_a_folder_without_checkpoint_fails_loudly(tmp_path):
    (tmp_path / "empty" / ".hydra").mkdir(parents=True)
    shutil.copy(ROOT / "configs" / "train.yaml", tmp_path / "empty" / ".hydra" / "config.yaml")
    process = run_script("train.py", f"resume={tmp_path / 'empty'}", f"hydra.run.dir={tmp_path / 'r'}", *FAST)
    assert process.returncode == 1
    assert "Traceback" not in process.stderr
    assert "No readable checkpoint in" in process.stderr.strip().splitlines()[-1], process.stderr[-2000:]
    assert not (tmp_path / "empty" / "checkpoints").exists()  # nothing trained from scratch


def test_a_non_finite_loss_stops_at_once_names_the_step_and_keeps_the_finite_weights(train):
    process, run_dir = train("regularization.l1=1e38", *SETUP, expect_ok=False)  # inf (float32) from the first step
    assert process.returncode == 1, process.stderr[-3000:]
    error = process.stderr.strip().splitlines()[-1]
    assert "loss is inf at step 0" in error and "train/l1_penalty=inf" in error, error
    saved = torch.load(run_dir / "checkpoints" / "last_finite.ckpt", weights_only=True)
    assert all(torch.isfinite(t).all() for t in saved["state_dict"].values() if t.is_floating_point())
    assert not (run_dir / "metrics.json").exists()
