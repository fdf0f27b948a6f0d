"""The LightningModule: loss, metrics, regularization terms, optimizer and schedule.

Everything arrives as plain dicts built from the config (`_target_` + arguments), and
`save_hyperparameters` stores exactly those dicts: a checkpoint then rebuilds its own
model with `Classifier.load_from_checkpoint(path)` and loads with `weights_only=True`
(OmegaConf objects or whole modules in a checkpoint would make that fail).

Classification and regression (`data.task`) share everything but four things, and only
those branch on `self.task`: the loss (`loss`), the metrics (`task_metrics`: accuracy, or
RMSE, MAE and R2), what the metrics are given (logits, or the output as the predicted value),
and `forward`, which for regression turns the network's standardized output into the
targets' units (mean and std of the training targets, `target_statistics`). The network so
always learns targets of mean 0 and std 1, whatever their units (prices in the 100 000s
would otherwise take ages to reach), and the loss is computed on that scale too (MSE / std^2,
MAE / std): the learning rate means the same on any data. RMSE, R2 and every prediction
(ensembles, eval.py) are in the targets' units.
One class rather than a `Regressor` sibling: checkpoints, eval.py, the ensembles and the
callbacks then load and read one kind of module, and the optimizer, schedule, L1 and
augmentation code exists once.
"""

import lightning as L
import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from torchmetrics import MeanAbsoluteError, MeanMetric, MeanSquaredError, MetricCollection, R2Score
from torchmetrics.classification import MulticlassAccuracy

from .logged_metrics import TASK_METRICS
from .validate import ConfigError

# The losses each task takes (`loss=` in train.yaml; null: the first). MAE (L1) is less
# swayed by outliers in the targets than MSE.
LOSSES = {"classification": ("cross_entropy",), "regression": ("mse", "mae")}


def task_metrics(task: str, num_outputs: int) -> dict:
    """What val/ and test/ report beside the loss (torchmetrics): the names TASK_METRICS declares for the task
    (accuracy, or RMSE, MAE and R2), which validation reads without importing torch."""
    build = {"acc": lambda: MulticlassAccuracy(num_outputs, average="micro"),
             "rmse": lambda: MeanSquaredError(squared=False), "mae": MeanAbsoluteError, "r2": R2Score}
    return {name: build[name]() for name in TASK_METRICS[task]}


