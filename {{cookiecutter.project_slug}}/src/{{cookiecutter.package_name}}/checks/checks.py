"""Sanity checks before training: `python check.py [overrides]` (docs/checks.md).

Deep-learning bugs rarely crash: the network learns around them, a little worse. Each
check below is a small function that takes the built LightningModule, a batch or the data
tensors, and returns a `Verdict` (PASS / WARN / FAIL / SKIP, the measured value, the
expected range, and advice when it is not PASS). They assume only that `module(x)` returns
class scores (logits) and that the datamodule yields `(x, y)` batches, so a model or
datamodule of your own gets the whole battery without writing anything. On a regression
task the losses are the module's own (MSE or MAE of standardized targets), the classic
baselines are the mean and ridge regression, and the checks that need classes (labels,
class_balance, loss_at_init) say SKIP.

Lightning does the LR range test and the batch-size finder (`Tuner`), torch the gradient
check, scikit-learn the classic baselines; the rest is our own code because no library
checks these things. The checks live beside this file, one kind each: data_checks.py, model_at_init.py,
training_checks.py (overfit one batch, input signal), tuners.py (LR range test, batch size), verdict.py.
`run_checks(cfg)` below builds exactly what `python train.py` would train, runs the battery and writes
the table and `checks.json`.
"""

import json
import logging
import time
import warnings
from dataclasses import asdict
from functools import partial
from pathlib import Path

import lightning as L
import torch
from rich.console import Console

from ..core.validate import ConfigError
from ..runs.printed_command import same_setup_command
from .data_checks import class_balance, classic_baselines, finite_inputs, input_statistics, label_set, leakage
from .model_at_init import batch_independence, gradient_check, loss_at_init
from .training_checks import input_signal, overfit_one_batch
from .tuners import largest_batch, lr_range_test
from .verdict import FAIL, PASS, SKIP, WARN, Verdict, needs_classes

CHECKS = (
    "data_finite", "data_range", "labels", "class_balance", "leakage",
    "loss_at_init", "batch_independence", "gradcheck", "overfit_one_batch", "input_signal",
    "baselines", "lr_range_test", "batch_size",
)


WHAT_IT_DOES = {  # the spinner's words for the checks that train (seconds to minutes on a busy machine)
    "overfit_one_batch": "training on one batch until its loss is ~0",
    "input_signal": "training briefly on real, then on zeroed inputs",
    "baselines": "fitting scikit-learn models",
    "lr_range_test": "one step per learning rate, growing exponentially",
    "batch_size": "doubling the batch until it does not fit",
}


def run_checks(cfg) -> list[Verdict]:
    """Build what `python train.py <same overrides>` would train, run the battery, report."""
    from hydra.core.hydra_config import HydraConfig

    from ..run import build_data

    names = selected_checks(cfg.check)  # a misspelled name fails before any work
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)  # not "GPU available: ..." per Trainer
    warnings.filterwarnings("ignore", message=".*`validation_step` but have no `val_dataloader`")
    L.seed_everything(cfg.seed, verbose=False)
    data = build_data(cfg)
    verdicts = []
    checks = battery(cfg, data, run_dir, done=verdicts)
    print(f"{'check':<20s} {'verdict':<7s} {'measured':<52s} expected")
    console = Console()  # a spinner naming the running check, in a terminal only (logs get the rows)
    for index, name in enumerate(names, 1):
        start = time.perf_counter()
        L.seed_everything(cfg.seed, verbose=False)  # each check sees the same randomness, whatever ran before
        with console.status(f"running {name} ({index}/{len(names)}): {WHAT_IT_DOES.get(name, '')}"):
            verdict = checks[name]()
        verdict.check, verdict.seconds = name, time.perf_counter() - start
        verdicts.append(verdict)
        print_row(verdict)
    report(verdicts, run_dir)
    return verdicts


def selected_checks(settings) -> list[str]:
    """The checks to run, in the battery's order: `check.only`, or all of them (the batch-size finder if asked)."""
    only = list(settings.only) if settings.only else None
    unknown = sorted(set(only or []) - set(CHECKS))
    if unknown:
        raise ConfigError(f"check.only={unknown} names no check; the checks are: {', '.join(CHECKS)}.")
    selected = only or [name for name in CHECKS if name != "batch_size" or settings.batch_size]
    return [name for name in CHECKS if name in selected]


