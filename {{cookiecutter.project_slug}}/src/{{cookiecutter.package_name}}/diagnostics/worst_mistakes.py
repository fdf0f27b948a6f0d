"""Look at the data the model gets wrong: the worst mistakes, and a random sample, as image grids.

`val/worst_mistakes`: the `k` misclassified validation examples with the highest loss, each
titled with its true label, the prediction and the model's confidence in it (class names
from the data). Images (C, H, W) become an image grid; any other input (a table row, a
vector, a sequence) a text table of its first values, named by the data's feature names
when it has them (`preprocessing["feature_names"]`, e.g. a CSV's columns). Label noise,
ambiguous examples and systematic confusions show up here first. `val/random_predictions`:
`k` random validation examples with the same titles (wrong ones in red), a quick visual check.
Made at the final validation of the best checkpoint (run.py), and every `every_n_epochs`
epochs during training if you ask (each grid costs ~10 ms: drawn with Pillow; a matplotlib
figure of 16 subplots took ~0.4 s). Only the `k` candidates
of each grid are kept while the validation set streams by. The grids are titled by class: on
a regression task this callback says so once and does nothing.
"""

import math

import lightning as L
import torch
import torch.nn.functional as F

from ..core.writer import tensorboard_writer


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
        names = pl_module.class_names or [str(k) for k in range(pl_module.num_classes)]
        features = feature_names(pl_module)
        show = grid if worst["x"].ndim == 4 else table  # images: a picture; anything else: a table of values
        mistakes = torch.isfinite(worst["key"])
        if mistakes.any():
            worst = {name: value[mistakes] for name, value in worst.items()}
            add(writer, "val/worst_mistakes", show(worst, "highest-loss mistakes", names, features), step)
        else:
            writer.add_text("val/worst_mistakes", "no misclassified validation examples", step)
        add(writer, "val/random_predictions", show(random, "random validation examples", names, features), step)


def add(writer, tag: str, shown, step: int) -> None:
    """A Pillow image as an image, a markdown table as text."""
    if isinstance(shown, str):
        writer.add_text(tag, shown, step)
    else:
        import numpy as np

        writer.add_image(tag, np.asarray(shown), step, dataformats="HWC")


def feature_names(pl_module) -> list | None:
    return ((pl_module.hparams.get("data") or {}).get("preprocessing") or {}).get("feature_names")


def keep_top(store: dict | None, key: torch.Tensor, examples: dict, k: int) -> dict:
    """The k examples with the largest key among those kept so far and the new batch."""
    batch = {"key": key, **examples}
    if store is not None:
        batch = {name: torch.cat([store[name], value]) for name, value in batch.items()}
    order = batch["key"].argsort(descending=True)[:k]
    return {name: value[order] for name, value in batch.items()}


def grid(examples: dict, title: str, names: list, _features=None, cell: int = 112, caption: int = 28):
    """An image: each example enlarged to `cell` pixels under its caption 'true / pred (confidence)',
    wrong ones in red. Grayscale images are stretched to their own min..max, colour ones clipped to 0..1."""
    from PIL import Image, ImageDraw

    count = len(examples["y"])
    columns = math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    canvas = Image.new("RGB", (4 + columns * (cell + 4), 24 + rows * (cell + caption + 4)), "white")
    draw = ImageDraw.Draw(canvas)
    draw.text((4, 6), title, fill="black")
    for i, (image, label, probs) in enumerate(zip(examples["x"], examples["y"], examples["probs"], strict=True)):
        confidence, prediction = probs.max(0)
        if image.shape[0] == 3:
            pixels = image.permute(1, 2, 0).clamp(0, 1)
        else:
            pixels = image[0] - image[0].min()
            pixels = pixels / pixels.max() if pixels.max() > 0 else pixels
        tile = Image.fromarray((pixels * 255).round().byte().numpy()).convert("RGB").resize((cell, cell), Image.NEAREST)
        left, top = 4 + (i % columns) * (cell + 4), 24 + (i // columns) * (cell + caption + 4)
        color = "black" if int(prediction) == int(label) else "red"
        draw.text((left, top), f"true {names[int(label)]} / pred {names[int(prediction)]}", fill=color)
        draw.text((left, top + 13), f"({float(confidence):.2f})", fill=color)
        canvas.paste(tile, (left, top + caption))
    return canvas


def table(examples: dict, title: str, names: list, features: list | None, max_values: int = 12) -> str:
    """A markdown table (TensorBoard text): true, predicted, confidence, then the first input values."""
    flat = examples["x"].flatten(1)
    shown = min(flat.shape[1], max_values)
    headers = (features or [f"x{i}" for i in range(flat.shape[1])])[:shown]
    lines = [f"**{title}** (first {shown} of {flat.shape[1]} input values)", "",
             "| true | predicted | confidence | " + " | ".join(headers) + " |",
             "|---" * (3 + shown) + "|"]
    for values, label, probs in zip(flat, examples["y"], examples["probs"], strict=True):
        confidence, prediction = probs.max(0)
        cells = " | ".join(f"{float(v):.3g}" for v in values[:shown])
        lines.append(f"| {names[int(label)]} | {names[int(prediction)]} | {float(confidence):.2f} | {cells} |")
    return "\n".join(lines)
