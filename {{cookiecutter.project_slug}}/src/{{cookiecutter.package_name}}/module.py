"""The LightningModule: loss, metrics, regularization terms, optimizer and schedule.

Everything arrives as plain dicts built from the config (`_target_` + arguments), and
`save_hyperparameters` stores exactly those dicts: a checkpoint then rebuilds its own
model with `Classifier.load_from_checkpoint(path)` and loads with `weights_only=True`
(OmegaConf objects or whole modules in a checkpoint would make that fail).
"""

import lightning as L
import torch.nn.functional as F
from hydra.utils import instantiate


class Classifier(L.LightningModule):
    def __init__(
        self,
        model: dict,
        optimizer: dict,
        in_shape: tuple,
        num_classes: int,
        scheduler: dict | None = None,
        regularization: dict | None = None,
        augmentation: dict | None = None,
    ):
        super().__init__()
        self.save_hyperparameters()
        self.model = instantiate(model, in_shape=tuple(in_shape), num_classes=num_classes)
        self.num_classes = num_classes
        regularization = regularization or {}
        self.weight_decay = regularization.get("weight_decay", 0.0)
        self.l1 = regularization.get("l1", 0.0)
        self.label_smoothing = regularization.get("label_smoothing", 0.0)
        # The LR range test (check.py) writes its suggestion here: configure_optimizers
        # reads this attribute, not the YAML (Lightning issue 16787).
        self.lr = optimizer["lr"]
        self.augment = instantiate(augmentation) if augmentation and augmentation.get("_target_") else None

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
        self.log("train/loss", loss, prog_bar=True)
        self.log("train/acc", (logits.argmax(1) == y).float().mean())
        self.log("train/lr", self.optimizers().param_groups[0]["lr"])
        return loss

    def _evaluate(self, batch, stage):
        x, y = batch
        logits = self(x)
        loss = F.cross_entropy(logits, y)
        acc = (logits.argmax(1) == y).float().mean()
        # Batches differ in size at the end: weight each batch's mean by its size.
        self.log(f"{stage}/loss", loss, batch_size=len(y), prog_bar=stage == "val", sync_dist=True)
        self.log(f"{stage}/acc", acc, batch_size=len(y), prog_bar=stage == "val", sync_dist=True)
        return logits

    def validation_step(self, batch, batch_idx):
        return self._evaluate(batch, "val")  # the logits reach callbacks (confusion matrix, mistakes)

    def test_step(self, batch, batch_idx):
        return self._evaluate(batch, "test")

    def configure_optimizers(self):
        # Weight decay comes from the regularization group, never from the optimizer file.
        optimizer = instantiate(self.hparams.optimizer, self.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        if not self.hparams.scheduler or not self.hparams.scheduler.get("_target_"):
            return optimizer
        scheduler = instantiate(self.hparams.scheduler, optimizer, total_steps=self.trainer.estimated_stepping_batches)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
