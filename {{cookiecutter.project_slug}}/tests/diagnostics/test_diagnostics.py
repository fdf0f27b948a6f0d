"""Diagnostics and evaluation, read back the way TensorBoard reads them (EventAccumulator).

One short default training run is shared by most assertions; faults are injected in small
runs of their own (a model module and callbacks written by the test, named in overrides).
"""

import os
import textwrap

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from conftest import FAST, ROOT, read_metrics, run_script

FAULTS = textwrap.dedent('''
    import lightning as L
    import torch

    from {{cookiecutter.package_name}}.core.models import ResNet


    def dead_resnet(**kwargs):
        """The default network with large negative biases before every ReLU: dead units."""
        net = ResNet(**kwargs)
        for module in net.modules():
            if isinstance(module, torch.nn.Conv2d) and module.bias is not None:
                torch.nn.init.constant_(module.bias, -100.0)
        return net


    class NaNGradient(L.Callback):
        """Puts a NaN into one parameter's gradient at one step."""

        def __init__(self, parameter, step):
            self.parameter, self.step = parameter, step

        def on_after_backward(self, trainer, pl_module):
            if trainer.global_step == self.step:
                dict(pl_module.named_parameters())[self.parameter].grad.view(-1)[0] = float("nan")


    class HookSpy(L.Callback):
        """Records, per step, the forward hooks on the model after the forward pass and at the
        end of the step, and what the diagnostics callback still holds at the end of the step."""

        def __init__(self, path):
            self.path, self.rows = path, []

        def diagnostics(self, trainer):
            return next(c for c in trainer.callbacks if type(c).__name__ == "Diagnostics")

        def hooks(self, pl_module):
            return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in pl_module.modules())

        def on_before_backward(self, trainer, pl_module, loss):
            self.during = self.hooks(pl_module)

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            diagnostics = self.diagnostics(trainer)  # runs before this spy: what it keeps for later
            held = len(diagnostics._step) + len(diagnostics._hooks)
            self.rows.append(f"{trainer.global_step - 1} {self.during} {self.hooks(pl_module)} {held}")

        def on_train_end(self, trainer, pl_module):
            open(self.path, "w").write("\\n".join(self.rows))
''')

SHORT = ["trainer.max_steps=2", "trainer.limit_val_batches=1", "trainer.limit_test_batches=1",
         "callbacks.diagnostics.every_n_steps=1", *FAST]


def run_with_faults(tmp_path, *overrides, expect_ok=True):
    (tmp_path / "faults.py").write_text(FAULTS)
    env = {"PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(tmp_path)])}
    run_dir = tmp_path / "run"
    process = run_script("train.py", f"hydra.run.dir={run_dir}", f"paths.log_dir={tmp_path}", *overrides, env=env)
    if expect_ok:
        assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    return process, run_dir


def events(run_dir):
    return EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "histograms": 0, "images": 0,
                                                         "tensors": 0}).Reload()


def alerts(run_dir) -> list[str]:
    accumulator = events(run_dir)
    if "diag/alerts/text_summary" not in accumulator.Tags()["tensors"]:
        return []
    return [e.tensor_proto.string_val[0].decode() for e in accumulator.Tensors("diag/alerts/text_summary")]


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """3 epochs (60 steps) of the default setup, diagnostics every 20 steps, a hook spy."""
    tmp_path = tmp_path_factory.mktemp("default")
    spy = tmp_path / "hooks.txt"
    process, run_dir = run_with_faults(
        tmp_path, "trainer.max_epochs=3", "callbacks.diagnostics.every_n_steps=20",
        "+callbacks.spy._target_=faults.HookSpy", f"+callbacks.spy.path={spy}", *FAST,
    )
    return process, run_dir, events(run_dir), [line.split() for line in spy.read_text().splitlines()]


