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
checks these things. `run_checks(cfg)` at the bottom builds exactly what `python train.py`
would train, runs the battery and writes the table and `checks.json`.
"""

import copy
import json
import logging
import math
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import lightning as L
import torch
import torch.nn.functional as F
from rich.console import Console
from torch import nn
from torch.autograd.gradcheck import GradcheckError

from ..core.logged_metrics import task_metric
from ..core.overfit_verdict import OverfitVerdict
from ..core.validate import ConfigError
from ..runs.printed_command import same_setup_command
from .baselines import baseline_accuracies, baseline_regression_scores

PASS, WARN, FAIL, SKIP = "PASS", "WARN", "FAIL", "SKIP"


@dataclass
class Verdict:
    status: str                  # PASS | WARN | FAIL | SKIP
    value: str                   # what was measured, readable
    expected: str                # the range a healthy setup falls in
    advice: str = ""             # one or two sentences when not PASS: what it means, what to do
    numbers: dict = field(default_factory=dict)  # the raw measurements, for checks.json
    check: str = ""              # set by run_checks
    seconds: float = 0.0


class Batches:
    """A fixed list of batches as a loader Lightning accepts (a plain list would be read as several loaders)."""

    def __init__(self, batches, repeat: int = 1):
        self.batches, self.repeat = batches, repeat

    def __len__(self):
        return len(self.batches) * self.repeat

    def __iter__(self):
        for _ in range(self.repeat):
            yield from self.batches


class ZeroedInputs:
    """A loader's batches with every input set to zero: what a model learns from labels alone."""

    def __init__(self, loader):
        self.loader = loader

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        for x, y in self.loader:
            yield torch.zeros_like(x), y


# ---------------------------------------------------------------- the model at initialization


def loss_at_init(module, batches, class_counts: torch.Tensor) -> Verdict:
    """The loss before training should be ln C: an untrained model's outputs are near uniform, whatever the
    class frequencies (only a last bias set to their logarithms would give their entropy).

    Much higher: the initial outputs are too large or confident (e.g. a last layer scaled up), and the
    first steps only undo that. Judged by the logit scale that would cost the excess (`scale`: the std of
    random logits with that expected loss): up to 1 is what default initializations give. Much lower
    than the entropy of the class frequencies (the best any input-blind output can do): the labels
    leak into the inputs. Train mode, as in the first step, but dropout off: it scales the
    surviving units up by 1 / (1 - p), one random mask's outputs, not the initialization.
    """
    model = copy.deepcopy(module).train()  # a copy keeps BN statistics
    for layer in model.modules():
        if isinstance(layer, nn.modules.dropout._DropoutNd):
            layer.eval()
    with torch.no_grad():
        loss = sum(float(F.cross_entropy(model(x), y)) for x, y in batches) / len(batches)
    classes = max(int((class_counts > 0).sum()), 2)
    expected = math.log(classes)
    ratio = loss / expected
    scale = math.sqrt(2 * classes * max(loss - expected, 0.0) / (classes - 1))  # excess ~ scale^2 (C-1) / 2C
    frequencies = class_counts[class_counts > 0].double() / class_counts.sum()
    blind = loss / max(float(-(frequencies * frequencies.log()).sum()), 1e-12)  # vs the best input-blind loss
    if ratio >= 1:
        status = PASS if scale <= 1 else WARN if scale <= 2 else FAIL
    else:
        status = PASS if blind >= 0.95 else WARN if blind >= 0.75 else FAIL
    advice = ""
    if not math.isfinite(loss):
        status, advice = FAIL, "The loss is not finite before any training: NaN or Inf in the inputs (see data_finite) or in forward()."
    elif status != PASS and ratio > 1:
        advice = (
            f"The untrained model is {ratio:.2f}x more confident than chance (logits of scale ~{scale:.1f}): its outputs "
            "start too large (e.g. a last layer initialized too big; scale its weights down or zero them) or the "
            "loss does not get logits."
        )
    elif status != PASS:
        advice = "Lower than chance before any training: do the labels leak into the inputs, or is the loss not a mean?"
    return Verdict(
        status, f"{loss:.3f} ({ratio:.3f} x expected, logit scale {scale:.2f})",
        f"{expected:.3f} = ln {classes} (uniform outputs); logit scale <= 1", advice,
        {"loss": loss, "expected": expected, "ratio": ratio, "scale": scale},
    )


