"""train.py end to end: real training runs on the bundled digits, in subprocesses."""

import json
import re
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf, open_dict

from conftest import FAST, ROOT, read_metrics, run_script

GROUPS = sorted(p.name for p in (ROOT / "configs").iterdir() if p.is_dir() and p.name not in {"hydra", "experiment"})


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (ROOT / "configs" / group).glob("*.yaml"))


@pytest.mark.parametrize("group", GROUPS)
def test_every_option_of_every_group_composes(group):
    from lightning.pytorch.accelerators import CUDAAccelerator, MPSAccelerator

    from {{cookiecutter.package_name}}.validation import ConfigError, validate

    with initialize_config_dir(config_dir=str(ROOT / "configs"), version_base="1.3"):
        for option in options(group):
            cfg = compose("train", overrides=[f"{group}={option}"], return_hydra_config=group == "sweep")
            if group == "sweep":  # `# @package _global_`: it sets Hydra's sweeper, there is no `sweep:` key
                assert cfg.hydra.sweeper._target_.endswith("SearchSweeper"), (group, option)
                with open_dict(cfg):
                    del cfg["hydra"]
            else:
                assert group in cfg, (group, option)
            if (group, option) == ("trainer", "gpu") and not (CUDAAccelerator.is_available()
                                                              or MPSAccelerator.is_available()):
                with pytest.raises(ConfigError, match="trainer.accelerator='gpu' is not available on this machine"):
                    validate(cfg)
            elif group == "data" and OmegaConf.is_missing(cfg.data, "path"):  # npz, csv, image_folder: your file
                with pytest.raises(ConfigError, match="data.path has no value"):
                    validate(cfg)
            elif group not in {"paths"}:
                validate(cfg)


@pytest.mark.fast
def test_required_groups_exist():
    for group in ["data", "model", "optimizer", "scheduler", "trainer", "logger", "callbacks", "paths", "hydra"]:
        assert (ROOT / "configs" / group).is_dir(), group
    assert {"tiny", "digits"} <= set(options("data"))
    assert {"tiny", "small", "medium", "large"} <= set(options("model"))
    assert {"adam", "adamw", "sgd"} <= set(options("optimizer"))
    assert {"none", "cosine"} <= set(options("scheduler"))
    assert {"cpu", "gpu", "ddp"} <= set(options("trainer"))
    assert {"tensorboard", "csv"} <= set(options("logger"))


@pytest.mark.fast
def test_fast_dev_run_trains_and_tests(train):
    process, run_dir = train("trainer.fast_dev_run=true", *FAST)
    metrics = read_metrics(run_dir)
    assert {"test/acc", "test/loss", "val/acc", "val/loss", "train/loss"} <= set(metrics)
    assert "run directory:" in process.stdout


def test_short_training_writes_metrics_checkpoints_and_tensorboard(train):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    process, run_dir = train("trainer.max_epochs=3", *FAST)
    metrics = read_metrics(run_dir)
    assert metrics["test/acc"] > 0.8, metrics  # 3 epochs are enough to learn most digits
    assert metrics["test/loss"] < 2.0  # below ln(10), the loss of a uniform guess
    assert (run_dir / "checkpoints" / "last.ckpt").exists()
    assert len([p for p in (run_dir / "checkpoints").glob("epoch*.ckpt")]) == 3  # top-3 of 3 epochs
    assert (run_dir / ".hydra" / "config.yaml").exists()
    events = EventAccumulator(str(run_dir)).Reload()
    tags = set(events.Tags()["scalars"])
    assert {"train/loss", "train/acc", "train/lr", "val/loss", "val/acc", "test/acc"} <= tags, tags
    lrs = [e.value for e in events.Scalars("train/lr")]
    assert lrs[0] > lrs[-1]  # the default cosine schedule decays the learning rate
    # the headline first, not ~37 numbers sorted alphabetically: the rest is in metrics.json and TensorBoard
    assert f"test/acc {metrics['test/acc']:.4f}  val/acc {metrics['val/acc']:.4f}" in process.stdout
{%- if cookiecutter.__with_checks == "yes" %}
    best = max((k for k in metrics if k.startswith("baseline/") and not k.startswith("baseline/val/")),  # test split
               key=metrics.get)
    assert f"best baseline: {best.removeprefix('baseline/').removesuffix('_acc')} {metrics[best]:.4f}" in process.stdout
{%- endif %}
{%- if cookiecutter.__with_diagnostics == "yes" %}
    verdict = "UNDERFITTING" if metrics["fit/underfit"] else "OVERFITTING" if metrics["fit/overfit"] else "GOOD FIT"
    assert f"fit: {verdict} (gap train-val {metrics['fit/gap']:+.4f})" in process.stdout
{%- endif %}
{%- if cookiecutter.__with_ensembles == "yes" %}
    rows = {k.split("/")[1]: v for k, v in metrics.items() if k.startswith("ensemble/") and k.endswith("/acc")}
    assert f"best ensemble row: {max(rows, key=rows.get)} {max(rows.values()):.4f}" in process.stdout
{%- endif %}
    assert f"all {len(metrics)} numbers: {run_dir / 'metrics.json'}" in process.stdout
{%- if cookiecutter.__with_diagnostics == "yes" %}
    assert "test/slice/class_0/acc" not in process.stdout  # per-class slices: metrics.json and TensorBoard
{%- endif %}


