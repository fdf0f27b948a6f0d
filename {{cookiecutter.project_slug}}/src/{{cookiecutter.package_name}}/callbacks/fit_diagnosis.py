"""Underfitting, overfitting, or done? The methodology's decision, with the numbers behind it.

At the final validation of the best checkpoint (the `trainer.validate` at the end of run.py)
this measures the training set in eval mode (no augmentation, no dropout), compares it
with validation (and the test figure, if the test ran) and decides:
- training accuracy below `good_train_acc` -> underfitting: a bigger model, tune the learning
  rate, train longer, check the data and labels;
- validation accuracy more than `max_gap` below training -> overfitting: more data (see the
  learning-curve experiment), regularization, augmentation, a smaller model;
- otherwise -> a good fit.
It prints the verdict, logs it as TensorBoard text (`fit/diagnosis`), and logs the numbers as
`fit/train_acc`, `fit/train_loss`, `fit/gap`, `fit/underfit`, `fit/overfit` and
`fit/train_examples` (so they are in metrics.json too).
"""

import lightning as L
import torch
import torch.nn.functional as F

from .writer import tensorboard_writer


class FitDiagnosis(L.Callback):
    def __init__(self, good_train_acc: float = 0.95, max_gap: float = 0.03):
        self.good_train_acc = good_train_acc
        self.max_gap = max_gap
        self.test_acc = None
        self.verdict = None

    def on_test_end(self, trainer, pl_module):
        value = trainer.callback_metrics.get("test/acc")
        self.test_acc = float(value) if value is not None else None

    def on_validation_epoch_end(self, trainer, pl_module):
        if trainer.state.fn != "validate" or trainer.sanity_checking:
            return
        train_loss, train_acc, count = training_set_performance(trainer, pl_module)
        # Callbacks run before the module's own on_validation_epoch_end, which logs val/acc
        # and resets the metric: read the accumulated metric itself.
        val_acc = float(pl_module.val_acc.compute())
        gap = train_acc - val_acc
        underfit, overfit = train_acc < self.good_train_acc, gap > self.max_gap
        numbers = f"train acc {train_acc:.4f} (loss {train_loss:.4f}, {count} examples), val acc {val_acc:.4f}"
        numbers += f", test acc {self.test_acc:.4f}" if self.test_acc is not None else ""
        numbers += f", gap train-val {gap:+.4f}"
        if underfit:
            self.verdict = (
                f"fit diagnosis: UNDERFITTING: {numbers}. Training accuracy is below {self.good_train_acc:g}: "
                "try a bigger model, tune the learning rate (python check.py), train longer, check the data and labels."
            )
        elif overfit:
            self.verdict = (
                f"fit diagnosis: OVERFITTING: {numbers}. Validation is more than {self.max_gap:g} below training: "
                "try more data (experiment=learning_curve shows whether it helps), regularization, "
                "augmentation, or a smaller model."
            )
        else:
            self.verdict = f"fit diagnosis: GOOD FIT: {numbers}. Training is good and validation close to it."
        for name, value in [("train_acc", train_acc), ("train_loss", train_loss), ("gap", gap),
                            ("underfit", float(underfit)), ("overfit", float(overfit)), ("train_examples", count)]:
            pl_module.log(f"fit/{name}", float(value), sync_dist=True)  # the same on every process (whole split)
        if trainer.is_global_zero:
            print(self.verdict)
            writer = tensorboard_writer(trainer)
            if writer is not None:
                writer.add_text("fit/diagnosis", self.verdict, trainer.global_step)


@torch.no_grad()
def training_set_performance(trainer, pl_module) -> tuple[float, float, int]:
    """Mean loss and accuracy of the model on the whole training set, in eval mode.

    The whole split on every process (not a DDP shard): every rank reaches the same verdict.
    """
    total_loss, right, count = 0.0, 0, 0
    train_x, train_y = trainer.datamodule.split_tensors("train")
    for start in range(0, len(train_y), 512):
        x, y = train_x[start : start + 512].to(pl_module.device), train_y[start : start + 512].to(pl_module.device)
        logits = pl_module(x)
        total_loss += float(F.cross_entropy(logits, y, reduction="sum"))
        right += int((logits.argmax(1) == y).sum())
        count += len(y)
    return total_loss / max(count, 1), right / max(count, 1), count
