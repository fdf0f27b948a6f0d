"""Look at the data the model gets wrong: the worst mistakes, and a random sample, as image grids.

`val/worst_mistakes`: the `k` misclassified validation examples with the highest loss, each
titled with its true label, the prediction and the model's confidence in it. Label noise,
ambiguous examples and systematic confusions show up here first. `val/random_predictions`:
`k` random validation examples with the same titles (wrong ones in red), a quick visual check.
Made at the final validation of the best checkpoint (run.py), and every `every_n_epochs`
epochs during training if you ask (each grid costs about 0.3 s). Only the `k` candidates
of each grid are kept while the validation set streams by. The grids are titled by class: on
a regression task this callback says so once and does nothing.
"""

import math

import lightning as L
import torch
import torch.nn.functional as F

from .writer import pyplot, tensorboard_writer


class WorstMistakes(L.Callback):
    def __init__(self, k: int = 16, every_n_epochs: int = 0, seed: int = 0):
        self.k = k
        self.every_n_epochs = every_n_epochs
        self.seed = seed
        self.worst, self.random, self.active = None, None, False
        self.skipped = False

    def on_validation_epoch_start(self, trainer, pl_module):
        every = self.every_n_epochs
        self.active = not trainer.sanity_checking and (
            trainer.state.fn != "fit" or bool(every and (trainer.current_epoch + 1) % every == 0)
        )
        if self.active and pl_module.task != "classification":
            if not self.skipped and trainer.is_global_zero:
                print(f"note: worst_mistakes (examples titled by true and predicted class) needs classes: skipped on this "
                      f"{pl_module.task} task.")
            self.active, self.skipped = False, True
        self.worst, self.random = None, None
        self.generator = torch.Generator().manual_seed(self.seed)  # the same random examples each time

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0):
        if not self.active or outputs is None:
            return
        x, y = batch
        logits = outputs.detach().float()
        loss = F.cross_entropy(logits, y, reduction="none")
        wrong = logits.argmax(1) != y
        examples = {"x": x.detach().cpu(), "y": y.cpu(), "probs": logits.softmax(1).cpu()}
        self.worst = keep_top(self.worst, loss.masked_fill(~wrong, -math.inf).cpu(), examples, self.k)
        self.random = keep_top(self.random, torch.rand(len(y), generator=self.generator), examples, self.k)

    def on_validation_epoch_end(self, trainer, pl_module):
        if not self.active:
            return
        writer = tensorboard_writer(trainer)
        worst, random, self.worst, self.random = self.worst, self.random, None, None
        if writer is None or random is None:
            return
        step = trainer.global_step
        mistakes = torch.isfinite(worst["key"])
        if mistakes.any():
            worst = {name: value[mistakes] for name, value in worst.items()}
            writer.add_figure("val/worst_mistakes", grid(worst, "highest-loss mistakes"), step)
        else:
            writer.add_text("val/worst_mistakes", "no misclassified validation examples", step)
        writer.add_figure("val/random_predictions", grid(random, "random validation examples"), step)


def keep_top(store: dict | None, key: torch.Tensor, examples: dict, k: int) -> dict:
    """The k examples with the largest key among those kept so far and the new batch."""
    batch = {"key": key, **examples}
    if store is not None:
        batch = {name: torch.cat([store[name], value]) for name, value in batch.items()}
    order = batch["key"].argsort(descending=True)[:k]
    return {name: value[order] for name, value in batch.items()}


def grid(examples: dict, title: str):
    """A matplotlib figure: each image titled 'true / pred (confidence)', wrong ones in red."""
    plt = pyplot()
    count = len(examples["y"])
    columns = math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(1.7 * columns, 1.9 * rows + 0.4), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, label, probs in zip(axes.flat, examples["x"], examples["y"], examples["probs"], strict=False):
        confidence, prediction = probs.max(0)
        if image.shape[0] == 3:
            ax.imshow(image.permute(1, 2, 0).clamp(0, 1).numpy())
        else:
            ax.imshow(image[0].numpy(), cmap="gray")
        color = "black" if int(prediction) == int(label) else "red"
        ax.set_title(f"true {int(label)} / pred {int(prediction)}\n({float(confidence):.2f})", fontsize=8, color=color)
    figure.suptitle(title)
    figure.tight_layout()
    return figure
