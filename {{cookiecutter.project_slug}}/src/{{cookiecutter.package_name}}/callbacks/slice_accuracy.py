"""Test accuracy per slice of the test set: where does the model fail?

By default a slice is a class (`test/slice/class_<k>/acc`). Declare your own slices with a
function `slice_of(index, x, y) -> name` (index: the example's position in the test set;
x, y: its input and label) in the config, e.g. the `by_ink` example below:

    python train.py 'callbacks.slice_accuracy.slice_of={_target_:{{cookiecutter.package_name}}.callbacks.slice_accuracy.by_ink,_partial_:true}'

Each slice gets `test/slice/<name>/acc` (in TensorBoard and metrics.json). Under DDP each
process counts the test batches it sees and the counts are added up over the processes
before the accuracies are computed, so the figures are those of the whole test split (the
`index` a slice function gets is the example's position among this process's examples).
Accuracy needs classes: on a regression task this callback says so once and does nothing.
"""

from collections import Counter

import lightning as L
import torch


class SliceAccuracy(L.Callback):
    def __init__(self, slice_of=None):
        self.slice_of = slice_of  # None: one slice per class
        self.right, self.total, self.seen = Counter(), Counter(), 0
        self.skipped = False

    def on_test_epoch_start(self, trainer, pl_module):
        self.right, self.total, self.seen = Counter(), Counter(), 0
        if pl_module.task != "classification" and not self.skipped:
            if trainer.is_global_zero:
                print(f"note: slice_accuracy (accuracy per slice) needs classes: skipped on this {pl_module.task} task.")
            self.skipped = True

    def on_test_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0):
        if pl_module.task != "classification":
            return
        x, y = batch
        correct = (outputs.argmax(1) == y).tolist()
        labels = y.tolist()
        if self.slice_of is None:
            names = [f"class_{label}" for label in labels]
        else:
            names = [self.slice_of(self.seen + i, x[i], label) for i, label in enumerate(labels)]
        self.seen += len(labels)
        for name, ok in zip(names, correct, strict=True):
            self.right[name] += ok
            self.total[name] += 1

    def on_test_epoch_end(self, trainer, pl_module):
        right, total = whole_split_counts(trainer, self.right, self.total)
        for name in sorted(total):  # the same names and values on every process: sync_dist keeps them
            pl_module.log(f"test/slice/{name}/acc", right[name] / total[name], sync_dist=True)


def whole_split_counts(trainer, right: Counter, total: Counter) -> tuple[Counter, Counter]:
    """The counts of every DDP process added up (each saw only its share of the batches)."""
    if trainer.world_size == 1:
        return right, total
    counts = [None] * trainer.world_size
    torch.distributed.all_gather_object(counts, (right, total))  # slice names are any strings: gather objects
    return sum((r for r, _ in counts), Counter()), sum((t for _, t in counts), Counter())


def by_ink(index, x, y) -> str:
    """An example slice: digits drawn with little ink (mean pixel below 0.28, about the lowest
    quarter of the digits) against the others."""
    return "faint" if float(x.mean()) < 0.28 else "bold"
