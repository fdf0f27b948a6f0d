"""Every bad value fails before any work: exit code 2, one paragraph naming the key, the
value and what is allowed, no traceback, nothing trained (validation.py: core/validate.py, each room's config.py,
core/target_arguments.py).

The values of the first list failed late (after tens of seconds of training, or with a raw
traceback) or were accepted silently; each is one `python train.py` that must stop at once.
The odd values of the second list are checked in-process (compose + validate), so that many
of them cost little; the good values beside them must pass (no false alarms).
"""

import json

import pytest
from hydra import compose, initialize_config_dir

from conftest import FAST, ROOMS, ROOT, read_metrics, run_script, when_room

# (overrides, what the message must name: "key=value", what it must say is allowed)
LATE_BAD_VALUES = [
    ("data.subset=0", "data.subset=0", "whole number of training examples > 0"),
    ("data.subset=-5", "data.subset=-5", "whole number of training examples > 0"),
    ("data.subset=2.5", "data.subset=2.5", "whole number of training examples > 0"),
    ("data.val_fraction=0", "data.val_fraction=0", "(0, 1)"),
    ("data.val_fraction=0.9", "data.val_fraction=0.9", "sum must be < 1"),
    ("data.test_fraction=-0.1", "data.test_fraction=-0.1", "(0, 1)"),
    ("trainer.log_every_n_steps=0", "trainer.log_every_n_steps=0", ">= 1"),
    ("seed=abc", "seed='abc'", "a whole number in [0, 2**32 - 1]"),
    ("seed=-1", "seed=-1", "a whole number in [0, 2**32 - 1]"),
    ("optimized_metric=val/accuracy", "optimized_metric='val/accuracy'", "val/acc"),
    ("callbacks.model_checkpoint.monitor=val/accuracy", "callbacks.model_checkpoint.monitor='val/accuracy'",
     "train/loss, train/acc, val/loss, val/acc"),
    ("callbacks.early_stopping.mode=maximum", "callbacks.early_stopping.mode='maximum'", "min, max"),
    ("trainer.devices=0", "trainer.devices=0", "a whole number of processes >= 1"),
    ("trainer.accelerator=quantum", "trainer.accelerator='quantum'", "auto, cpu, gpu, cuda, mps, tpu"),
    ("callbacks.model_checkpoint.save_top_k=-2", "callbacks.model_checkpoint.save_top_k=-2", ">= -1"),
    ("callbacks.last_checkpoint.every_n_epochs=0", "callbacks.last_checkpoint.every_n_epochs=0", "epochs >= 1"),
    ("augmentation=light augmentation.rotation.degrees=abc", "augmentation.rotation.degrees='abc'",
     "a number (or a list of numbers)"),
    ("augmentation=heavy augmentation.shift.translate=[a,0.1]", "augmentation.shift.translate=['a', 0.1]",
     "a number (or a list of numbers)"),
    ("trainer.max_epochs=0", "trainer.max_epochs=0", ">= 1 (-1: no limit)"),
    ("trainer.precision=16-mixed", "trainer.precision='16-mixed'", "On a CPU use bf16-mixed or 32-true"),
    ("+optimizer.learning_rate=0.1", "optimizer.learning_rate=0.1", "takes: lr, betas, eps"),
    ("+optimizer.weight_decay=0.1", "optimizer.weight_decay=0.1", "set by regularization.weight_decay"),
    ("optimizer._target_=torch.optim.Adamm", "optimizer._target_='torch.optim.Adamm'", "cannot be imported"),
    ("~callbacks.model_checkpoint", "callbacks.early_stopping.monitor=${callbacks.model_checkpoint.monitor}",
     "refers to a key that does not exist"),
]
if "ensembles" in ROOMS:
    LATE_BAD_VALUES.append(("experiment=snapshot_ensemble callbacks.snapshots.every_n_epochs=0",
                            "callbacks.snapshots.every_n_epochs=0", "epochs >= 1"))
