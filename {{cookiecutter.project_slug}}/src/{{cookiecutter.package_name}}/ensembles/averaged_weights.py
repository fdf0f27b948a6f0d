"""callbacks=ema: every number of the run (test, validation, fit diagnosis, ensembles) from the averaged weights.

Lightning's WeightAveraging (EMAWeightAveraging) validates with the averaged weights, so early stopping and
checkpoint selection judge them, and saves them as each checkpoint's `state_dict` (the raw weights beside
them, as `current_model_state`). Left in place after training, the callback would load the RAW weights for
`trainer.test(ckpt_path=...)` and swap the averaged ones in for `trainer.validate`: two models behind one
run's numbers (measured: test/acc 0.74 against 0.10 for the ensemble's `single` row after 2 epochs). Its job
is done when fit ends, so we remove it and load the best checkpoint's averaged weights ourselves.
"""

from lightning.pytorch.callbacks import WeightAveraging

from ..runs.checkpoints import read_checkpoint


def use_averaged_weights(trainer, module, best: str | None) -> str | None:
    """After fit: the `ckpt_path` for trainer.test; with weight averaging, the module already holds the weights."""
    averaging = [c for c in trainer.callbacks if isinstance(c, WeightAveraging)]
    if not averaging:
        return best
    trainer.callbacks = [c for c in trainer.callbacks if c not in averaging]
    if best is not None:  # without a checkpoint, the callback copied the averaged weights in at the end of fit
        module.load_state_dict(read_checkpoint(trainer.checkpoint_callback.best_model_path)["state_dict"])
    return None
