"""Stop at the first non-finite training loss, keep the last finite weights, fail loudly.

Lightning's `EarlyStopping(check_finite=True)` only looks at the validation metric once
per epoch and then exits 0, so a sweep or CI never sees the failure. This checks every
step's loss BEFORE the backward pass, so the weights are still those of the last finite
step: they are saved to `last_finite.ckpt`, then the run fails (RunFailed: exit code 1).
Only if they ARE finite: the forward pass of this step has already updated batch-norm
statistics (NaN inputs or a huge previous step make them NaN/inf), and then no finite
checkpoint of this step exists; the message says so and names the run's newest finite one.
"""

import math
from pathlib import Path

import lightning as L

from ..runs.checkpoints import newest_finite_checkpoint, non_finite_tensors
from ..runs.failures import RunFailed


class StopOnNonFiniteLoss(L.Callback):
    def __init__(self, dirpath: str, filename: str = "last_finite"):
        self.path = Path(dirpath) / f"{filename}.ckpt"

    def on_before_backward(self, trainer, pl_module, loss):
        value = float(loss.detach())
        if math.isfinite(value):
            return
        terms = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("train/")}
        terms_text = ", ".join(f"{key}={value:.4g}" for key, value in sorted(terms.items())) or "none logged"
        raise RunFailed(  # exit code 1: a sweep, CI and the shell all see the failure
            f"the training loss is {value} at step {trainer.global_step} "
            f"(epoch {trainer.current_epoch}, batch {trainer.fit_loop.epoch_loop.batch_idx}); "
            f"loss terms this step: {terms_text}. {self.save_if_finite(trainer, pl_module)} "
            "Usual causes: a learning rate too high (try a lower optimizer.lr or gradient clipping with "
            "trainer.gradient_clip_val=1.0), a log or division of zero in the loss, or bad input values."
        )

    def save_if_finite(self, trainer, pl_module) -> str:
        """Write last_finite.ckpt if every weight and buffer is finite; say what was (not) saved."""
        bad = non_finite_tensors(pl_module.state_dict())
        if not bad:
            trainer.save_checkpoint(self.path)  # the optimizer has not stepped yet: the weights before this step
            return f"The weights before this step are saved in {self.path}."
        newest = newest_finite_checkpoint(self.path.parent)
        return (
            f"No finite checkpoint of this step exists: {len(bad)} weights or buffers are already NaN or inf "
            f"(first: {bad[0]}), so {self.path.name} was not written. "
            + (f"The run's newest finite checkpoint is {newest}." if newest else "The run has no finite checkpoint.")
        )