def module_for_checks(cfg, data, bare: bool = False):
    """The module as configured; bare: without regularization, augmentation, schedule or dropout."""
    from omegaconf import open_dict

    from ..core.module import build_module

    plain_cfg = cfg.copy()
    with open_dict(plain_cfg):
        plain_cfg.scheduler, plain_cfg.regularization, plain_cfg.augmentation = None, None, None
    return build_module(plain_cfg if bare else cfg, data)  # no regularization: no dropout either


def quiet_trainer(cfg, run_dir: Path, **changes):
    """The configured Trainer (accelerator, precision, clipping, ...), quiet, one device, no files."""
    from hydra.utils import instantiate

    quiet = dict(
        logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
        callbacks=[], devices=1, strategy="auto", max_epochs=-1, max_steps=-1, limit_val_batches=0,
        num_sanity_val_steps=0, limit_train_batches=None, fast_dev_run=False, default_root_dir=str(run_dir),
    )
    return instantiate(cfg.trainer, **(quiet | changes))


def battery(cfg, data, run_dir: Path, done: list[Verdict]) -> dict:
    """Each check by name, as a function of nothing, on exactly what train.py would train; `done`: the
    verdicts so far (input_signal reads whether overfit_one_batch trained)."""
    settings, make_trainer = cfg.check, partial(quiet_trainer, cfg, run_dir)
    module, bare = module_for_checks(cfg, data), module_for_checks(cfg, data, bare=True)
    splits = {name: data.split_tensors(name, settings.max_examples) for name in ("train", "val", "test")}
    train_x, train_y = splits["train"]
    batch = next(iter(data.train_dataloader()))
    classes = data.task == "classification"
    class_counts = torch.bincount(train_y.clamp(0, data.num_classes - 1), minlength=data.num_classes) if classes else None
    init_batches = [
        (train_x[i : i + data.batch_size], train_y[i : i + data.batch_size])
        for i in range(0, min(len(train_y), settings.init_batches * data.batch_size), data.batch_size)
    ]
    return {
        "data_finite": lambda: finite_inputs(splits),
        "data_range": lambda: input_statistics(splits),
        "labels": lambda: label_set(splits, data.num_classes) if classes else needs_classes(data.task),
        "class_balance": lambda: class_balance(train_y, data.num_classes) if classes else needs_classes(data.task),
        "leakage": lambda: leakage(splits),
        "loss_at_init": lambda: loss_at_init(module, init_batches, class_counts) if classes else needs_classes(data.task),
        "batch_independence": lambda: batch_independence(module, batch[0]),
        "gradcheck": lambda: gradient_check(module, batch[0]),
        "overfit_one_batch": lambda: overfit_one_batch(
            bare, batch, make_trainer, settings.overfit_steps, settings.overfit_loss_below),
        "input_signal": lambda: input_signal(
            module, data.train_dataloader(), splits["val"], make_trainer, settings.signal_steps,
            trains=next((v.status != FAIL for v in done if v.check == "overfit_one_batch"), None)),
        "baselines": lambda: classic_baselines(splits),
        "lr_range_test": lambda: lr_range_test(
            module, data.train_dataloader(), make_trainer, float(cfg.optimizer.lr), run_dir, **settings.lr_find),
        "batch_size": lambda: largest_batch(module, data, make_trainer, settings.batch_size_max_trials),
    }


def print_row(verdict: Verdict) -> None:
    print(f"{verdict.check:<20s} {verdict.status:<7s} {verdict.value:<52s} {verdict.expected}", flush=True)
    if verdict.advice:
        print(f"{'':<20s} -> {verdict.advice}", flush=True)


def report(verdicts: list[Verdict], run_dir: Path) -> None:
    """checks.json in the run directory, and a closing line with what to do next."""
    failed = [v.check for v in verdicts if v.status == FAIL]
    warned = [v.check for v in verdicts if v.status == WARN]
    summary = {"passed": not failed, "failed": failed, "warned": warned, "checks": [asdict(v) for v in verdicts]}
    lr = next((v.numbers.get("suggested_lr") for v in verdicts if v.check == "lr_range_test"), None)
    if lr is not None:
        summary["suggested_lr"] = lr
    (run_dir / "checks.json").write_text(json.dumps(summary, indent=2) + "\n")
    counts = {s: sum(v.status == s for v in verdicts) for s in (PASS, WARN, FAIL, SKIP)}
    print(", ".join(f"{n} {s}" for s, n in counts.items() if n))
    if lr is not None:
        print(f"suggested learning rate: optimizer.lr={lr:.2g}")
        print(f"train with it: {same_setup_command('train.py', f'optimizer.lr={lr:.2g}')}")
    print(f"run directory: {run_dir}")