def batch_independence(module, x: torch.Tensor) -> Verdict:
    """In eval mode, example i's output must not depend on example j's input (j != i).

    A wrong view/reshape/transpose across the batch dimension mixes examples: training
    still works somewhat, the model is just silently wrong.
    """
    model = copy.deepcopy(module).eval()
    batch_statistics = [
        m for m in model.modules()
        if isinstance(m, nn.modules.batchnorm._NormBase) and (m.training or not m.track_running_stats)
    ]
    if batch_statistics:
        return Verdict(
            SKIP, f"{len(batch_statistics)} norm layers use batch statistics in eval mode", "no mixing",
            "Batch norm that normalizes with the batch's own statistics mixes examples by design, "
            "so this check cannot tell a bug from it.",
        )
    x = x[:8].detach().clone().requires_grad_(True)
    leak, own = 0.0, 0.0
    for i in range(len(x)):
        (grad,) = torch.autograd.grad(model(x)[i].sum(), x)
        own = max(own, float(grad[i].abs().max()))
        leak = max(leak, float(torch.cat([grad[:i], grad[i + 1 :]]).abs().max()))
    status = PASS if leak == 0.0 else FAIL
    advice = "" if status == PASS else (
        "An example's output depends on other examples' inputs: look for a view/reshape/transpose "
        "that moves the batch dimension, or a reduction over dim 0 in forward()."
    )
    return Verdict(
        status, f"max |d out_i / d x_j| = {leak:.2g} (own input: {own:.2g})", "0 for j != i", advice,
        {"leak": leak, "own": own},
    )


def gradient_check(module, x: torch.Tensor) -> Verdict:
    """torch.autograd.gradcheck in double precision: analytic gradients vs finite differences.

    With respect to the input and then each parameter of a double-precision copy (eval mode,
    two examples). fast_mode compares random projections of the Jacobians, so it costs a few
    forward passes whatever the model's size. One tensor at a time because on a mismatch
    torch recomputes the full Jacobian of the tensors it checks (for its message): of one
    tensor that takes a second, of all of them minutes. Catches a wrong hand-written backward.
    """
    model = copy.deepcopy(module).double().eval()
    # A little noise: inputs exactly at a ReLU's kink (e.g. zero pixels) make finite differences lie.
    x = x[:2].double() + 0.01 * torch.randn(x[:2].shape, dtype=torch.float64)
    parameters = {name: p.detach().clone() for name, p in model.named_parameters()}
    for name in ["the input", *parameters]:

        def forward(tensor, name=name):
            if name == "the input":
                return torch.func.functional_call(model, parameters, (tensor,))
            return torch.func.functional_call(model, parameters | {name: tensor}, (x,))

        tensor = (x if name == "the input" else parameters[name]).clone().requires_grad_(True)
        try:
            torch.autograd.gradcheck(forward, (tensor,), eps=1e-6, atol=1e-5, rtol=1e-3, fast_mode=True)
        except GradcheckError:
            return Verdict(
                FAIL, f"mismatch in the gradient of {name}", "analytic = numerical",
                "Autograd's gradient differs from finite differences: a custom autograd Function's "
                "backward() is wrong (or forward() is not deterministic).",
                {"where": name},
            )
    return Verdict(PASS, f"match ({len(parameters)} parameter tensors and the input)", "analytic = numerical")


# ---------------------------------------------------------------- the data


