"""Lightning's rich progress bar, naming the step budget when there is no epoch budget.

With `trainer.max_epochs=-1` (the overfitting check trains for `max_steps`) Lightning's bar reads
`Epoch 24/-2`; this one reads `Epoch 24 · step 240/300`. Everything else is Lightning's.
"""

from lightning.pytorch.callbacks import RichProgressBar


class ProgressBar(RichProgressBar):
    def _get_train_description(self, current_epoch: int) -> str:
        trainer = self.trainer
        if trainer.max_epochs is not None and trainer.max_epochs >= 0:
            return super()._get_train_description(current_epoch)
        description = f"Epoch {current_epoch}"
        if trainer.max_steps is not None and trainer.max_steps > 0:
            description += f" · step {trainer.global_step}/{trainer.max_steps}"
        return f"{description:{len(self.validation_description)}}"  # as wide as "Validation": no flicker
