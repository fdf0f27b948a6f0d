"""Lightning's tuners as checks: the LR range test (its suggestion, a plot and a TensorBoard image)
and the batch-size finder."""

import copy
from pathlib import Path

import torch

from .verdict import PASS, WARN, Verdict


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