@pytest.mark.fast
def test_overfit_check_passes_through_train_py(train):
    process, run_dir = train("model=small", "data=tiny")
    assert "overfit check: PASSED" in process.stdout, process.stdout[-2000:]
    assert read_metrics(run_dir)["train/loss"] < 0.01 * 2.6  # below 1% of the loss at init (~ln 10)
    assert not (run_dir / "checkpoints").exists()  # the check keeps no checkpoints
    # it trains for a step budget (max_epochs=-1): the bar names it, not "Epoch 24/-2" (Lightning's)
    assert "/-2" not in process.stdout and re.search(r"Epoch \d+ · step \d+/300", process.stdout), process.stdout[-2000:]


@pytest.mark.parametrize("model", ["tiny", "medium", "large"])
def test_overfit_check_passes_with_every_shipped_model(train, model):
    process, _ = train(f"model={model}", "data=tiny")
    assert "overfit check: PASSED" in process.stdout, process.stdout[-2000:]


def test_overfit_is_a_mode_of_any_run_whatever_the_other_groups(train):
    """overfit=true switches off what hides memorization, whatever the groups say and in any order."""
    process, run_dir = train("overfit=true", "regularization=strong", "augmentation=light", "scheduler=onecycle",
                             "optimizer.lr=0.01", "data.batch_size=32")
    assert "overfit check: PASSED" in process.stdout, process.stdout[-2000:]
    assert read_metrics(run_dir)["train/loss"] < 0.01 * 2.6 and not (run_dir / "checkpoints").exists()


def test_overfit_check_fails_on_a_broken_setup(train):
    process, _ = train("model=small", "data=tiny", "optimizer.lr=1e-7", expect_ok=False)
    assert process.returncode == 1, process.stderr[-2000:]
    assert "overfit check: FAILED" in process.stdout, process.stdout[-2000:]


@pytest.mark.fast
def test_multirun_gives_each_job_its_own_folder_and_metrics(tmp_path):
    sweep_dir = tmp_path / "sweep"
    process = run_script(
        "train.py", "-m", "optimizer.lr=1e-3,1e-2", "model=tiny,small", "trainer.max_epochs=1",
        f"hydra.sweep.dir={sweep_dir}", f"paths.log_dir={tmp_path}", *FAST,
    )
    assert process.returncode == 0, process.stderr[-3000:]
    jobs = sorted(p for p in sweep_dir.iterdir() if p.is_dir() and (p / ".hydra").exists())
    assert len(jobs) == 4
    seen = set()
    for job in jobs:
        assert "test/acc" in read_metrics(job)
        seen.add(tuple(sorted((job / ".hydra" / "overrides.yaml").read_text().split())))
    assert len(seen) == 4


def test_ddp_on_cpu_trains_with_two_processes(train):
    # Each of the 2 processes takes every other batch: with half the per-process batch size,
    # the global batch (64) and the number of optimizer steps equal the single process's.
    _, single_dir = train("trainer.max_epochs=8", *FAST)
    process, ddp_dir = train(
        "trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2", "trainer.max_epochs=8",
        "data.batch_size=32", *FAST,
    )
    output = process.stdout + process.stderr
    assert "GLOBAL_RANK: 1, MEMBER: 2/2" in output, output[-3000:]
    assert "gloo" in output
    single, ddp = read_metrics(single_dir)["test/acc"], read_metrics(ddp_dir)["test/acc"]
    assert ddp > 0.95 and abs(single - ddp) < 0.03, (single, ddp)


def test_metrics_json_has_flat_float_values(train):
    _, run_dir = train("trainer.fast_dev_run=true", *FAST)
    metrics = json.loads(Path(run_dir / "metrics.json").read_text())
    # strict JSON: a number, or null for what a 1-step run never measured (train/loss before its first log)
    assert all((v is None or isinstance(v, float)) and "/" in k for k, v in metrics.items()), metrics
    assert isinstance(metrics["test/acc"], float) and isinstance(metrics["val/loss"], float)