def finite_inputs(splits: dict) -> Verdict:
    """No NaN or Inf anywhere: one NaN input turns the loss, and then every weight, into NaN."""
    bad = {name: int((~torch.isfinite(x.float())).sum()) for name, (x, _) in splits.items()}
    total = sum(bad.values())
    status = PASS if total == 0 else FAIL
    advice = "" if status == PASS else (
        f"Inputs hold NaN or Inf ({', '.join(f'{k}: {v}' for k, v in bad.items() if v)} values): "
        "fix or drop them in the data code (missing values, division by zero in normalization)."
    )
    return Verdict(status, f"{total} non-finite values", "0", advice, bad)


def input_statistics(splits: dict) -> Verdict:
    """Reports the input range and per-channel mean/std; warns when inputs are far from unit scale."""
    x = splits["train"][0].float()
    x = x[torch.isfinite(x).flatten(1).all(1)] if x.ndim > 1 else x
    channels = x.transpose(0, 1).flatten(1) if x.ndim > 2 else x.flatten(0).unsqueeze(0)
    mean, std = channels.mean(1), channels.std(1)
    low, high = float(x.min()), float(x.max())
    far = max(abs(low), abs(high)) > 100 or bool((std == 0).any())
    status = WARN if far else PASS
    advice = "" if not far else (
        "Inputs are far from unit scale (or a channel is constant): normalize them with the training split's "
        f"statistics: `{same_setup_command('train.py', 'data.normalize=per_channel')}` (or data.normalize=global)."
    )
    shown = ", ".join(f"{m:.2f}/{s:.2f}" for m, s in zip(mean.tolist()[:4], std.tolist()[:4], strict=True))
    return Verdict(
        status, f"range [{low:.3g}, {high:.3g}]; mean/std per channel {shown}", "|x| <= 100, no constant channel",
        advice, {"min": low, "max": high, "mean": mean.tolist(), "std": std.tolist()},
    )


def label_set(splits: dict, num_classes: int) -> Verdict:
    """Every label is one of the declared classes, and the training set holds every class."""
    found = sorted(set().union(*(set(y.unique().tolist()) for _, y in splits.values())))
    outside = [label for label in found if not 0 <= label < num_classes]
    missing = sorted(set(range(num_classes)) - set(splits["train"][1].unique().tolist()))
    status = FAIL if outside else WARN if missing else PASS
    advice = ""
    if outside:
        advice = f"Labels {outside[:10]} are outside 0..{num_classes - 1}: num_classes or the label encoding is wrong."
    elif missing:
        advice = f"Classes {missing[:10]} never occur in training: the model cannot learn them (split, or num_classes)."
    return Verdict(
        status, f"{len(found)} labels, {min(found)}..{max(found)}", f"exactly 0..{num_classes - 1}", advice,
        {"labels": found},
    )


def class_balance(train_y: torch.Tensor, num_classes: int) -> Verdict:
    """Reports how unequal the class frequencies are (most / least frequent class)."""
    counts = torch.bincount(train_y[(train_y >= 0) & (train_y < num_classes)], minlength=num_classes)
    ratio = float(counts.max()) / max(1.0, float(counts.min()))
    status = PASS if ratio <= 3 else WARN
    advice = "" if status == PASS else (
        f"The most frequent class has {ratio:.1f}x the examples of the rarest: watch per-class accuracy or "
        "balanced accuracy, and consider class weights in the loss or a balanced sampler."
    )
    return Verdict(status, f"most/least frequent = {ratio:.2f}", "<= 3", advice, {"counts": counts.tolist()})


