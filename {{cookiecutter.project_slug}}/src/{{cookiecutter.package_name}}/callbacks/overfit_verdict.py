"""The overfitting check's verdict: can this model drive the training loss to ~0?

A model that cannot memorize a handful of examples has a bug (or far too little
capacity, or a bad learning rate): find out in seconds, before a long run. Used by
`data=tiny`; stops training as soon as the loss is below the threshold.
"""

import time

import lightning as L

from ..printed_command import same_setup_command


class OverfitVerdict(L.Callback):
    def __init__(self, loss_below: float = 0.01, patience_steps: int = 1):
        self.loss_below = loss_below
        self.patience_steps = patience_steps  # consecutive steps below the threshold to pass
        self.best_loss = float("inf")
        self.last_loss = float("inf")
        self.steps_below = 0
        self.steps = 0
        self.passed = False
        self.start = time.perf_counter()

    def on_train_start(self, trainer, pl_module):
        self.start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.last_loss = float(outputs["loss"])
        self.best_loss = min(self.best_loss, self.last_loss)
        self.steps = trainer.global_step
        self.steps_below = self.steps_below + 1 if self.last_loss < self.loss_below else 0
        if self.steps_below >= self.patience_steps:
            self.passed = True
            trainer.should_stop = True

    def verdict(self) -> str:
        seconds = time.perf_counter() - self.start
        if self.passed:
            return (
                f"overfit check: PASSED (train loss {self.last_loss:.4g} < {self.loss_below:g} "
                f"after {self.steps} steps, {seconds:.1f} s)"
            )
        return (
            f"overfit check: FAILED (train loss reached {self.best_loss:.4g}, not below {self.loss_below:g}, "
            f"in {self.steps} steps, {seconds:.1f} s). A model that cannot memorize a few examples "
            f"usually has a bug: check the learning rate (`{same_setup_command('check.py')}` runs the LR range test), "
            "the loss input (logits, not probabilities), the labels, and dead units."
        )
