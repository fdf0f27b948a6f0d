"""Why did training stop? One line for the run's summary, and a failure for NaN/inf.

Lightning's EarlyStopping records the epoch and the reason; with `check_finite=True` it
stops on a NaN/inf validation metric but the process would still exit 0, so a sweep and
CI would count the run as a success. We raise RunFailed instead (exit code 1).
"""

from lightning.pytorch.callbacks import EarlyStopping
from lightning.pytorch.callbacks.early_stopping import EarlyStoppingReason

from ..runs.failures import RunFailed


def why_training_stopped(trainer) -> str:
    early = next((c for c in trainer.callbacks if isinstance(c, EarlyStopping)), None)
    if early is not None and early.stopping_reason == EarlyStoppingReason.NON_FINITE_METRIC:
        raise RunFailed(f"training stopped at epoch {early.stopped_epoch}: {early.stopping_reason_message}")
    if early is not None and early.stopping_reason != EarlyStoppingReason.NOT_STOPPED:
        return f"early stopping at epoch {early.stopped_epoch}: {early.stopping_reason_message}"
    if trainer.interrupted:
        return f"training interrupted at epoch {trainer.current_epoch}"
    if trainer.should_stop:
        return f"training stopped by a callback at epoch {trainer.current_epoch}, step {trainer.global_step}"
    if trainer.max_steps != -1 and trainer.global_step >= trainer.max_steps:
        return f"training stopped at step {trainer.global_step}: trainer.max_steps reached"
    return f"training ran all {trainer.current_epoch} epochs (trainer.max_epochs={trainer.max_epochs})"