def test_diagnostics_log_histograms_and_per_layer_scalars_every_n_steps(default_run):
    process, run_dir, accumulator, _ = default_run
    tags = accumulator.Tags()
    histograms, scalars = set(tags["histograms"]), set(tags["scalars"])
    for kind in ["preact", "act"]:
        assert f"diag/model.stem.2/{kind}" in histograms and f"diag/model.blocks.1.act2/{kind}" in histograms
    for kind in ["weight", "weight_grad"]:
        assert f"diag/model.stem.0/{kind}" in histograms and f"diag/model.head/{kind}" in histograms
    for quantity in ["weight_update_ratio", "weight_grad_norm", "weight_norm"]:
        assert f"diag/model.head/{quantity}" in scalars
    assert "diag/model.stem.2/dead_fraction" in scalars and "diag/grad_norm_total" in scalars
    assert [e.step for e in accumulator.Scalars("diag/grad_norm_total")] == [0, 20, 40]
    assert [e.step for e in accumulator.Histograms("diag/model.head/weight")] == [0, 20, 40]
    ratios = [e.value for e in accumulator.Scalars("diag/model.blocks.0.conv1/weight_update_ratio")]
    assert all(1e-6 < r < 0.1 for r in ratios), ratios  # Adam at lr 1e-3: a healthy ratio
    assert all(e.value == 0.0 for e in accumulator.Scalars("diag/model.stem.2/dead_fraction"))
    histogram = accumulator.Histograms("diag/model.blocks.0.act1/preact")[0].histogram_value
    assert histogram.num == 2048  # subsampled: the batch has 64 x 16 x 8 x 8 values
    assert "diagnostics alert" not in process.stdout, process.stdout[-2000:]  # a healthy run
    assert alerts(run_dir) == []


def test_hooks_exist_only_during_logging_steps_and_nothing_is_kept(default_run):
    *_, rows = default_run
    assert len(rows) == 60
    for step, during, after, held in ((int(a), int(b), int(c), int(d)) for a, b, c, d in rows):
        assert during == (10 if step % 20 == 0 else 0), (step, during)  # 5 ReLUs x (pre + post)
        assert after == 0 and held == 0, (step, after, held)


def test_evaluation_images_metrics_and_fit_diagnosis(default_run):
    process, run_dir, accumulator, _ = default_run
    images = set(accumulator.Tags()["images"])
    assert {"val/confusion_matrix", "test/confusion_matrix", "val/worst_mistakes", "val/random_predictions"} <= images
    grid = accumulator.Images("val/worst_mistakes")[-1]
    assert grid.width > 300 and grid.height > 300 and grid.encoded_image_string[:4] == b"\x89PNG"
    metrics = read_metrics(run_dir)
    assert 0.8 < metrics["test/f1"] <= 1.0 and 0.8 < metrics["val/f1"] <= 1.0
    per_class = [metrics[f"test/slice/class_{k}/acc"] for k in range(10)]
    assert min(per_class) <= metrics["test/acc"] <= max(per_class)
    assert "test/slice/class_3/acc" in accumulator.Tags()["scalars"]
    train_acc, gap = metrics["fit/train_acc"], metrics["fit/gap"]
    assert abs(gap - (train_acc - metrics["val/acc"])) < 1e-6
    verdict = "UNDERFITTING" if train_acc < 0.95 else "OVERFITTING" if gap > 0.03 else "GOOD FIT"
    assert f"fit diagnosis: {verdict}: train acc {train_acc:.4f}" in process.stdout
    text = accumulator.Tensors("fit/diagnosis/text_summary")[0].tensor_proto.string_val[0].decode()
    assert verdict in text and f"val acc {metrics['val/acc']:.4f}" in text


@pytest.mark.fast
def test_dead_units_raise_the_dead_fraction_alert(tmp_path):
    process, run_dir = run_with_faults(tmp_path, "model._target_=faults.dead_resnet", "model.norm=none", *SHORT)
    assert "diagnostics alert: step 0: model.stem.2 dead_fraction = 1, outside the healthy range" in process.stdout
    assert any("model.stem.2 dead_fraction" in alert for alert in alerts(run_dir))
    assert process.stdout.count("model.stem.2 dead_fraction") == 1  # once per layer and quantity


