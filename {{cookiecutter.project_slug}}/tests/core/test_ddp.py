"""DDP with 2 CPU processes (gloo): one report, no warnings, whole-split figures; strategies that cannot work refused.

Slow (every DDP run starts 2 processes): 1 or 2 epochs, `data.batch_size=32` (the global batch of 64).
"""

import re

import pytest

from conftest import FAST, ROOMS, read_metrics, run_script

DDP = ["trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2", "data.batch_size=32"]


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory):
    """One 2-epoch DDP run shared by the tests below: (process, run_dir)."""
    folder = tmp_path_factory.mktemp("ddp")
    process = run_script("train.py", f"hydra.run.dir={folder / 'run'}", f"paths.log_dir={folder}",
                         "trainer.max_epochs=2", *DDP, *FAST)
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    assert "GLOBAL_RANK: 1, MEMBER: 2/2" in process.stderr
    return process, folder / "run"


def test_ddp_prints_the_report_once(ddp_run):
    process, run_dir = ddp_run
    lines = ["training ran all 2 epochs", "run directory:"]
{%- if cookiecutter.__with_ensembles == "yes" %}
    lines.append("test set, top-2 checkpoints")  # the ensembles' table, computed on rank 0
{%- endif %}
{%- if cookiecutter.__with_diagnostics == "yes" %}
    lines.append("fit diagnosis:")
{%- endif %}
    for line in lines:
        assert process.stdout.count(line) == 1, (line, process.stdout[-3000:])
    assert 0 < read_metrics(run_dir)["test/acc"] <= 1  # one metrics.json, written by rank 0


def test_ddp_logs_epoch_values_without_sync_dist_warnings(ddp_run):
    process, _ = ddp_run
    warned = re.findall(r"self\.log\('([^']+)', \.\.\., sync_dist=True\)", process.stderr)
    assert warned == [], warned


{%- if cookiecutter.__with_checks == "yes" or cookiecutter.__with_diagnostics == "yes" %}


def test_ddp_fit_diagnosis_and_baselines_use_the_whole_split(ddp_run):
    _, run_dir = ddp_run
    metrics = read_metrics(run_dir)
{%- if cookiecutter.__with_diagnostics == "yes" %}
    assert metrics["fit/train_examples"] == 1258  # not one process's half
{%- endif %}
{%- if cookiecutter.__with_checks == "yes" %}
    assert metrics["baseline/svc_acc"] < 1.0  # the SVC on the whole training split, scored on the whole test split
{%- endif %}
{%- endif %}
{%- if cookiecutter.__with_diagnostics == "yes" %}


def test_ddp_slice_accuracy_counts_the_whole_test_split(ddp_run):
    # The DDP run's per-class figures equal those of its best checkpoint scored here, in one process,
    # on the whole test split (each DDP process saw only every other test batch).
    import torch
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    from {{cookiecutter.package_name}}.runs.checkpoints import load_classifier, ranked_checkpoints

    _, run_dir = ddp_run
    metrics = read_metrics(run_dir)
    data = instantiate(OmegaConf.load(run_dir / ".hydra" / "config.yaml").data)  # the run's own data (trusted here)
    [best] = ranked_checkpoints(run_dir, 1)
    test_x, test_y = data.split_tensors("test")
    with torch.no_grad():
        right = load_classifier(best)(test_x).argmax(1) == test_y
    assert abs(metrics["test/acc"] - float(right.float().mean())) < 1e-6
    for k in range(10):
        expected = float(right[test_y == k].float().mean())
        assert abs(metrics[f"test/slice/class_{k}/acc"] - expected) < 1e-6, (k, metrics, expected)
{%- endif %}


@pytest.mark.parametrize("strategy", ["ddp_spawn", "ddp_notebook"])
def test_strategies_that_train_in_spawned_processes_are_refused_before_any_work(train, strategy):
    process, run_dir = train("trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2",
                             f"trainer.strategy={strategy}", expect_ok=False)
    assert process.returncode != 0
    assert f"trainer.strategy={strategy} is not supported" in process.stderr, process.stderr[-3000:]
    assert "trainer=ddp" in process.stderr
    assert not (run_dir / "checkpoints").exists()


@pytest.mark.skipif("sweeps" in ROOMS, reason="with the sweeps room each job starts its own DDP processes (tests/sweeps)")
def test_ddp_inside_a_sweep_is_refused_without_the_sweeps_room(tmp_path):
    sweep = tmp_path / "sweep"
    process = run_script("train.py", "-m", "seed=0,1", "trainer.max_epochs=1", *DDP, *FAST,
                         f"hydra.sweep.dir={sweep}", f"paths.log_dir={tmp_path}")
    assert process.returncode == 1, process.stdout[-3000:] + process.stderr[-3000:]
    assert process.stderr.count("inside a sweep (-m) is not supported here") == 2, process.stderr[-3000:]
    assert "GLOBAL_RANK" not in process.stderr  # refused before Lightning started a process
    assert not list(sweep.glob("*/checkpoints"))