IN_FAST_TIER = {"seed=abc", "", "optimizer.lr=.inf", "ensemble.methods=soft", "pseudo_label.threshold=2",
                "curriculum=easy_to_hard curriculum.order=x", "optuna_trial=5", "test_set_budget=-1", "baselines=abc"}


def cases(values: list) -> list:
    """pytest params named by their overrides; those of IN_FAST_TIER (a few, each room's) in the fast tier."""
    params = []
    for value in values:
        value = value if isinstance(value, tuple) else (value,)
        marks = [pytest.mark.fast] if value[0] in IN_FAST_TIER else []
        params.append(pytest.param(*value, id=value[0] or "defaults", marks=marks))
    return params


@pytest.mark.parametrize("overrides, named, allowed", cases(LATE_BAD_VALUES))
def test_bad_value_fails_before_any_work(tmp_path, overrides, named, allowed):
    run_dir = tmp_path / "run"
    process = run_script("train.py", f"hydra.run.dir={run_dir}", f"paths.log_dir={tmp_path}", *overrides.split())
    assert process.returncode == 2, process.stdout[-2000:] + process.stderr[-3000:]
    assert named in process.stderr and allowed in process.stderr, process.stderr[-3000:]
    assert "Traceback" not in process.stderr and "Nothing was trained" in process.stderr
    assert len([line for line in process.stderr.splitlines() if line.startswith("error:")]) == 1  # one paragraph
    assert not (run_dir / "checkpoints").exists() and not (run_dir / "metrics.json").exists()


def test_an_unavailable_accelerator_fails_before_any_work(tmp_path):
    from lightning.pytorch.accelerators import CUDAAccelerator, MPSAccelerator

    if CUDAAccelerator.is_available() or MPSAccelerator.is_available():
        pytest.skip("this machine has a GPU")
    process = run_script("train.py", f"hydra.run.dir={tmp_path}", "trainer.accelerator=gpu")
    assert process.returncode == 2, process.stderr[-3000:]
    assert "trainer.accelerator='gpu' is not available on this machine" in process.stderr
    assert "Traceback" not in process.stderr and not (tmp_path / "checkpoints").exists()


# --- odd values (0, negative, text, true/false, lists) of every key checked, in-process -----

