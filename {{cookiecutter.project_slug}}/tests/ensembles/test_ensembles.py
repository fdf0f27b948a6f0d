"""Checkpoint ensembles, eval.py, early stopping, label noise, and safe checkpoint loading."""

import json
import math
import shutil

import pytest
import torch

from conftest import FAST, read_metrics, run_script, when_room

ROWS = ("single", "soft", "hard", "weight_average")
# what other rooms add to a run, off where it is baked (these tests are about the ensembles only)
QUICK = [*when_room("checks", "baselines=false"), *when_room("diagnostics", "~callbacks.diagnostics")]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One 4-epoch training run shared by the tests below: (process, run_dir)."""
    folder = tmp_path_factory.mktemp("ensemble")
    process = run_script("train.py", f"hydra.run.dir={folder / 'run'}", f"paths.log_dir={folder}",
                         "trainer.max_epochs=4", *FAST)
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    return process, folder / "run"


@pytest.mark.fast
def test_a_short_run_prints_and_writes_the_ensemble_table(tmp_path):
    """The room's main path on tiny settings: the callback's table in the console and in metrics.json."""
    run_dir = tmp_path / "run"
    process = run_script("train.py", f"hydra.run.dir={run_dir}", f"paths.log_dir={tmp_path}", "data.subset=300",
                         "model=tiny", "trainer.max_epochs=2", *QUICK, *FAST)
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    metrics = read_metrics(run_dir)
    assert "test set, top-2 checkpoints" in process.stdout, process.stdout[-3000:]
    for row in ROWS:
        nll = "       -" if row == "hard" else f"{metrics[f'ensemble/{row}/nll']:8.4f}"
        assert f"{row:16s} {metrics[f'ensemble/{row}/acc']:8.4f} {nll}" in process.stdout, (row, process.stdout)
    assert abs(metrics["ensemble/single/acc"] - metrics["test/acc"]) < 1e-6  # the checkpoint trainer.test scored
    # (eval.py prints the same table: test_eval_on_a_run_folder_and_on_a_checkpoint_prints_the_same_table)


def test_top_k_checkpoints_and_ensemble_rows_in_metrics_console_and_tensorboard(run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    process, run_dir = run
    assert len(list((run_dir / "checkpoints").glob("epoch*.ckpt"))) == 3  # save_top_k
    assert (run_dir / "checkpoints" / "last.ckpt").exists()
    metrics = read_metrics(run_dir)
    for row in ROWS:
        assert 0.5 < metrics[f"ensemble/{row}/acc"] <= 1.0, (row, metrics)
        if row != "hard":  # a vote has no probabilities: no NLL, "-" in the table
            assert 0.0 < metrics[f"ensemble/{row}/nll"] < math.log(10), (row, metrics)
        assert f"{row:16s} {metrics[f'ensemble/{row}/acc']:8.4f}" in process.stdout
    assert "ensemble/hard/nll" not in metrics and f"{'hard':16s} {metrics['ensemble/hard/acc']:8.4f}        -" in process.stdout
    # the "single" row is the best checkpoint, the same one trainer.test evaluated
    assert abs(metrics["ensemble/single/acc"] - metrics["test/acc"]) < 1e-6
    assert abs(metrics["ensemble/single/nll"] - metrics["test/loss"]) < 1e-4
    assert "training ran all 4 epochs" in process.stdout
    tags = set(EventAccumulator(str(run_dir)).Reload().Tags()["scalars"])
    assert {f"ensemble/{row}/{m}" for row in ROWS for m in ("acc", "nll") if (row, m) != ("hard", "nll")} <= tags, tags


def test_checkpoints_load_with_weights_only_and_hold_plain_hyperparameters(run):
    _, run_dir = run
    for path in (run_dir / "checkpoints").glob("*.ckpt"):
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)  # raises on pickled objects
        assert type(checkpoint["hyper_parameters"]["model"]) is dict, path


def test_eval_on_a_run_folder_and_on_a_checkpoint_prints_the_same_table(run):
    _, run_dir = run
    metrics = read_metrics(run_dir)
    process = run_script("eval.py", str(run_dir))
    assert process.returncode == 0, process.stderr[-3000:]
    for row in ROWS:
        values = f"{metrics[f'ensemble/{row}/acc']:8.4f} {metrics.get(f'ensemble/{row}/nll', '-'):>8}"
        values = values if row == "hard" else f"{metrics[f'ensemble/{row}/acc']:8.4f} {metrics[f'ensemble/{row}/nll']:8.4f}"
        assert f"{row:16s} {values}" in process.stdout, process.stdout
    best = min((run_dir / "checkpoints").glob("epoch*.ckpt"))  # val/loss falls every epoch here: any top-k one
    process = run_script("eval.py", str(best))
    assert process.returncode == 0, process.stderr[-3000:]
    assert "single" in process.stdout and "soft" not in process.stdout


def test_eval_on_a_two_job_multirun_folder_gives_the_cross_run_ensemble(tmp_path):
    sweep = tmp_path / "sweep"
    process = run_script("train.py", "-m", "seed=0,1", "trainer.max_epochs=2", "ensemble.k=0",
                         f"hydra.sweep.dir={sweep}", f"paths.log_dir={tmp_path}", *FAST)
    assert process.returncode == 0, process.stderr[-3000:]
    splits = [json.loads((sweep / job / "split.json").read_text()) for job in ("0", "1")]
    assert splits[0] == splits[1]  # `seed` changes the initialization and batch order, not the split
    process = run_script("eval.py", str(sweep))
    assert process.returncode == 0, process.stderr[-3000:]
    assert "best checkpoints of 2 runs" in process.stdout
    for row in ("single_mean", "cross_run_soft", "cross_run_hard"):
        assert row in process.stdout, process.stdout


def test_a_truncated_or_missing_checkpoint_fails_with_one_clear_paragraph(run, tmp_path):
    _, run_dir = run
    broken = tmp_path / "broken"
    shutil.copytree(run_dir, broken)
    last = broken / "checkpoints" / "last.ckpt"
    last.write_bytes(last.read_bytes()[:2000])  # as if killed while writing
    # (resume= skips an unreadable last.ckpt for the newest readable checkpoint: tests/test_run_folder.py)
    for process in [run_script("eval.py", str(last)), run_script("eval.py", str(tmp_path / "nothing.ckpt"))]:
        assert process.returncode == 1, process.stdout[-2000:] + process.stderr[-2000:]
        assert "Traceback" not in process.stderr, process.stderr[-3000:]
        error = process.stderr.strip().splitlines()[-1]
        assert error.startswith("error: ") and ("truncated or corrupted" in error or "No checkpoint" in error)


def test_early_stopping_stops_and_says_why_with_ema_weights(train):
    # stopping_threshold: stop as soon as val/loss < 10, i.e. after the first epoch
    process, run_dir = train("callbacks=ema", "trainer.max_epochs=5",
                             "callbacks.early_stopping.stopping_threshold=10", *FAST)
    assert "early stopping at epoch 0" in process.stdout, process.stdout[-3000:]
    [best] = (run_dir / "checkpoints").glob("epoch*.ckpt")
    # Lightning's EMAWeightAveraging: the averaged weights in state_dict, the raw ones beside them
    assert "current_model_state" in torch.load(best, weights_only=True)
    assert "ensemble/soft/acc" in read_metrics(run_dir)


@pytest.mark.fast
def test_a_short_ema_run_tests_and_ensembles_the_same_averaged_weights(train):
    """callbacks=ema on tiny settings: test/acc and the table's single row are the best checkpoint's averaged weights."""
    process, run_dir = train("callbacks=ema", "data.subset=300", "model=tiny", "trainer.max_epochs=2",
                             *QUICK, *FAST)
    metrics = read_metrics(run_dir)
    assert abs(metrics["test/acc"] - metrics["ensemble/single/acc"]) < 1e-6, metrics
    assert abs(metrics["test/loss"] - metrics["ensemble/single/nll"]) < 1e-4, metrics
    assert "weights: averaged (callbacks=ema" in process.stdout, process.stdout[-3000:]


def test_with_ema_every_number_of_the_run_comes_from_the_averaged_weights(train):
    # EMAWeightAveraging validates with the averaged weights and saves them as the checkpoints' state_dict
    # (the raw ones beside them). After 2 epochs the two score far apart (raw ~0.74, averaged ~0.10 with
    # decay 0.99 over 40 steps): test/acc, the fit diagnosis and the ensemble table must not mix them.
    process, run_dir = train("callbacks=ema", "trainer.max_epochs=2", *FAST)
    metrics = read_metrics(run_dir)
    assert abs(metrics["test/acc"] - metrics["ensemble/single/acc"]) < 1e-6, metrics
    assert abs(metrics["test/loss"] - metrics["ensemble/single/nll"]) < 1e-4, metrics
    assert "weights: averaged (callbacks=ema" in process.stdout
{%- if cookiecutter.__with_diagnostics == "yes" %}
    import re

    from {{cookiecutter.package_name}}.ensembles.ensemble import run_data
    from {{cookiecutter.package_name}}.runs.checkpoints import load_classifier, ranked_checkpoints

    diagnosis = re.search(r"fit diagnosis: .*val acc ([\d.]+), test acc ([\d.]+)", process.stdout)
    assert diagnosis, process.stdout[-3000:]
    assert diagnosis[1] == f"{metrics['val/acc']:.4f}" and diagnosis[2] == f"{metrics['test/acc']:.4f}"
    [best] = ranked_checkpoints(run_dir, 1)
    data = run_data(run_dir)
    train_x, train_y = data.split_tensors("train")
    with torch.no_grad():  # the averaged weights (state_dict) on the training set: the diagnosis' train acc
        train_acc = float((load_classifier(best)(train_x).argmax(1) == train_y).float().mean())
    assert abs(metrics["fit/train_acc"] - train_acc) < 1e-6, (metrics["fit/train_acc"], train_acc)
{%- endif %}
    assert "callbacks used to create the checkpoint" not in process.stderr  # Lightning's warning


def test_snapshot_ensemble_combines_the_end_of_each_cycle(train):
    process, run_dir = train("experiment=snapshot_ensemble", "trainer.max_epochs=4", "scheduler.cycles=2",
                             "callbacks.snapshots.every_n_epochs=2", *FAST)
    snapshots = sorted((run_dir / "checkpoints" / "snapshots").glob("*.ckpt"))
    assert [p.name for p in snapshots] == ["epoch001.ckpt", "epoch003.ckpt"]
    assert "2 snapshots" in process.stdout
    assert "ensemble/soft/acc" in read_metrics(run_dir)


@pytest.mark.fast
def test_label_noise_changes_only_that_fraction_of_training_labels():
    from {{cookiecutter.package_name}}.core.data import DigitsData

    clean, noisy = DigitsData(), DigitsData(label_noise=0.3)
    labels = {name: data.split_tensors("train")[1] for name, data in [("clean", clean), ("noisy", noisy)]}
    changed = (labels["clean"] != labels["noisy"]).float().mean().item()
    assert abs(changed - 0.3) < 0.002  # every chosen label is a WRONG class
    for split in ("val", "test"):
        assert torch.equal(clean.split_tensors(split)[1], noisy.split_tensors(split)[1])
    assert torch.equal(labels["noisy"], DigitsData(label_noise=0.3).split_tensors("train")[1])  # seeded


@pytest.mark.fast
def test_bad_label_noise_or_ensemble_values_fail_before_any_work(train):
    for override, key in [("data.label_noise=1.5", "data.label_noise"), ("ensemble.k=-1", "ensemble.k")]:
        process, run_dir = train(override, expect_ok=False)
        assert process.returncode == 2 and key in process.stderr, process.stderr[-2000:]
        assert not (run_dir / "checkpoints").exists()
