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
