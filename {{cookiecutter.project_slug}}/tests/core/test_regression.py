"""Regression (`task = "regression"`): a user's own table of 12 features with a real-valued target.

Loss MSE (default) or MAE, RMSE and R2, the mean and ridge baselines, the fit diagnosis on R2;
what needs classes skips with one notice; a model
or augmentation that cannot work on vectors fails before training, naming what fits.
"""

import sys

import pytest
import torch
from hydra import compose, initialize_config_dir

from conftest import FAST, ROOT, read_metrics, run_script, when_room
from data_files import CURVE, own_regression_env
from {{cookiecutter.package_name}}.core.validate import ConfigError

NOTICES = []
{%- if cookiecutter.__with_ensembles == "yes" %}
NOTICES += ["the hard vote needs classes"]
{%- endif %}
{%- if cookiecutter.__with_diagnostics == "yes" %}
NOTICES += ["evaluation_metrics (F1, confusion matrix) need classes", "slice_accuracy (accuracy per slice) needs classes",
            "worst_mistakes (examples titled by true and predicted class) needs classes"]
{%- endif %}


@pytest.fixture(scope="module")
def own_data(tmp_path_factory):
    """(folder holding own_regression.py, the environment in which train.py imports it)."""
    folder = tmp_path_factory.mktemp("own")
    return folder, own_regression_env(folder)


@pytest.fixture(scope="module")
def regression_run(own_data, tmp_path_factory):
    """One 10-epoch run of the MLP on the table, shared by the tests below: (process, run_dir)."""
    folder, env = own_data
    run_dir = tmp_path_factory.mktemp("regression") / "run"
    process = run_script("train.py", f"hydra.run.dir={run_dir}", *CURVE, "trainer.max_epochs=10", *FAST,
                         env=env, timeout=400)
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    return process, run_dir


def test_regression_reports_rmse_r2_baselines_ensembles_and_fit_diagnosis(regression_run):
    process, run_dir = regression_run
    metrics = read_metrics(run_dir)
    assert metrics["test/r2"] > 0.6 and metrics["val/r2"] > 0.5, metrics  # the mean predictor: R2 ~ 0
{%- if cookiecutter.__with_checks == "yes" %}
    assert 0 < metrics["test/rmse"] < 0.7 * metrics["baseline/mean_rmse"], metrics
    assert metrics["baseline/ridge_r2"] > 0.8 and abs(metrics["baseline/mean_r2"]) < 0.05, metrics
    assert f"best baseline: ridge {metrics['baseline/ridge_r2']:.4f}" in process.stdout
{%- endif %}
    # the loss is the MSE (the default) of standardized targets: MSE / std^2 of the training targets
    std = target_std(run_dir)
    assert 1.5 < std < 3 and metrics["val/loss"] == pytest.approx((metrics["val/rmse"] / std) ** 2, rel=1e-3)
    assert not any("acc" in key or "f1" in key or "slice" in key for key in metrics), metrics
{%- if cookiecutter.__with_ensembles == "yes" %}
    # ensembles average predictions: rows single, mean, weight_average; no hard vote
    for row in ("single", "mean", "weight_average"):
        assert metrics[f"ensemble/{row}/r2"] > 0.5, (row, metrics)
        assert f"{row:16s} {metrics[f'ensemble/{row}/rmse']:8.4f} {metrics[f'ensemble/{row}/r2']:8.4f}" in process.stdout
    assert not any(key.startswith(("ensemble/hard", "ensemble/soft")) for key in metrics)
    assert metrics["ensemble/single/rmse"] == pytest.approx(metrics["test/rmse"], abs=1e-4)  # the same checkpoint
{%- endif %}
{%- if cookiecutter.__with_diagnostics == "yes" %}
    # the fit diagnosis reads R2, train against val
    train_r2, gap = metrics["fit/train_r2"], metrics["fit/gap"]
    assert gap == pytest.approx(train_r2 - metrics["val/r2"], abs=1e-4) and metrics["fit/train_rmse"] > 0
    verdict = "UNDERFITTING" if train_r2 < 0.9 else "OVERFITTING" if gap > 0.05 else "GOOD FIT"
    assert f"fit diagnosis: {verdict}: train r2 {train_r2:.4f}" in process.stdout, process.stdout[-3000:]
    assert metrics[f"fit/{'underfit' if verdict == 'UNDERFITTING' else 'overfit'}"] == (verdict != "GOOD FIT")
{%- endif %}
    # the headline reads R2 too
    assert f"test/r2 {metrics['test/r2']:.4f}  val/r2 {metrics['val/r2']:.4f}" in process.stdout
{%- if cookiecutter.__with_diagnostics == "yes" %}
    assert f"fit: {verdict} (gap train-val {gap:+.4f})" in process.stdout
{%- endif %}
    # what needs classes said so once, and skipped
    for notice in NOTICES:
        assert process.stdout.count(notice) == 1, (notice, process.stdout[-3000:])


def target_std(run_dir) -> float:
    """The std of the training targets, as the run's checkpoints keep it (plain numbers)."""
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    [std] = checkpoint["hyper_parameters"]["target_scale"]["std"]
    return std


