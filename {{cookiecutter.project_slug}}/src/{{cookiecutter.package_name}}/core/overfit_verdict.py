"""The overfitting check's verdict: can this model drive the training loss to ~0?

A model that cannot memorize a handful of examples has a bug (or far too little
capacity, or a bad learning rate): find out in seconds, before a long run. Used by
`overfit=true` (and `data=tiny`) and by the checks' overfit_one_batch; stops training as
soon as the loss is below the threshold.

The threshold is relative: PASSED once the loss is below `loss_fraction` (1%) of the loss at
initialization (the first step's, before any update). Memorizing drives any loss down by orders
of magnitude, whatever its units: the number of classes (ln 10 = 2.30 on digits, ln 2 on two),
the scale of a regression target. A fixed number such as 0.01 is a different demand on every
loss; on digits images at 16 or 32 px it failed correct setups whose loss had fallen 100-fold
(to 0.014-0.039) when the step budget ran out. The bugs the check exists for stay far above 1%:
probabilities fed to cross-entropy cannot go below ~63% of the loss at init on 10 classes, dead
units or a hopeless learning rate leave it near 100%. `loss_below` sets an absolute threshold
instead (overfit_one_batch and a stage gate's `train_loss_below` use one).
"""

import time

import lightning as L

from ..runs.printed_command import learning_rate_advice

# A loss that fell below this fraction of its value at init is learning: a FAILED check then
# blames the step budget or the learning rate, not a bug.
LEARNING = 0.1


class OverfitVerdict(L.Callback):
    def __init__(self, loss_below: float | None = None, loss_fraction: float = 0.01, patience_steps: int = 1):
        self.loss_below = loss_below  # absolute threshold; None: loss_fraction x the loss at init
        self.loss_fraction = loss_fraction
        self.patience_steps = patience_steps  # consecutive steps below the threshold to pass
        self.initial_loss = None
        self.best_loss = float("inf")
        self.last_loss = float("inf")
        self.steps_below = 0
        self.steps = 0
        self.passed = False
        self.start = time.perf_counter()

    @property
    def threshold(self) -> float:
        if self.loss_below is not None:
            return self.loss_below
        return self.loss_fraction * self.initial_loss if self.initial_loss is not None else float("nan")

    def on_train_start(self, trainer, pl_module):
        self.start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.last_loss = float(outputs["loss"])
        if self.initial_loss is None:  # the first step's loss was computed before any update
            self.initial_loss = self.last_loss
        self.best_loss = min(self.best_loss, self.last_loss)
        self.steps = trainer.global_step
        self.steps_below = self.steps_below + 1 if self.last_loss < self.threshold else 0
        if self.steps_below >= self.patience_steps:
            self.passed = True
            trainer.should_stop = True

    def describe_threshold(self) -> str:
        if self.loss_below is not None:
            return f"{self.loss_below:g}"
        return f"{self.threshold:.3g} = {self.loss_fraction:.0%} of the loss at init {self.initial_loss:.3g}"

    def verdict(self) -> str:
        seconds = time.perf_counter() - self.start
        if self.passed:
            return (
                f"overfit check: PASSED (train loss {self.last_loss:.4g} < {self.describe_threshold()} "
                f"after {self.steps} steps, {seconds:.1f} s)"
            )
        failed = (f"overfit check: FAILED (train loss reached {self.best_loss:.4g}, not below "
                  f"{self.describe_threshold()}, in {self.steps} steps, {seconds:.1f} s).")
        if self.initial_loss and self.best_loss < LEARNING * self.initial_loss:
            return (
                f"{failed} The loss fell to {self.best_loss / self.initial_loss:.1%} of its value at init: the model "
                "learns these examples, slowly. Give it more steps (overfit_check.max_steps) or a higher learning "
                f"rate{learning_rate_advice()}."
            )
        return (
            f"{failed} A model that cannot memorize a few examples "
            f"usually has a bug: check the learning rate{learning_rate_advice()}, "
            "the loss input (logits, not probabilities), the labels, and dead units."
        )
