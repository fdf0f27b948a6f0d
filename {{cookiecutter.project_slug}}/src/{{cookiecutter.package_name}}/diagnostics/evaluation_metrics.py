"""Metrics beyond loss and accuracy at validation and test end, and the confusion matrix image.

`metrics` are torchmetrics classes from the config (F1 by default); the number of classes
is filled in from the data. Each is logged as `val/<name>` and `test/<name>` (a metric
with one value per class, like `average: none`, as `<stage>/<name>/<class>`). The confusion
matrix goes to TensorBoard images at test, at the final validation of the best checkpoint,
and every `images_every_n_epochs` epochs if you ask. It is drawn with Pillow (~10 ms;
torchmetrics' own matplotlib plot took ~0.2 s per image). Both need classes: on a regression
task this callback says so once and does nothing (the module logs val/rmse, val/r2, test/rmse,
test/r2).
"""

import lightning as L
import numpy as np
from torchmetrics.classification import MulticlassConfusionMatrix

from ..core.writer import tensorboard_writer


class EvaluationMetrics(L.Callback):
    def __init__(self, metrics: dict | None = None, confusion_matrix: bool = True, images_every_n_epochs: int = 0):
        self.make_metrics = metrics or {}  # name -> torchmetrics class with its arguments (a partial)
        self.confusion_matrix = confusion_matrix
        self.images_every_n_epochs = images_every_n_epochs
        self.metrics = {}
        self.skipped = False

    def setup(self, trainer, pl_module, stage):
        if pl_module.task != "classification":
            if not self.skipped and trainer.is_global_zero:
                print(f"note: evaluation_metrics (F1, confusion matrix) need classes: skipped on this {pl_module.task} task.")
            self.metrics, self.skipped = {}, True
            return
        classes = pl_module.num_classes
        self.metrics = {name: make(num_classes=classes) for name, make in self.make_metrics.items()}
        if self.confusion_matrix:
            self.metrics["confusion_matrix"] = MulticlassConfusionMatrix(num_classes=classes)
        for metric in self.metrics.values():
            metric.to(pl_module.device)

    def _reset(self, *args):
        for metric in self.metrics.values():
            metric.reset()

    def _update(self, trainer, outputs, batch):
        if trainer.sanity_checking or outputs is None:
            return
        for metric in self.metrics.values():
            metric.update(outputs.detach(), batch[1])

    def _log(self, trainer, pl_module, stage: str, image: bool):
        if trainer.sanity_checking:
            return
        for name, metric in self.metrics.items():
            if name == "confusion_matrix":
                continue
            # compute() gathers the counts of every DDP process (torchmetrics): the value is already the
            # whole split's, the same on every process. sync_dist=True keeps it (a mean of equal values) and
            # tells Lightning so; without it Lightning warns for every epoch-level value under DDP.
            value = metric.compute()
            if value.ndim == 0:
                pl_module.log(f"{stage}/{name}", value, sync_dist=True)
            else:
                for index, item in enumerate(value):
                    pl_module.log(f"{stage}/{name}/{index}", item, sync_dist=True)
        writer = tensorboard_writer(trainer)
        if image and "confusion_matrix" in self.metrics and writer is not None:
            counts = self.metrics["confusion_matrix"].compute().cpu()
            names = pl_module.class_names or [str(k) for k in range(len(counts))]
            picture = confusion_picture(counts, names, f"{stage} confusion matrix (rows: true, columns: predicted)")
            writer.add_image(f"{stage}/confusion_matrix", np.asarray(picture), trainer.global_step, dataformats="HWC")

    on_validation_epoch_start = _reset
    on_test_epoch_start = _reset

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0):
        self._update(trainer, outputs, batch)

    def on_test_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0):
        self._update(trainer, outputs, batch)

    def on_validation_epoch_end(self, trainer, pl_module):
        every = self.images_every_n_epochs
        image = trainer.state.fn != "fit" or bool(every and (trainer.current_epoch + 1) % every == 0)
        self._log(trainer, pl_module, "val", image)

    def on_test_epoch_end(self, trainer, pl_module):
        self._log(trainer, pl_module, "test", image=True)


def confusion_picture(counts, names: list, title: str, cell: int = 36):
    """An image of the confusion matrix: one cell per (true, predicted) pair with its count, shaded
    by the fraction of the true class's examples it holds (the diagonal is the per-class recall).
    Row labels show 12 characters of a class name, column labels 5."""
    from PIL import Image, ImageDraw

    classes = len(counts)
    left_margin = min(12, max(len(str(name)) for name in names)) * 6 + 10
    grid_top = 40
    canvas = Image.new("RGB", (max(left_margin + classes * cell, 6 * len(title)) + 8, grid_top + classes * cell + 8), "white")
    draw = ImageDraw.Draw(canvas)
    draw.text((4, 6), title, fill="black")
    fractions = counts.float() / counts.sum(1, keepdim=True).clamp(min=1)
    for column, name in enumerate(names):
        draw.text((left_margin + column * cell + 3, grid_top - 14), str(name)[:5], fill="black")
    for row in range(classes):
        draw.text((4, grid_top + row * cell + cell // 3), str(names[row])[:12], fill="black")
        for column in range(classes):
            shade = int(255 * (1 - float(fractions[row, column])))
            color = (shade, shade, 255) if row == column else (255, shade, shade)
            left, upper = left_margin + column * cell, grid_top + row * cell
            draw.rectangle((left, upper, left + cell - 1, upper + cell - 1), fill=color, outline="lightgray")
            count = int(counts[row, column])
            if count:
                draw.text((left + 4, upper + cell // 3), str(count), fill="black" if shade > 110 else "white")
    return canvas