ODD_VALUES = [
    "data.subset=true", "data.subset=[1]", "data.split_seed=-1", "data.split_seed=abc", "data.val_fraction=1",
    "data.val_fraction=abc", "data.test_fraction=true", "data.test_fraction=0", "data.val_fraction=0.8",
    "data.fraction=.nan", "seed=1.5", "seed=true", "seed=null", "seed=4294967296", "seed=[1]",
    "optimizer.lr=.inf", "trainer.log_every_n_steps=-3", "trainer.log_every_n_steps=2.5",
    "trainer.log_every_n_steps=abc", "trainer.max_epochs=-2", "trainer.max_epochs=abc", "trainer.max_steps=0",
    "trainer.check_val_every_n_epoch=0", "trainer.limit_train_batches=0", "trainer.limit_train_batches=1.5",
    "trainer.limit_val_batches=-1", "trainer.limit_test_batches=abc", "trainer.fast_dev_run=-1",
    "trainer.fast_dev_run=abc", "trainer.devices=-1", "trainer.devices=abc", "trainer.devices=[0,1]",
    "trainer.devices=1.5", "trainer.devices=true", "trainer.devices=[]", "trainer.accelerator=CPU",
    "trainer.accelerator=xla", "trainer.accelerator=true", "trainer.accelerator=auto trainer.devices=-1",
    "trainer.accelerator=auto trainer.precision=16", "trainer=ddp trainer.strategy=ddpp",
    "callbacks.model_checkpoint.monitor=train/lr", "callbacks.model_checkpoint.monitor=[val/loss]",
    "callbacks.model_checkpoint.monitor=val/", "callbacks.model_checkpoint.mode=true",
    "callbacks.model_checkpoint.save_top_k=abc", "callbacks.model_checkpoint.save_top_k=1.5",
    "callbacks.early_stopping.patience=-1", "callbacks.early_stopping.patience=abc",
    "optimized_metric=null", "optimized_metric=[val/acc]", "optimized_metric=test/slice/",
    "optimized_metric=train/acc", "optimized_metric=train/lr", "trainer.limit_val_batches=0",
    "augmentation=light augmentation.rotation.p=true",
    "augmentation=light +augmentation.rotation.same_on_batch=1", "augmentation=heavy augmentation.shift.translate=[]",
    "augmentation=heavy augmentation.color.brightness=[0.1,abc]", "augmentation=heavy augmentation.shear.shear=abc",
    "augmentation=light +augmentation.rotation.degreez=3", "+model.in_shape=[1,8,8]", "+model.depth=3",
    "+data.path=x", "+scheduler.warmup=3", "+trainer.epochs=3", "+callbacks.early_stopping.patiense=3",
    "+callbacks.exact_resume.every=1",
    *when_room("checks", "baselines=false optimized_metric=baseline/svc_acc", "baselines=abc"),
    *when_room("curriculum", "curriculum=easy_to_hard curriculum.order=x",
               "curriculum=easy_to_hard curriculum.scorer=checkpoint"),
    *when_room("diagnostics", "callbacks.diagnostics.every_n_steps=abc", "callbacks.worst_mistakes.k=2.5",
               "~callbacks.fit_diagnosis optimized_metric=fit/gap",
               "callbacks.evaluation_metrics.metrics.f1._target_=torchmetrics.F1"),
    *when_room("ensembles", "ensemble.k=0 optimized_metric=ensemble/soft/acc", "ensemble.methods=soft", "ensemble.k=-1"),
    *when_room("pseudo_labels", "pseudo_label.threshold=2", "pseudo_label.rounds=2"),
    *when_room("sweeps", "optuna_trial=5"),
    *when_room("workflow", "test_set_budget=-1", "final=abc", "+target.value=0.9 +target.metric=test/zzz"),
]


def config(*overrides: str):
    with initialize_config_dir(config_dir=str(ROOT / "configs"), version_base="1.3"):
        return compose("train", overrides=list(overrides))


@pytest.mark.parametrize("overrides", cases(ODD_VALUES))
def test_odd_value_is_refused_naming_its_key(overrides):
    from {{cookiecutter.package_name}}.validation import ConfigError, validate

    key = overrides.split()[-1].lstrip("+~").split("=")[0]
    with pytest.raises(ConfigError, match="Nothing was trained") as error:
        validate(config(*overrides.split()))
    assert key in str(error.value), str(error.value)


GOOD_VALUES = [
    "", "data=tiny", "data=tiny model=large", "logger=csv", "trainer=ddp", "augmentation=heavy",
    "experiment=example", "experiment=label_noise", "experiment=tabular", "data.subset=10",
    "data.val_fraction=0.3 data.test_fraction=0.3", "seed=4294967295", "trainer.devices=2", "trainer.devices='2'",
    "trainer.devices=auto", "trainer.accelerator=auto", "trainer.max_epochs=-1 trainer.max_steps=10",
    "trainer.limit_train_batches=0.5", "trainer.limit_train_batches=3", "trainer.limit_val_batches=0 "
    "optimized_metric=test/acc", "trainer.precision=bf16-mixed", "trainer.fast_dev_run=2",
    "callbacks.model_checkpoint.monitor=train/loss",
    "callbacks.model_checkpoint.monitor=null ~callbacks.early_stopping", "regularization.l1=1e-4 "
    "callbacks.model_checkpoint.monitor=train/l1_penalty", "callbacks.model_checkpoint.save_top_k=-1",
    "callbacks.last_checkpoint.every_n_epochs=5",
    "augmentation=light augmentation.rotation.degrees=[-5,5]", "augmentation=heavy augmentation.shear=null",
    "+logger.tensorboard.flush_secs=5", "+trainer.num_sanity_val_steps=0",
    *when_room("checks", "optimized_metric=baseline/svc_acc"),
    *when_room("diagnostics", "optimized_metric=test/slice/class_3/acc", "optimized_metric=fit/gap",
               "optimized_metric=test/f1", "callbacks.model_checkpoint.monitor=val/f1 callbacks.model_checkpoint.mode=max"),
    *when_room("ensembles", "optimized_metric=ensemble/soft/nll", "callbacks=ema", "experiment=snapshot_ensemble"),
]


