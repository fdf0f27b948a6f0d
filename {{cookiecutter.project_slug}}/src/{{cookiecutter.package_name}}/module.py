"""The LightningModule: loss, metrics, regularization terms, optimizer and schedule.

Everything arrives as plain dicts built from the config (`_target_` + arguments), and
`save_hyperparameters` stores exactly those dicts: a checkpoint then rebuilds its own
model with `Classifier.load_from_checkpoint(path)` and loads with `weights_only=True`
(OmegaConf objects or whole modules in a checkpoint would make that fail).
"""

import lightning as L
import torch.nn.functional as F
from hydra.utils import instantiate
from torchmetrics import MeanMetric
from torchmetrics.classification import MulticlassAccuracy


class Classifier(L.LightningModule):
    def __init__(
        self,
        model: dict,
        optimizer: dict,
        data: dict,
        scheduler: dict | None = None,
        regularization: dict | None = None,
        augmentation: dict | None = None,
    ):
        super().__init__()
        self.save_hyperparameters()
        regularization = regularization or {}
        # What every backbone is given by the data and the regularization group, never typed twice in YAML.
        self.model = instantiate(model, in_shape=tuple(data["in_shape"]), num_outputs=data["num_outputs"],
                                 dropout=regularization.get("dropout", 0.0))
        self.num_classes = data["num_outputs"]
        self.class_names = data.get("class_names")
        self.weight_decay = regularization.get("weight_decay", 0.0)
        self.l1 = regularization.get("l1", 0.0)
        self.label_smoothing = regularization.get("label_smoothing", 0.0)
        # The LR range test (check.py) writes its suggestion here: configure_optimizers
        # reads this attribute, not the YAML (Lightning issue 16787).
        self.lr = optimizer["lr"]
        self.augment = instantiate(augmentation) if augmentation and augmentation.get("_target_") else None
        self.recent_lrs = []  # (step, lr) pairs not yet written, see on_before_optimizer_step
        # Validation and test metrics accumulate over the epoch (and across DDP processes) in
        # torchmetrics objects, ~30 us a batch; self.log on every batch would cost ~0.6 ms.
        self.val_loss, self.test_loss = MeanMetric(), MeanMetric()
        self.val_acc = MulticlassAccuracy(self.num_classes, average="micro")
        self.test_acc = MulticlassAccuracy(self.num_classes, average="micro")

    def forward(self, x):
        return self.model(x)

    def on_after_batch_transfer(self, batch, dataloader_idx):
        """Augment whole batches on the device, in training only."""
        if self.augment is not None and self.trainer is not None and self.trainer.training:
            x, y = batch
            return self.augment(x), y
        return batch

    def training_step(self, batch, batch_idx):
        x, y = batch
        logits = self(x)
        loss = F.cross_entropy(logits, y, label_smoothing=self.label_smoothing)
        if self.l1 > 0:
            penalty = self.l1 * sum(p.abs().sum() for n, p in self.model.named_parameters() if p.ndim > 1)
            self.log("train/l1_penalty", penalty)
            loss = loss + penalty
        # self.log costs ~0.5 ms a call, as much as a training step of the small model: log on
        # the steps the logger writes (trainer.log_every_n_steps), not on every step.
        if (self.global_step + 1) % self.trainer.log_every_n_steps == 0:
            self.log("train/loss", loss, prog_bar=True)
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

    def _evaluate(self, batch, loss_metric, acc_metric):
        x, y = batch
        logits = self(x)
        loss_metric.update(F.cross_entropy(logits, y), weight=len(y))
        acc_metric.update(logits, y)
        return logits

    def _log_epoch(self, stage, loss_metric, acc_metric):
        # The metric objects, not their values: Lightning then computes them over all DDP processes
        # (torchmetrics syncs), resets them after the epoch, and does not warn about sync_dist.
        self.log_dict({f"{stage}/loss": loss_metric, f"{stage}/acc": acc_metric}, prog_bar=stage == "val")

    def validation_step(self, batch, batch_idx):
        return self._evaluate(batch, self.val_loss, self.val_acc)  # logits reach callbacks (mistakes)

    def on_validation_epoch_end(self):
        self._log_epoch("val", self.val_loss, self.val_acc)

    def test_step(self, batch, batch_idx):
        return self._evaluate(batch, self.test_loss, self.test_acc)

    def on_test_epoch_end(self):
        self._log_epoch("test", self.test_loss, self.test_acc)

    def configure_optimizers(self):
        # Weight decay comes from the regularization group, never from the optimizer file.
        optimizer = instantiate(self.hparams.optimizer, self.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        if not self.hparams.scheduler or not self.hparams.scheduler.get("_target_"):
            return optimizer
        scheduler = instantiate(self.hparams.scheduler, optimizer, total_steps=self.trainer.estimated_stepping_batches)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}


def build_module(cfg, data) -> Classifier:
    """The module for this config and datamodule: the ONE place a config becomes a module.

    train.py, check.py, the benchmarks and the tests call it; a checkpoint rebuilds the same
    module from the plain dicts stored in it (checkpoints.load_classifier).
    """
    from omegaconf import OmegaConf

    def plain(node):  # config node -> plain dict: what checkpoints store (loadable with weights_only=True)
        return OmegaConf.to_container(node, resolve=True) if node is not None else None

    return Classifier(
        model=plain(cfg.model),
        optimizer=plain(cfg.optimizer),
        data=data.describe(),
        scheduler=plain(cfg.get("scheduler")),
        regularization=plain(cfg.get("regularization")),
        augmentation=plain(cfg.get("augmentation")),
    )