class Classifier(L.LightningModule):
    def __init__(
        self,
        model: dict,
        optimizer: dict,
        data: dict,
        scheduler: dict | None = None,
        regularization: dict | None = None,
        augmentation: dict | None = None,
        loss: str | None = None,
        target_scale: dict | None = None,
    ):
        super().__init__()
        self.save_hyperparameters()
        regularization = regularization or {}
        # What every backbone is given by the data and the regularization group, never typed twice in YAML.
        self.model = instantiate(model, in_shape=tuple(data["in_shape"]), num_outputs=data["num_outputs"],
                                 dropout=regularization.get("dropout", 0.0))
        self.task = data.get("task", "classification")
        self.loss_name = loss or LOSSES[self.task][0]
        if self.loss_name not in LOSSES[self.task]:
            raise ConfigError(
                f"loss={loss!r} does not fit the {self.task} task of this data: use one of "
                f"{', '.join(LOSSES[self.task])} (or null for {LOSSES[self.task][0]})."
            )
        self.num_classes = data["num_outputs"] if self.task == "classification" else None
        if self.task == "regression":  # plain buffers rebuilt from the hyperparameters, not saved in state_dict
            scale = target_scale or {"mean": [0.0] * data["num_outputs"], "std": [1.0] * data["num_outputs"]}
            self.register_buffer("target_mean", torch.tensor(scale["mean"]), persistent=False)
            self.register_buffer("target_std", torch.tensor(scale["std"]), persistent=False)
        self.class_names = data.get("class_names")
        self.weight_decay = regularization.get("weight_decay", 0.0)
        self.l1 = regularization.get("l1", 0.0)
        self.label_smoothing = regularization.get("label_smoothing", 0.0)
        # An LR finder (Lightning's) writes its suggestion here: configure_optimizers
        # reads this attribute, not the YAML (Lightning issue 16787).
        self.lr = optimizer["lr"]
        self.augment = instantiate(augmentation) if augmentation and augmentation.get("_target_") else None
        self.recent_lrs = []  # (step, lr) pairs not yet written, see on_before_optimizer_step
        # Validation and test metrics accumulate over the epoch (and across DDP processes) in
        # torchmetrics objects, ~30 us a batch; self.log on every batch would cost ~0.6 ms.
        self.val_loss, self.test_loss = MeanMetric(), MeanMetric()
        self.val_metrics = MetricCollection(task_metrics(self.task, data["num_outputs"]), prefix="val/")
        self.test_metrics = self.val_metrics.clone(prefix="test/")

    def forward(self, x):
        if self.task == "regression":  # the network predicts standardized targets: back to their units
            return self.model(x) * self.target_std + self.target_mean
        return self.model(x)

    def on_after_batch_transfer(self, batch, dataloader_idx):
        """Augment whole batches on the device, in training only."""
        if self.augment is not None and self.trainer is not None and self.trainer.training:
            x, y = batch
            return self.augment(x), y
        return batch

    def loss(self, outputs, y, label_smoothing: float = 0.0):
        """The loss of a batch: cross-entropy on logits, or MSE / MAE of the prediction on standardized targets."""
        if self.task == "classification":
            return F.cross_entropy(outputs, y, label_smoothing=label_smoothing)
        prediction = outputs.reshape(y.shape)  # (B, 1) -> (B,) for a single target
        error = (prediction - y) / self.target_std.to(y.device)  # std: (k,), broadcast over the batch
        return error.square().mean() if self.loss_name == "mse" else error.abs().mean()

    def training_step(self, batch, batch_idx):
        x, y = batch
        logits = self(x)
        loss = self.loss(logits, y, label_smoothing=self.label_smoothing)
        if self.l1 > 0:
            penalty = self.l1 * sum(p.abs().sum() for n, p in self.model.named_parameters() if p.ndim > 1)
            self.log("train/l1_penalty", penalty)
            loss = loss + penalty
        # self.log costs ~0.5 ms a call, as much as a training step of the small model: log on
        # the steps the logger writes (trainer.log_every_n_steps), not on every step.
        if (self.global_step + 1) % self.trainer.log_every_n_steps == 0:
            self.log("train/loss", loss, prog_bar=True)
            if self.task == "classification":
                self.log("train/acc", (logits.argmax(1) == y).float().mean())
        return loss

    def on_before_optimizer_step(self, optimizer):
        """Log the learning rate of every optimizer step, written in bulk every log_every_n_steps."""
        self.recent_lrs.append((self.global_step, optimizer.param_groups[0]["lr"]))
        if len(self.recent_lrs) >= self.trainer.log_every_n_steps:
            self.flush_lrs()

    def on_train_epoch_end(self):
        self.flush_lrs()

    def on_train_end(self):
        self.flush_lrs()

    def flush_lrs(self):
        # Straight to the loggers: self.log keeps one value per logging interval.
        for logger in self.loggers if self.trainer.is_global_zero else []:
            for step, lr in self.recent_lrs:
                logger.log_metrics({"train/lr": lr}, step=step)
        self.recent_lrs.clear()

    def _evaluate(self, batch, loss_metric, metrics):
        x, y = batch
        logits = self(x)
        loss_metric.update(self.loss(logits, y), weight=len(y))
        metrics.update(logits if self.task == "classification" else logits.reshape(y.shape), y)
        return logits

    def _log_epoch(self, stage, loss_metric, metrics):
        # The metric objects, not their values: Lightning then computes them over all DDP processes
        # (torchmetrics syncs), resets them after the epoch, and does not warn about sync_dist.
        self.log_dict({f"{stage}/loss": loss_metric}, prog_bar=stage == "val")
        self.log_dict(metrics, prog_bar=stage == "val")

    def validation_step(self, batch, batch_idx):
        return self._evaluate(batch, self.val_loss, self.val_metrics)  # logits reach callbacks (mistakes)

    def on_validation_epoch_end(self):
        self._log_epoch("val", self.val_loss, self.val_metrics)

    def test_step(self, batch, batch_idx):
        return self._evaluate(batch, self.test_loss, self.test_metrics)

    def on_test_epoch_end(self):
        self._log_epoch("test", self.test_loss, self.test_metrics)

    def configure_optimizers(self):
        # Weight decay comes from the regularization group, never from the optimizer file. It
        # applies to weight matrices and kernels only: biases and normalization scales (ndim <= 1)
        # set offsets and scales, not the model's complexity, and decaying them only hurts.
        decayed = [p for p in self.parameters() if p.ndim > 1]
        kept = [p for p in self.parameters() if p.ndim <= 1]
        groups = [{"params": decayed, "weight_decay": self.weight_decay}, {"params": kept, "weight_decay": 0.0}]
        optimizer = instantiate(self.hparams.optimizer, groups, lr=self.lr, weight_decay=self.weight_decay)
        if not self.hparams.scheduler or not self.hparams.scheduler.get("_target_"):
            return optimizer
        scheduler = instantiate(self.hparams.scheduler, optimizer, total_steps=self.trainer.estimated_stepping_batches)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}


