"""Underfitting, overfitting, or done? The methodology's decision, with the numbers behind it.

At the final validation of the best checkpoint (the `trainer.validate` at the end of run.py)
this measures the training and validation sets in eval mode (no augmentation, no dropout),
compares them (and the test figure, if the test ran) and decides. For classification:
- training accuracy below `good_train_acc` -> underfitting: a bigger model, tune the learning
  rate, train longer, check the data and labels;
- validation accuracy more than `max_gap` below training -> overfitting: more data (see the
  learning-curve experiment), regularization, augmentation, a smaller model;
- otherwise -> a good fit.
For regression the same rules read R2 (1: perfect, 0: no better than predicting the mean)
with `good_train_r2` and `max_r2_gap`.
It prints the verdict, logs it as TensorBoard text (`fit/diagnosis`), and logs the numbers as
`fit/train_acc` (regression: `fit/train_r2`, `fit/train_rmse`, `fit/train_mae`), `fit/train_loss`, `fit/gap`,
`fit/underfit`, `fit/overfit` and `fit/train_examples` (so they are in metrics.json too).
"""

import lightning as L
import torch
from torchmetrics.functional import mean_absolute_error, mean_squared_error, r2_score

from ..core.logged_metrics import CALLBACK_LOGS, task_metric
from ..core.writer import tensorboard_writer
from ..runs.printed_command import learning_rate_advice


class FitDiagnosis(L.Callback):
    logs = CALLBACK_LOGS["FitDiagnosis"]  # what validation lets a run optimize ("*": acc, or rmse, mae and r2)

    def __init__(self, good_train_acc: float = 0.95, max_gap: float = 0.03, good_train_r2: float = 0.9,
                 max_r2_gap: float = 0.05):
        self.good_train_acc = good_train_acc
        self.max_gap = max_gap
        self.good_train_r2 = good_train_r2
        self.max_r2_gap = max_r2_gap
        self.test_score = None
        self.verdict = None

    def on_test_end(self, trainer, pl_module):
        value = trainer.callback_metrics.get(f"test/{headline(pl_module)}")
        self.test_score = float(value) if value is not None else None

    def on_validation_epoch_end(self, trainer, pl_module):
        if trainer.state.fn != "validate" or trainer.sanity_checking:
            return
        score = headline(pl_module)  # "acc" or "r2": higher is better for both
        train = performance(pl_module, *trainer.datamodule.split_tensors("train"))
        val = performance(pl_module, *trainer.datamodule.split_tensors("val"))
        good, max_gap = (self.good_train_acc, self.max_gap) if score == "acc" else (self.good_train_r2, self.max_r2_gap)
        name = "accuracy" if score == "acc" else "R2"
        gap = train[score] - val[score]
        underfit, overfit = train[score] < good, gap > max_gap
        numbers = f"train {score} {train[score]:.4f} (loss {train['loss']:.4f}, {train['count']} examples)"
        numbers += f", val {score} {val[score]:.4f}"
        numbers += f", test {score} {self.test_score:.4f}" if self.test_score is not None else ""
        numbers += f", gap train-val {gap:+.4f}"
        if underfit:
            self.verdict = (
                f"fit diagnosis: UNDERFITTING: {numbers}. Training {name} is below {good:g}: try a bigger "
                f"model, tune the learning rate{learning_rate_advice()}, train longer, check the data and "
                + ("labels." if score == "acc" else "targets.")
            )
        elif overfit:
            self.verdict = (
                f"fit diagnosis: OVERFITTING: {numbers}. Validation is more than {max_gap:g} below training: "
                "try more data (experiment=learning_curve shows whether it helps), regularization, "
                + ("augmentation, or a smaller model." if score == "acc" else "or a smaller model.")
            )
        else:
            self.verdict = f"fit diagnosis: GOOD FIT: {numbers}. Training is good and validation close to it."
        logged = {f"train_{key}": train[key] for key in train if key != "count"}
        logged |= {"gap": gap, "underfit": float(underfit), "overfit": float(overfit), "train_examples": train["count"]}
        for key, value in logged.items():
            pl_module.log(f"fit/{key}", float(value), sync_dist=True)  # the same on every process (whole split)
        if trainer.is_global_zero:
            print(self.verdict)
            writer = tensorboard_writer(trainer)
            if writer is not None:
                writer.add_text("fit/diagnosis", self.verdict, trainer.global_step)


def headline(pl_module) -> str:
    """The metric the verdict reads: accuracy for classes, R2 for regression."""
    return task_metric("acc", pl_module.task)


@torch.no_grad()
def performance(pl_module, x: torch.Tensor, y: torch.Tensor) -> dict:
    """Loss and accuracy (or RMSE and R2) of the model on a whole split, in eval mode.

    The whole split on every process (not a DDP shard): every rank reaches the same verdict.
    """
    outputs = torch.cat([pl_module(x[start : start + 512].to(pl_module.device)).float().cpu()
                         for start in range(0, len(y), 512)])
    result = {"loss": float(pl_module.loss(outputs, y)), "count": len(y)}
    if pl_module.task == "classification":
        result["acc"] = float((outputs.argmax(1) == y).float().mean())
    else:
        prediction = outputs.reshape(y.shape)
        result |= {"rmse": float(mean_squared_error(prediction, y, squared=False)),
                   "mae": float(mean_absolute_error(prediction, y)), "r2": float(r2_score(prediction, y))}
    return result
