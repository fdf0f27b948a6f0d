"""callbacks=ema: every number of the run (test, validation, fit diagnosis, ensembles) from the averaged weights.

Lightning's WeightAveraging (EMAWeightAveraging) validates with the averaged weights, so early stopping and
checkpoint selection judge them, and saves them as each checkpoint's `state_dict` (the raw weights beside
them, as `current_model_state`). Left as it is after training, it would load the RAW weights for
`trainer.test(ckpt_path="best")` and swap the averaged ones in for `trainer.validate`: two models behind one
run's numbers (measured: test/acc 0.74 against 0.10 for the ensemble's `single` row after 2 epochs). Its job
is done when fit ends: from then on this subclass does nothing, and the best checkpoint's `state_dict` (the
averaged weights) is what is tested and validated.
"""

from lightning.pytorch.callbacks import EMAWeightAveraging


class AveragedWeights(EMAWeightAveraging):
    """EMAWeightAveraging while fitting; after fit, the averaged weights are the model (nothing swapped or reloaded)."""

    fitted = False

    def on_fit_end(self, trainer, pl_module):
        self.fitted = True  # on_train_end has copied the averaged weights into the model (runs without checkpoints)

    def on_load_checkpoint(self, trainer, pl_module, checkpoint):
        if not self.fitted:  # resume=: restore the average and the raw weights
            super().on_load_checkpoint(trainer, pl_module, checkpoint)

    def on_validation_epoch_start(self, trainer, pl_module):
        if not self.fitted:
            super().on_validation_epoch_start(trainer, pl_module)

    def on_validation_epoch_end(self, trainer, pl_module):
        if not self.fitted:
            super().on_validation_epoch_end(trainer, pl_module)