@pytest.mark.parametrize("overrides", cases(GOOD_VALUES))
def test_good_values_pass(overrides):
    from {{cookiecutter.package_name}}.validation import validate

    validate(config(*overrides.split()))


def test_accelerator_names_are_lightnings():
    from lightning.pytorch.accelerators import AcceleratorRegistry

    from {{cookiecutter.package_name}}.core.validate import ACCELERATORS

    assert set(ACCELERATORS) == set(AcceleratorRegistry.available_accelerators()) | {"auto", "gpu"}


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("devices", [1, 2, "1", "2", "auto", 0, -1, "0", "-1", "0,1", [0], [0, 1], [], 1.5, "abc"])
def test_devices_on_a_cpu_are_what_lightning_accepts(devices):
    import lightning as L

    from {{cookiecutter.package_name}}.core.validate import devices_allowed

    try:
        L.Trainer(accelerator="cpu", devices=devices, logger=False, enable_checkpointing=False,
                  enable_progress_bar=False, enable_model_summary=False)
        lightning_accepts = True
    except Exception:
        lightning_accepts = False
    assert (devices_allowed(devices, on_cpu=True) is None) == lightning_accepts


# --- the metric names validation knows are the ones a run writes -----------------------

def test_known_metrics_are_what_a_run_writes(train):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from {{cookiecutter.package_name}}.core.validate import is_under, known_metrics

    overrides = ["trainer.max_epochs=2", "regularization.l1=1e-5", *FAST]
    _, run_dir = train(*overrides)
    known = known_metrics(config(*overrides))
    written = set(read_metrics(run_dir))
    assert all(is_under(name, known["result"]) for name in written), written
    assert {name for name in known["result"] if not name.endswith("/")} <= written, written
    scalars = set(EventAccumulator(str(run_dir)).Reload().Tags()["scalars"])
    assert {name for name in known["monitor"] if not name.endswith("/")} <= scalars, scalars


def test_known_metrics_of_the_overfitting_check(train):
    from {{cookiecutter.package_name}}.core.validate import known_metrics

    _, run_dir = train("data=tiny", "~callbacks.progress_bar")  # its callbacks have no model summary
    assert set(read_metrics(run_dir)) == set(known_metrics(config("data=tiny"))["result"])


def test_a_run_without_validation_writes_its_test_metrics(train):
    _, run_dir = train("trainer.limit_val_batches=0", "optimized_metric=test/acc", "trainer.max_epochs=1", *FAST)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert "test/acc" in metrics and "val/acc" not in metrics, metrics
{%- if cookiecutter.__with_ensembles == "yes" %}


# --- eval.py's arguments ---------------------------------------------------------------

@pytest.mark.parametrize("k", ["0", "-2", "abc", "1.5"])
def test_eval_refuses_a_k_below_one(tmp_path, k):
    process = run_script("eval.py", str(tmp_path), "--k", k)
    assert process.returncode == 2
    assert f"argument --k: '{k}' is not allowed: a whole number of checkpoints >= 1" in process.stderr, process.stderr
    assert "Traceback" not in process.stderr
{%- endif %}