def leakage(splits: dict) -> Verdict:
    """No example of val/test is an exact copy of a training example (leakage inflates val/test scores)."""

    def rows(x):
        return {row.numpy().tobytes() for row in x.reshape(len(x), -1).float()}

    train = rows(splits["train"][0])
    shared = {name: len(rows(x) & train) for name, (x, _) in splits.items() if name != "train"}
    fraction = max((shared[name] / len(splits[name][0]) for name in shared), default=0.0)
    status = PASS if fraction == 0 else WARN if fraction <= 0.01 else FAIL
    advice = "" if status == PASS else (
        f"Val/test examples also in training ({shared}): deduplicate before splitting, or split by "
        "source (patient, recording, ...) so near-copies stay on one side."
    )
    return Verdict(status, ", ".join(f"{k}: {v} shared" for k, v in shared.items()), "0 shared with train", advice, shared)


# ---------------------------------------------------------------- training briefly


def overfit_one_batch(module, batch, make_trainer, steps: int, loss_below: float) -> Verdict:
    """One fixed batch, regularization and augmentation off: the loss must go to ~0.

    A model that cannot memorize 64 examples has a bug. The advice names the classic
    causes it can see: probabilities fed to a loss that expects logits, dead units, a
    learning rate so high that the loss goes up.
    """
    start_model = copy.deepcopy(module)
    verdict, history = OverfitVerdict(loss_below=loss_below), LossHistory()
    trainer = make_trainer(max_steps=steps, callbacks=[verdict, history])
    trainer.fit(module, train_dataloaders=Batches([batch], repeat=steps))
    numbers = {"best_loss": verdict.best_loss, "last_loss": verdict.last_loss, "steps": verdict.steps}
    if verdict.passed:
        return Verdict(PASS, f"loss {verdict.last_loss:.3g} after {verdict.steps} steps",
                       f"< {loss_below:g} within {steps} steps", numbers=numbers)
    x, y = batch
    with torch.no_grad():
        outputs = start_model.eval()(x)
    initial = float(start_model.loss(outputs, y))
    causes = []
    if start_model.task == "classification" and bool((outputs >= 0).all()) and torch.allclose(
            outputs.sum(1), torch.ones(len(x)), atol=1e-3):
        floor = math.log(math.e + outputs.shape[1] - 1) - 1
        causes.append(
            "The outputs are probabilities (they sum to 1): softmax is applied before a loss that expects "
            f"logits (cross_entropy applies log-softmax itself), so the loss cannot fall below {floor:.2f}; "
            "return raw logits."
        )
    dead = zero_gradient_fraction(start_model.train(), batch)
    numbers["zero_gradient_fraction"] = dead
    if dead > 0.5:
        causes.append(
            f"{dead:.0%} of the weight tensors get no gradient at all: dead units (e.g. ReLUs whose inputs are "
            "always negative: large negative biases, a bad initialization); check the initialization."
        )
    worst = max(history.losses, default=initial)
    numbers["worst_loss"] = worst
    if not math.isfinite(worst) or worst > 2 * initial:
        causes.append(
            f"The loss went up on the way (from {initial:.3g} to {worst:.3g}): the learning rate is most likely "
            "far too high; try the LR range test's suggestion."
        )
    if not causes and verdict.best_loss < 0.6 * initial:
        causes.append(
            f"The loss falls (from {initial:.3g} to {verdict.best_loss:.3g}) but too slowly: the learning rate is "
            "probably too low (see the LR range test) or the model too small."
        )
    if not causes:
        causes.append(
            "Check the learning rate (LR range test below), that the loss gets logits, that the labels "
            "match the inputs, and for dead units."
        )
    return Verdict(
        FAIL, f"best loss {verdict.best_loss:.3g} in {verdict.steps} steps", f"< {loss_below:g} within {steps} steps",
        " ".join(causes), numbers,
    )


class LossHistory(L.Callback):
    """Every training step's loss (to tell a diverging run from a stuck one)."""

    def __init__(self):
        self.losses = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.losses.append(float(outputs["loss"]))


def zero_gradient_fraction(module, batch) -> float:
    """Fraction of weight tensors (ndim > 1) whose gradient on this batch is exactly zero."""
    module = copy.deepcopy(module)
    x, y = batch
    module.loss(module(x), y).backward()
    weights = [p for p in module.parameters() if p.ndim > 1]
    return sum(p.grad is None or not bool(p.grad.any()) for p in weights) / max(1, len(weights))


