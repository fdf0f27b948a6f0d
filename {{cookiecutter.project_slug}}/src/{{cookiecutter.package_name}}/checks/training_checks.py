"""Checks that train briefly: can the model memorize one batch (overfit_one_batch), and does it learn
more from the real inputs than from zeroed ones (input_signal)?"""

import copy
import math

import lightning as L
import torch
import torch.nn.functional as F

from ..core.logged_metrics import task_metric
from ..core.overfit_verdict import OverfitVerdict
from .verdict import FAIL, PASS, WARN, Verdict


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
    return Verdict(
        FAIL, f"best loss {verdict.best_loss:.3g} in {verdict.steps} steps", f"< {loss_below:g} within {steps} steps",
        " ".join(causes_of_no_memorizing(start_model, batch, verdict, history.losses, numbers)), numbers,
    )


def causes_of_no_memorizing(start_model, batch, verdict, losses: list, numbers: dict) -> list[str]:
    """The classic causes overfit_one_batch can see, most specific first (their measurements go to `numbers`)."""
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
    worst = max(losses, default=initial)
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
    return causes


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
    advice = "" if status == PASS else signal_advice(numbers, losses, first, last, trains)
    return Verdict(
        status,
        f"val loss real {results['real_loss']:.3f} vs zeroed {results['zeroed_loss']:.3f} "
        f"({task_metric('acc', module.task)} {results['real_acc']:.2f} vs {results['zeroed_acc']:.2f})",
        "real <= zeroed - 0.1", advice, results,
    )


def signal_advice(numbers: str, losses: list, first: float, last: float, trains: bool | None) -> str:
    """Why the real inputs did not beat zeroed ones, the most likely cause first: a training that did not
    work points at the optimization, one that worked at the data."""
    diverged = not math.isfinite(max(losses)) or max(losses) > 2 * losses[0]
    if diverged or trains is False:
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
    return advice


def evaluate(module, x, y, batch_size: int = 1024) -> tuple[float, float]:
    """(mean loss, accuracy) of a module on tensors, in eval mode; regression: (mean loss, R2)."""
    module.eval()
    with torch.no_grad():
        logits = torch.cat([module(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])
    if module.task != "classification":
        from torchmetrics.functional import r2_score

        return float(module.loss(logits, y)), float(r2_score(logits.reshape(y.shape), y))
    return float(F.cross_entropy(logits, y)), float((logits.argmax(1) == y).float().mean())