def test_the_network_learns_standardized_targets_and_predicts_in_their_units(own_data):
    from {{cookiecutter.package_name}}.core.module import build_module

    cfg, data = compose_curve(own_data)
    module = build_module(cfg, data).eval()
    _, y = data.split_tensors("train")
    assert module.target_mean.tolist() == pytest.approx([float(y.mean())], abs=1e-5)
    assert module.target_std.tolist() == pytest.approx([float(y.std())], rel=1e-5)
    x = torch.rand(5, 12)
    with torch.no_grad():
        assert torch.allclose(module(x), module.model(x) * y.std() + y.mean(), atol=1e-5)


def test_regression_metrics_reach_tensorboard(regression_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    _, run_dir = regression_run
    tags = set(EventAccumulator(str(run_dir)).Reload().Tags()["scalars"])
    assert {"train/loss", "val/loss", "val/rmse", "val/r2", "test/rmse", "test/r2"} <= tags, tags
{%- if cookiecutter.__with_ensembles == "yes" %}
    assert "ensemble/mean/r2" in tags, tags
{%- endif %}
{%- if cookiecutter.__with_checks == "yes" %}
    assert "baseline/ridge_r2" in tags
{%- endif %}
    assert "train/acc" not in tags and "val/acc" not in tags


def test_mae_loss_trains_on_absolute_errors(own_data, tmp_path):
    from {{cookiecutter.package_name}}.runs.checkpoints import load_classifier, ranked_checkpoints

    _, env = own_data
    run_dir = tmp_path / "run"
    process = run_script("train.py", f"hydra.run.dir={run_dir}", *CURVE, "loss=mae", "trainer.max_epochs=3",
                         *when_room("ensembles", "ensemble.k=0"), *when_room("checks", "baselines=false"), *FAST, env=env, timeout=400)
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    metrics = read_metrics(run_dir)
    # val/loss (final validation of the best checkpoint) is the mean absolute error of standardized targets
    module = load_classifier(ranked_checkpoints(run_dir, 1)[0])
    assert module.loss_name == "mae"
    x, y = compose_curve(own_data)[1].split_tensors("val")
    with torch.no_grad():
        error = (module(x).reshape(y.shape) - y) / target_std(run_dir)
    assert metrics["val/loss"] == pytest.approx(float(error.abs().mean()), rel=1e-4), metrics
    assert metrics["val/loss"] != pytest.approx(float(error.square().mean()), rel=1e-2)


def compose_curve(own_data, *overrides):
    folder, _ = own_data
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    from own_regression import Curve

    with initialize_config_dir(config_dir=str(ROOT / "configs"), version_base="1.3"):
        cfg = compose("train", overrides=[*CURVE, *overrides])
    return cfg, Curve()


def test_a_loss_that_does_not_fit_the_task_fails_naming_the_allowed_ones(own_data):
    from {{cookiecutter.package_name}}.core.data import DigitsData
    from {{cookiecutter.package_name}}.core.module import build_module

    cfg, data = compose_curve(own_data, "loss=cross_entropy")
    with pytest.raises(ConfigError, match="loss='cross_entropy' does not fit the regression task.*mse, mae"):
        build_module(cfg, data)
    with initialize_config_dir(config_dir=str(ROOT / "configs"), version_base="1.3"):
        digits = compose("train", overrides=["loss=mae"])
    with pytest.raises(ConfigError, match="loss='mae' does not fit the classification task.*cross_entropy"):
        build_module(digits, DigitsData())


def test_regression_optimizes_val_r2_unless_told_otherwise(own_data):
    from {{cookiecutter.package_name}}.core.data import DigitsData
    from {{cookiecutter.package_name}}.run import optimized_metric

    cfg, data = compose_curve(own_data)
    assert optimized_metric(cfg, data) == "val/r2"
    cfg.optimized_metric = "val/loss"
    assert optimized_metric(cfg, data) == "val/loss"
    cfg.optimized_metric = "val/acc"
    assert optimized_metric(cfg, DigitsData()) == "val/acc"


def test_label_smoothing_on_regression_is_ignored_with_a_notice(own_data, capsys):
    from {{cookiecutter.package_name}}.core.module import build_module

    cfg, data = compose_curve(own_data, "regularization=label_smoothing")
    module = build_module(cfg, data).eval()
    assert "label_smoothing=0.1 applies to classes; ignored" in capsys.readouterr().out
    x, y = data.split_tensors("train", 32)
    with torch.no_grad():
        assert float(module.loss(module(x), y, label_smoothing=0.1)) == pytest.approx(float(module.loss(module(x), y)))


@pytest.mark.parametrize("overrides, named", [
    (["model=small"], "Use model=mlp_small (or mlp_tiny, mlp_medium, mlp_large)"),  # a CNN on vectors
    (["augmentation=light"], "use augmentation=none"),  # kornia would reshape vectors into images
])
def test_what_cannot_work_on_vectors_fails_before_training(own_data, tmp_path, overrides, named):
    _, env = own_data
    run_dir = tmp_path / "run"
    process = run_script("train.py", f"hydra.run.dir={run_dir}", *CURVE, *overrides, *FAST, env=env, timeout=300)
    # exit code 2 for a ConfigError raised inside the run comes with the entry points' error handling
    assert process.returncode != 0, process.stdout[-2000:]
    assert named in process.stderr and "(12,)" in process.stderr, process.stderr[-3000:]
    assert "Epoch" not in process.stdout and not (run_dir / "checkpoints").exists()
