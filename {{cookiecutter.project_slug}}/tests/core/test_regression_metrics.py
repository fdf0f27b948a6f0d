"""Every metric a run writes can be monitored, optimized and targeted, on regression too (issue 30 §1).

What a run logs is declared by what logs it (core/logged_metrics.py: the module per task, each callback
its `logs`); which metrics are better lower is one function; on regression val/acc means val/r2.
One 2-job regression sweep on a CSV table serves most tests below.
"""

import csv
import os

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig

from conftest import FAST, IMPORT_TIMES, ROOT, imported_packages, read_metrics, run_script, when_room

# A user's own callback: it declares what it logs (`logs`), so a checkpoint or early stopping can watch it.
OWN_CALLBACK = '''
import lightning as L
import torch


class FitScore(L.Callback):
    logs = ("val/fit_score",)  # higher is better: 1 / (1 + RMSE) on the validation split

    def on_validation_epoch_end(self, trainer, pl_module):
        x, y = trainer.datamodule.split_tensors("val")
        with torch.no_grad():
            rmse = (pl_module(x.to(pl_module.device)).reshape(y.shape).cpu() - y).square().mean().sqrt()
        pl_module.log("val/fit_score", 1 / (1 + rmse))
'''


def write_table(path, rows: int = 240):
    """y = a linear function of 4 features plus noise: a small regression table."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(rows, 4, generator=generator)
    y = x @ torch.tensor([1.0, -2.0, 0.5, 0.0]) + 0.3 * torch.randn(rows, generator=generator)
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["a", "b", "c", "d", "y"])
        writer.writerows([[*map(float, features), float(target)] for features, target in zip(x, y, strict=True)])
    return path


def table(tmp_path) -> list[str]:
    return ["data=csv", f"data.path={write_table(tmp_path / 'table.csv')}", "data.target=y", "data.task=regression",
            "model=mlp_small"]


@pytest.fixture(scope="module")
def regression_sweep(tmp_path_factory):
    """Two regression jobs (two learning rates) optimizing val/r2, checkpoints on val/rmse, a target on val/mae:
    (process, sweep folder, the table's overrides)."""
    tmp_path = tmp_path_factory.mktemp("regression_metrics")
    overrides = table(tmp_path)
    folder = tmp_path / "sweep"
    process = run_script(
        "train.py", "-m", *overrides, "optimizer.lr=1e-4,1e-2", "trainer.max_epochs=3", "optimized_metric=val/r2",
        "callbacks.model_checkpoint.monitor=val/rmse",
        *when_room("workflow", "target={metric: val/mae, value: 100, why: a loose bound}"),
        *when_room("ensembles", "ensemble.k=0"), *when_room("diagnostics", "~callbacks.diagnostics"), f"hydra.sweep.dir={folder}", f"paths.log_dir={tmp_path}", *FAST,
        timeout=600)
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    return process, folder, overrides


def test_a_regression_run_optimizes_r2_checkpoints_on_rmse_and_meets_a_target_on_mae(regression_sweep):
    process, folder, _ = regression_sweep
    metrics = read_metrics(folder / "0")
    for name in ("val/r2", "val/rmse", "val/mae", "test/r2", "test/rmse", "test/mae", *when_room("diagnostics", "fit/train_mae")):
        assert name in metrics, (name, metrics)
    assert metrics["test/mae"] < metrics["test/rmse"]  # MAE <= RMSE always; strictly on real errors
{%- if cookiecutter.__with_workflow == "yes" %}
    assert "target val/mae <= 100: MET" in process.stdout, process.stdout[-3000:]  # the best job's (workflow/)
{%- endif %}
    checkpoint = torch.load(folder / "0" / "checkpoints" / "last.ckpt", weights_only=True)  # every callback's end state
    states = [state for key, state in checkpoint["callbacks"].items() if key.startswith("ModelCheckpoint{'monitor': 'val/rmse'")]
    assert "ModelCheckpoint{'monitor': 'val/rmse', 'mode': 'min'" in str(list(checkpoint["callbacks"]))
    assert float(states[0]["best_model_score"]) == min(float(s) for s in states[0]["best_k_models"].values())
    early_stopping = next(state for key, state in checkpoint["callbacks"].items() if key.startswith("EarlyStopping"))
    assert float(early_stopping["best_score"]) == float(states[0]["best_model_score"])  # it follows the checkpoint's


def test_a_users_own_callback_that_declares_its_metric_can_be_monitored(tmp_path):
    (tmp_path / "own_callbacks.py").write_text(OWN_CALLBACK)
    run_dir = tmp_path / "run"
    process = run_script(
        "train.py", f"hydra.run.dir={run_dir}", f"paths.log_dir={tmp_path}", *table(tmp_path), "trainer.max_epochs=2",
        "+callbacks.fit_score._target_=own_callbacks.FitScore", "callbacks.model_checkpoint.monitor=val/fit_score",
        "callbacks.model_checkpoint.mode=max", *when_room("ensembles", "ensemble.k=0"), *when_room("checks", "baselines=false"),
        *when_room("diagnostics", "~callbacks.diagnostics"), *FAST,
        env={"PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT / "src")])})
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    state = next(state for key, state in checkpoint["callbacks"].items() if key.startswith("ModelCheckpoint{'monitor': 'val/fit_score'"))
    assert 0 < float(state["best_model_score"]) == max(float(s) for s in state["best_k_models"].values()) < 1


def test_resuming_a_finished_regression_run_returns_its_r2(regression_sweep, tmp_path):
    from {{cookiecutter.package_name}}.run import train

    _, folder, _ = regression_sweep
    with initialize_config_dir(config_dir=str(ROOT / "configs"), version_base="1.3"):
        cfg = compose("train", overrides=[f"resume={folder / '1'}"], return_hydra_config=True)
    cfg.hydra.runtime.output_dir = str(tmp_path / "this_command")  # what Hydra sets when it runs train.py
    HydraConfig.instance().set_config(cfg)
    assert train(cfg) == read_metrics(folder / "1")["val/r2"]  # the optimized metric, not None


@pytest.mark.parametrize("override, named", [
    ("optimized_metric=val/r22", "optimized_metric='val/r22' is not allowed: a metric this run writes to "
                                 "metrics.json: train/loss, val/loss, val/rmse, val/mae, val/r2, test/loss"),
    ("callbacks.early_stopping.monitor=val/rsme", "callbacks.early_stopping.monitor='val/rsme' is not allowed: a "
                                                  "metric logged while training: train/loss, val/loss, val/rmse"),
    ("callbacks.model_checkpoint.monitor=val/r2", "val/r2 is better higher, so use callbacks.model_checkpoint.mode=max"),
])
def test_a_misspelled_or_misdirected_metric_fails_before_torch_is_imported(tmp_path, override, named):
    process = run_script("train.py", f"hydra.run.dir={tmp_path / 'run'}", *table(tmp_path), override, env=IMPORT_TIMES)
    assert process.returncode == 2, process.stdout[-2000:] + process.stderr[-2000:]
    assert named in process.stderr, process.stderr[-2000:]
    assert not {"torch", "lightning"} & imported_packages(process)
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_one_rule_for_directions_and_for_what_val_acc_means():
    from {{cookiecutter.package_name}}.core.logged_metrics import lower_is_better, task_metric, written_metric

    lower = ["val/loss", "val/rmse", "test/mae", "fit/gap", "ensemble/soft/nll", "baseline/mean_rmse"]
    assert all(lower_is_better(name) for name in lower)
    assert not any(lower_is_better(name) for name in ("val/acc", "val/r2", "val/f1", "test/slice/a=b/acc"))
    assert task_metric("val/acc", "regression") == "val/r2" and task_metric("val/acc", "classification") == "val/acc"
    assert task_metric("fit/train_acc", "regression") == "fit/train_r2"
    assert written_metric("val/acc", {"val/r2": 0.5}) == "val/r2" and written_metric("val/acc", {"val/acc": 1}) == "val/acc"
{%- if cookiecutter.__with_workflow == "yes" %}
    # a target reads the same: test/acc on a regression run is its test/r2; val/mae is met from below
    from {{cookiecutter.package_name}}.workflow.target import target_result

    reached = target_result({"metric": "test/acc", "value": 0.5}, {"test/r2": 0.7})
    assert reached["metric"] == "test/r2" and reached["met"] and not reached["lower_is_better"]
    assert target_result({"metric": "val/mae", "value": 0.5}, {"val/mae": 0.7})["met"] is False
{%- endif %}
