"""A test-only callback: which training examples each epoch's batches actually held.

Each example of a batch is found in the training split by its content (inputs and label),
so what is recorded is what the training step received, whatever drew it. Written to a JSON
file {epoch: [position in the training split, ...]} at the end of training.
"""

import hashlib
import json

import lightning as L


def contents(x, y) -> list[bytes]:
    return [hashlib.sha256(x[i].numpy().tobytes() + y[i].numpy().tobytes()).digest() for i in range(len(y))]


class RecordDrawnExamples(L.Callback):
    def __init__(self, path: str):
        self.path, self.drawn, self.positions = path, {}, {}

    def on_train_start(self, trainer, pl_module):
        x, y = trainer.datamodule.split_tensors("train")
        self.positions = {content: i for i, content in enumerate(contents(x, y))}
        assert len(self.positions) == len(y), "duplicate examples: positions would be ambiguous"

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        x, y = batch
        drawn = self.drawn.setdefault(trainer.current_epoch, [])
        drawn += [self.positions[content] for content in contents(x.cpu(), y.cpu())]

    def on_train_end(self, trainer, pl_module):
        with open(self.path, "w") as file:
            json.dump(self.drawn, file)