def test_a_learning_rate_1000x_too_high_raises_the_update_ratio_alert(tmp_path):
    process, run_dir = run_with_faults(tmp_path, "optimizer.lr=1.0", *SHORT)
    found = [a for a in alerts(run_dir) if "weight_update_ratio" in a and "outside the healthy range" in a]
    assert found and all(a.startswith("step 0:") for a in found), alerts(run_dir)
    assert "weight_update_ratio" in process.stdout
{%- if cookiecutter.__with_checks == "yes" %}


def test_the_learning_rate_check_py_suggests_raises_no_alert_of_ours(tmp_path):
    """Adam's first updates are large next to fresh weights: expected, so the first steps have wider ranges."""
    import re

    from conftest import when_room

    check = run_script("check.py", f"hydra.run.dir={tmp_path / 'check'}", f"paths.log_dir={tmp_path}")
    suggested = re.search(r"suggested learning rate: optimizer.lr=(\S+)", check.stdout)
    assert suggested, check.stdout[-3000:]
    every_10 = ("callbacks.diagnostics.every_n_steps=10", "trainer.max_epochs=3", *when_room("ensembles", "ensemble.k=0"), "baselines=false", *FAST)
    process, run_dir = run_with_faults(tmp_path, f"optimizer.lr={suggested[1]}", *every_10)
    assert "diagnostics alert" not in process.stdout and alerts(run_dir) == [], process.stdout[-3000:]
    # without the first steps' ranges the same run alerts at step 0: the grace is what keeps it quiet
    (tmp_path / "no_grace").mkdir()
    process, _ = run_with_faults(tmp_path / "no_grace", f"optimizer.lr={suggested[1]}", *every_10,
                                 "callbacks.diagnostics.grace_steps=0")
    assert "diagnostics alert: step 0:" in process.stdout and "weight_update_ratio" in process.stdout
{%- endif %}


@pytest.mark.fast
def test_a_nan_gradient_raises_a_non_finite_alert_naming_the_layer(tmp_path):
    process, run_dir = run_with_faults(
        tmp_path, "+callbacks.nan._target_=faults.NaNGradient", "+callbacks.nan.parameter=model.head.weight",
        "+callbacks.nan.step=1", *SHORT, expect_ok=False,
    )
    first = [a for a in alerts(run_dir) if "non-finite" in a]
    assert first and first[0] == "step 1: model.head weight_grad_norm = nan, non-finite", alerts(run_dir)
    assert "diagnostics alert: step 1: model.head weight_grad_norm = nan, non-finite" in process.stdout


@pytest.mark.fast
def test_declared_slices_diagnostics_off_and_an_overfitting_verdict(tmp_path):
    process, run_dir = run_with_faults(
        tmp_path, "~callbacks.diagnostics", "trainer.max_epochs=1",
        "callbacks.slice_accuracy.slice_of={_target_:{{cookiecutter.package_name}}.diagnostics.slice_accuracy.by_ink,_partial_:true}",
        "callbacks.fit_diagnosis.good_train_acc=0.0", "callbacks.fit_diagnosis.max_gap=-1.0", *FAST,
    )
    metrics = read_metrics(run_dir)
    assert {"test/slice/faint/acc", "test/slice/bold/acc"} <= set(metrics)
    assert not any(key.startswith("test/slice/class_") for key in metrics)
    assert not any(tag.startswith("diag/") for tag in events(run_dir).Tags()["scalars"])
    assert metrics["fit/overfit"] == 1.0 and "fit diagnosis: OVERFITTING" in process.stdout


def test_learning_curve_experiment_plots_train_and_val_against_training_size(tmp_path):
    sweep_dir = tmp_path / "sweep"
    process = run_script(
        "train.py", "experiment=learning_curve", "data.fraction=0.2,1.0", "trainer.max_epochs=1",
        "~callbacks.diagnostics", f"hydra.sweep.dir={sweep_dir}", f"paths.log_dir={tmp_path}", *FAST,
    )
    assert process.returncode == 0, process.stderr[-3000:]
    sizes = sorted(read_metrics(sweep_dir / job)["fit/train_examples"] for job in ["0", "1"])
    assert sizes[0] < 0.3 * sizes[1]
    png = sweep_dir / "learning_curve.png"
    assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 10_000
    assert f"learning curve (fit/train_acc / val/acc by training examples) {int(sizes[0])}:" in process.stdout
