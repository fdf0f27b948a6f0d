"""Learning-rate schedules, stepped once per optimizer step (configs/scheduler/).

Each function takes the optimizer and the run's total number of optimizer steps (known
only once the trainer has the data), so a schedule's config holds just its own knobs.
"""

import math

from torch.optim import lr_scheduler


def warmup_cosine(optimizer, total_steps: int, warmup_steps: int = 0, min_lr_ratio: float = 0.0):
    """Linear warmup from ~0 to the base LR, then cosine decay to `min_lr_ratio` x base LR."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
        return min_lr_ratio + (1.0 - min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))

    return lr_scheduler.LambdaLR(optimizer, factor)


def step(optimizer, total_steps: int, milestones: tuple[float, ...] = (0.5, 0.75), gamma: float = 0.1):
    """Multiply the LR by `gamma` at each milestone, given as a fraction of the run's steps.

    Fractions rather than step numbers, so the same file works for any data size and
    `max_epochs`: [0.5, 0.75] means x0.1 halfway and again at three quarters.
    """
    steps = sorted({max(1, round(fraction * total_steps)) for fraction in milestones})
    return lr_scheduler.MultiStepLR(optimizer, milestones=steps, gamma=gamma)


def exponential(optimizer, total_steps: int, gamma: float = 0.95, every: int = 10):
    """Multiply the LR by `gamma` every `every` optimizer steps (a staircase exponential decay)."""
    return lr_scheduler.StepLR(optimizer, step_size=every, gamma=gamma)


def onecycle(optimizer, total_steps: int, pct_start: float = 0.3, div_factor: float = 25.0,
             final_div_factor: float = 1e4, anneal_strategy: str = "cos"):
    """Leslie Smith's one-cycle policy (torch's OneCycleLR), peaking at the optimizer's lr.

    The LR rises from lr/div_factor to lr over the first `pct_start` of the run, then anneals
    to lr/(div_factor*final_div_factor). Momentum (or Adam's beta1) cycles the opposite way.
    """
    peak = [group["lr"] for group in optimizer.param_groups]
    return lr_scheduler.OneCycleLR(optimizer, max_lr=peak, total_steps=total_steps, pct_start=pct_start,
                                   div_factor=div_factor, final_div_factor=final_div_factor,
                                   anneal_strategy=anneal_strategy)


def warm_restarts(optimizer, total_steps: int, cycles: int = 5, min_lr_ratio: float = 0.0):
    """`cycles` cosine decays in a row, each back to the base LR (SGDR): snapshot ensembles.

    The end of each cycle is a low-LR model in a different basin: checkpoints taken there
    (experiment=snapshot_ensemble) disagree more than the tail of a single decay.
    """
    cycle = max(1, total_steps // cycles)

    def factor(step: int) -> float:
        progress = (step % cycle) / cycle
        return min_lr_ratio + (1.0 - min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))

    return lr_scheduler.LambdaLR(optimizer, factor)