def input_signal(module, train_loader, val, make_trainer, steps: int, trains: bool | None = None) -> Verdict:
    """The same model trained briefly on real inputs must beat one trained on zeroed inputs.

    With zeroed inputs a model can only learn the class frequencies. If the real inputs do
    no better, the data carries no signal the model finds: labels shuffled relative to
    their inputs, inputs lost in the pipeline, or a model that ignores its input. Judged on
    the validation loss, which moves long before the accuracy does in a brief training.
    The advice names the most likely cause first: a training that did not work (the training loss
    went up or did not fall; `trains`=False: overfit_one_batch failed) points at the optimization,
    a training that worked points at the data.
    """
    val_x, val_y = val
    results, history = {}, LossHistory()
    for name, loader, inputs in [("real", train_loader, val_x), ("zeroed", ZeroedInputs(train_loader), torch.zeros_like(val_x))]:
        L.seed_everything(0, verbose=False)
        model = copy.deepcopy(module)
        make_trainer(max_steps=steps, callbacks=[history] if name == "real" else []).fit(model, train_dataloaders=loader)
        results[f"{name}_loss"], results[f"{name}_acc"] = evaluate(model, inputs, val_y)
    gain = results["zeroed_loss"] - results["real_loss"]  # nats of the labels (regression: variance) explained
    status = PASS if gain >= 0.1 else WARN if gain >= 0.03 else FAIL
    losses = history.losses or [math.nan]
    first, last = sum(losses[:5]) / len(losses[:5]), sum(losses[-5:]) / len(losses[-5:])
    results["train_loss_first"], results["train_loss_last"] = first, last
    numbers = (f"After {steps} steps real inputs give a val loss of {results['real_loss']:.3f}, zeroed inputs "
               f"{results['zeroed_loss']:.3f}")
    diverged = not math.isfinite(max(losses)) or max(losses) > 2 * losses[0]
    if status == PASS:
        advice = ""
    elif diverged or trains is False:
        went = f"went up to {max(losses):.3g} (from {losses[0]:.3g})" if diverged else f"went {first:.3g} -> {last:.3g}"
        advice = (
            f"{numbers}, but the training loss itself {went}"
            + (" and overfit_one_batch failed" if trains is False else "")
            + ": training does not work, so this check cannot judge the data yet. Most likely the learning rate "
            "(the LR range test's suggestion below); once training works, run the checks again. Labels that do "
            "not belong to their inputs come second."
        )
    elif trains is None and not last < 0.9 * first:
        advice = (
            f"{numbers}, and the training loss did not fall ({first:.3g} -> {last:.3g}): either the labels do not "
            "belong to their inputs or training does not work (learning rate); overfit_one_batch tells them apart "
            "(it passes with shuffled labels): run it too."
        )
    else:
        advice = (
            f"{numbers}: training works ({'overfit_one_batch passed; ' if trains else ''}the loss went "
            f"{first:.3g} -> {last:.3g}) yet the "
            "model barely uses its inputs. Check that the labels belong to their inputs (no shuffling of one without "
            "the other) and that the inputs reach the model (or, if it is just slow, raise check.signal_steps)."
        )
    return Verdict(
        status,
        f"val loss real {results['real_loss']:.3f} vs zeroed {results['zeroed_loss']:.3f} "
        f"({task_metric('acc', module.task)} {results['real_acc']:.2f} vs {results['zeroed_acc']:.2f})",
        "real <= zeroed - 0.1", advice, results,
    )