def check_model_fits_data(cfg, data) -> None:
    """A model or augmentation that cannot work on this data fails now, naming what fits.

    A CNN needs images (C, H, W); kornia's augmentations transform images only (on a batch
    of vectors they would silently reshape it into images).
    """
    shape, target = tuple(data.in_shape), str((cfg.get("model") or {}).get("_target_", ""))
    if target.endswith(".ResNet") and len(shape) != 3:
        raise ConfigError(
            f"The model {target} is a CNN: it needs images of shape (channels, height, width), and this "
            f"data's inputs have shape {shape}. Use model=mlp_small (or mlp_tiny, mlp_medium, mlp_large), "
            "which flattens any input. Nothing was trained."
        )
    depth = (cfg.get("model") or {}).get("depth")
    if target.endswith(".MLP") and not (isinstance(depth, int) and not isinstance(depth, bool) and depth >= 0):
        raise ConfigError(f"model.depth={depth!r} is not allowed: a whole number of blocks >= 0 (e.g. 2).")
    augmentation = cfg.get("augmentation") or {}
    if augmentation.get("_target_") and len(shape) != 3:
        raise ConfigError(
            f"Image augmentation (kornia) needs images of shape (channels, height, width), and this data's "
            f"inputs have shape {shape}: use augmentation=none. Nothing was trained."
        )


def target_statistics(data, max_examples: int = 20000) -> dict | None:
    """Mean and std of each training target (regression; None for classification), as plain lists."""
    if data.task != "regression":
        return None
    _, y = data.split_tensors("train", max_examples)
    y = y.reshape(len(y), -1).double()
    std = y.std(0) if len(y) > 1 else torch.ones(y.shape[1], dtype=torch.float64)
    std = torch.where(std > 0, std, torch.ones_like(std))  # a constant target: leave its scale alone
    return {"mean": y.mean(0).tolist(), "std": std.tolist()}


def build_module(cfg, data) -> Classifier:
    """The module for this config and datamodule: the ONE place a config becomes a module.

    run.py, the feature rooms, the benchmarks and the tests call it; a checkpoint rebuilds the same
    module from the plain dicts stored in it (checkpoints.load_classifier).
    """
    from omegaconf import OmegaConf

    check_model_fits_data(cfg, data)
    regularization = cfg.get("regularization") or {}
    if data.task != "classification" and regularization.get("label_smoothing"):
        print(f"note: regularization.label_smoothing={regularization.label_smoothing} applies to classes; "
              f"ignored on this {data.task} task.")

    def plain(node):  # config node -> plain dict: what checkpoints store (loadable with weights_only=True)
        return OmegaConf.to_container(node, resolve=True) if node is not None else None

    return Classifier(
        model=plain(cfg.model),
        optimizer=plain(cfg.optimizer),
        data=data.describe(),
        scheduler=plain(cfg.get("scheduler")),
        regularization=plain(cfg.get("regularization")),
        augmentation=plain(cfg.get("augmentation")),
        loss=cfg.get("loss"),
        target_scale=target_statistics(data),
    )