def evaluate(module, x, y, batch_size: int = 1024) -> tuple[float, float]:
    """(mean loss, accuracy) of a module on tensors, in eval mode; regression: (mean loss, R2)."""
    module.eval()
    with torch.no_grad():
        logits = torch.cat([module(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])
    if module.task != "classification":
        from torchmetrics.functional import r2_score

        return float(module.loss(logits, y)), float(r2_score(logits.reshape(y.shape), y))
    return float(F.cross_entropy(logits, y)), float((logits.argmax(1) == y).float().mean())


def classic_baselines(splits: dict) -> Verdict:
    """scikit-learn baselines on the same split: the bar the network has to clear (see checks/baselines.py)."""
    if splits["train"][1].is_floating_point():  # regression targets
        return regression_baselines(splits)
    scores = baseline_accuracies(*splits["train"], *splits["test"])
    majority = scores["baseline/majority_acc"]
    best = max(scores["baseline/logreg_acc"], scores["baseline/svc_acc"])
    status = PASS if best >= majority + 0.05 else WARN
    advice = "" if status == PASS else (
        f"No classic model beats guessing the most frequent class ({best:.3f} vs {majority:.3f}): the inputs "
        "carry no signal about the labels as given. Check the pairing of inputs and labels."
    )
    shown = ", ".join(f"{k.split('/')[1].removesuffix('_acc')} {v:.3f}" for k, v in scores.items())
    return Verdict(status, f"test acc: {shown}", "best > majority + 0.05; the network should beat the best",
                   advice, scores)


def regression_baselines(splits: dict) -> Verdict:
    """The mean predictor and ridge regression: does a linear model find any signal in the inputs?"""
    scores = baseline_regression_scores(*splits["train"], *splits["test"])
    mean, ridge = scores["baseline/mean_r2"], scores["baseline/ridge_r2"]
    status = PASS if ridge >= mean + 0.05 else WARN
    advice = "" if status == PASS else (
        f"Ridge regression does no better than predicting the mean (R2 {ridge:.3f} vs {mean:.3f}): the inputs carry "
        "no linear signal about the targets. Check the pairing of inputs and targets (a network may still find "
        "a non-linear one)."
    )
    shown = ", ".join(f"{k.split('/')[1]} {v:.3f}" for k, v in scores.items())
    return Verdict(status, f"test: {shown}", "ridge r2 > mean r2 + 0.05; the network should beat ridge",
                   advice, scores)


def needs_classes(task: str) -> Verdict:
    return Verdict(SKIP, f"a {task} task", "classes", "This check is about classes; it does not apply here.")


# ---------------------------------------------------------------- Lightning's tuners


def lr_range_test(module, train_loader, make_trainer, lr: float, run_dir: Path, min_lr: float, max_lr: float,
                  num_training: int) -> Verdict:
    """Lightning's LR finder: the loss while the LR grows exponentially, one step per LR.

    Lightning runs the sweep. The curve is ours: every step's raw loss (recorded by the module) and their
    running average (beta 0.98) with the right bias correction. Lightning's own curve divides the
    first average by 1 - 0.98^2 instead of 1 - 0.98 (it reads global_step after the step), so its
    first point is half the real loss (1.17 against 2.34 at init on the digits); ours starts at the
    loss of the first batch before any update, the number `loss_at_init` measures.
    The suggestion is ours too: the LR at the lowest averaged loss divided by 10 (the "minimum"
    rule of fastai). Lightning's `suggestion()` takes the steepest slope against the LR itself
    rather than its logarithm, which on an exponential sweep favours the smallest LRs (here 2e-5
    to 3e-4 whatever the model); it stays in checks.json for reference. The first 10 points are
    left out of the minimum: a running average of so few steps is noisy.
    The module's `configure_optimizers` reads `self.lr`, the attribute the finder would set
    (Lightning issue 16787), so the suggestion is used with `optimizer.lr=<value>`.
    """
    from lightning.pytorch.tuner import Tuner

    probe, raw_losses = copy.deepcopy(module), []
    training_step = probe.training_step

    def recorded_training_step(*args, **kwargs):  # lr_find runs its own callback only: record here
        output = training_step(*args, **kwargs)
        raw_losses.append(float(output["loss"] if isinstance(output, dict) else output))
        return output

    probe.training_step = recorded_training_step
    finder = Tuner(make_trainer()).lr_find(
        probe, train_dataloaders=train_loader, min_lr=min_lr, max_lr=max_lr, num_training=num_training,
        update_attr=False,
    )
    steps = min(len(finder.results["lr"]), len(raw_losses))
    all_lrs, raw = torch.tensor(finder.results["lr"][:steps]), torch.tensor(raw_losses[:steps])
    averaged = running_average(raw)
    lrs, losses = all_lrs[10:], averaged[10:]
    finite = torch.isfinite(losses)
    if int(finite.sum()) < 2:
        return Verdict(WARN, "no suggestion", "a suggestion", "Too few finite losses: lower check.lr_find.max_lr.")
    lowest = int(torch.where(finite, losses, torch.inf).argmin())
    at_minimum, suggested = float(lrs[lowest]), float(lrs[lowest]) / 10
    plot_lr_range(all_lrs, raw, averaged, suggested, float(losses[(lrs - suggested).abs().argmin()]), run_dir)
    status = PASS if suggested / 100 <= lr <= at_minimum else WARN
    advice = "" if status == PASS else (
        f"The configured lr is {lr / suggested:.3g}x the suggestion ({'past the lowest loss' if lr > at_minimum else 'far below it'}): "
        f"try `optimizer.lr={suggested:.2g}` (plot: {run_dir / 'lr_find.png'})."
    )
    return Verdict(
        status, f"suggested {suggested:.2g} (configured {lr:g})", f"{suggested / 100:.2g} .. {at_minimum:.2g} (lowest loss)",
        advice, {"suggested_lr": suggested, "lr_at_lowest_loss": at_minimum, "lr": lr, "first_loss": float(raw[0]),
                 "lightning_suggestion": finder.suggestion()},
    )


def running_average(losses: torch.Tensor, beta: float = 0.98) -> torch.Tensor:
    """Exponential moving average with bias correction: step k (from 0) divides by 1 - beta^(k+1)."""
    average, out = 0.0, []
    for k, loss in enumerate(losses.tolist()):
        average = beta * average + (1 - beta) * loss
        out.append(average / (1 - beta ** (k + 1)))
    return torch.tensor(out)


def plot_lr_range(lrs, raw, averaged, suggested: float, loss_at_suggested: float, run_dir: Path) -> None:
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots()
    ax.plot(lrs, raw, color="0.75", linewidth=0.8, label="loss of each step")
    ax.plot(lrs, averaged, label="running average (beta 0.98)")
    ax.plot([float(lrs[0])], [float(raw[0])], "k.", label=f"first step: {float(raw[0]):.3g} (the loss at init)")
    ax.plot([suggested], [loss_at_suggested], "ro", label=f"suggested lr {suggested:.2g}")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate (one step each)")
    ax.set_ylabel("training loss")
    finite = raw[torch.isfinite(raw)]
    if finite.numel():  # a diverging end would squash the curve: show up to 1.5x the loss at init
        ax.set_ylim(top=max(1.5 * float(raw[0]), float(averaged[torch.isfinite(averaged)].min()) * 1.1))
    ax.legend()
    save_figure(figure, run_dir, "lr_find")


def save_figure(figure, run_dir: Path, name: str) -> None:
    """A matplotlib figure as <run_dir>/<name>.png and as the TensorBoard image check/<name>."""
    import matplotlib.pyplot as plt
    from torch.utils.tensorboard import SummaryWriter

    figure.savefig(run_dir / f"{name}.png", dpi=100)
    with SummaryWriter(str(run_dir)) as writer:
        writer.add_figure(f"check/{name}", figure)  # closes the figure
    plt.close("all")


def largest_batch(module, data, make_trainer, max_trials: int) -> Verdict:
    """Lightning's batch-size finder: doubles the batch until memory runs out (or max_trials)."""
    from lightning.pytorch.tuner import Tuner

    configured = data.batch_size
    try:
        found = Tuner(make_trainer()).scale_batch_size(
            copy.deepcopy(module), datamodule=data, mode="power", max_trials=max_trials, steps_per_trial=2,
        )
    finally:
        data.batch_size = configured  # the finder changes it; report only
    return Verdict(PASS, f"{found} fits (configured {configured}, {max_trials} doublings at most)",
                   "reported", numbers={"batch_size": found})


# ---------------------------------------------------------------- the battery


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
    from hydra.utils import instantiate
    from omegaconf import open_dict

    from ..core.module import build_module
    from ..run import build_data

    settings = cfg.check
    only = list(settings.only) if settings.only else None
    unknown = sorted(set(only or []) - set(CHECKS))
    if unknown:
        raise ConfigError(f"check.only={unknown} names no check; the checks are: {', '.join(CHECKS)}.")
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)  # not "GPU available: ..." per Trainer
    warnings.filterwarnings("ignore", message=".*`validation_step` but have no `val_dataloader`")

    L.seed_everything(cfg.seed, verbose=False)
    data = build_data(cfg)

    def build(bare: bool = False):
        """The module as configured; bare: without regularization, augmentation, schedule or dropout."""
        plain_cfg = cfg.copy()
        with open_dict(plain_cfg):
            plain_cfg.scheduler, plain_cfg.regularization, plain_cfg.augmentation = None, None, None
        return build_module(plain_cfg if bare else cfg, data)  # no regularization: no dropout either

    def make_trainer(**changes):
        """The configured Trainer (accelerator, precision, clipping, ...), quiet, one device, no files."""
        quiet = dict(
            logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
            callbacks=[], devices=1, strategy="auto", max_epochs=-1, max_steps=-1, limit_val_batches=0,
            num_sanity_val_steps=0, limit_train_batches=None, fast_dev_run=False, default_root_dir=str(run_dir),
        )
        return instantiate(cfg.trainer, **(quiet | changes))

    module, bare = build(), build(bare=True)
    splits = {name: data.split_tensors(name, settings.max_examples) for name in ("train", "val", "test")}
    train_x, train_y = splits["train"]
    batch = next(iter(data.train_dataloader()))
    classes = data.task == "classification"
    class_counts = torch.bincount(train_y.clamp(0, data.num_classes - 1), minlength=data.num_classes) if classes else None
    init_batches = [
        (train_x[i : i + data.batch_size], train_y[i : i + data.batch_size])
        for i in range(0, min(len(train_y), settings.init_batches * data.batch_size), data.batch_size)
    ]
    battery = {
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
            trains=next((v.status != FAIL for v in verdicts if v.check == "overfit_one_batch"), None)),
        "baselines": lambda: classic_baselines(splits),
        "lr_range_test": lambda: lr_range_test(
            module, data.train_dataloader(), make_trainer, float(cfg.optimizer.lr), run_dir, **settings.lr_find),
        "batch_size": lambda: largest_batch(module, data, make_trainer, settings.batch_size_max_trials),
    }
    verdicts = []
    print(f"{'check':<20s} {'verdict':<7s} {'measured':<52s} expected")
    selected = only or [name for name in CHECKS if name != "batch_size" or settings.batch_size]
    console = Console()  # a spinner naming the running check, in a terminal only (logs get the rows)
    to_run = [name for name in CHECKS if name in selected]
    for index, name in enumerate(to_run, 1):
        start = time.perf_counter()
        L.seed_everything(cfg.seed, verbose=False)  # each check sees the same randomness, whatever ran before
        with console.status(f"running {name} ({index}/{len(to_run)}): {WHAT_IT_DOES.get(name, '')}"):
            verdict = battery[name]()
        verdict.check, verdict.seconds = name, time.perf_counter() - start
        verdicts.append(verdict)
        print_row(verdict)
    report(verdicts, run_dir)
    return verdicts


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

