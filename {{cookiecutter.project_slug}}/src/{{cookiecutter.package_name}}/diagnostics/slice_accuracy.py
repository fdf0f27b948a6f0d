"""Test accuracy per slice of the test set: where does the model fail?

By default a slice is a class (`test/slice/class_<k>/acc`). Declare your own slices with a
function `slice_of(index, x, y) -> name` (index: the example's position in the test set;
x, y: its input and label) in the config, e.g. the `by_ink` example below:

    python train.py 'callbacks.slice_accuracy.slice_of={_target_:{{cookiecutter.package_name}}.diagnostics.slice_accuracy.by_ink,_partial_:true}'

On a table (data=csv) slice by the values of one of its columns, read as written in the file
(also a column that is not a feature, e.g. one in data.drop_columns):

    python train.py data=csv data.path=table.csv data.target=species callbacks.slice_accuracy.column=color

gives `test/slice/color=red/acc`, `test/slice/color=blue/acc`, ... The test example at position
p of the test split is row `data.indices["test"][p]` of `data.raw_columns[column]` (core/data.py's
contract). Under DDP p is the example's position in the whole test split: the in-memory test
batches (`SlicedBatches`) are cut at fixed starts, and each process knows the starts of its own
batches. A DataLoader under DDP (`in_memory: false`) has no such starts: column slices refuse it.

Each slice gets `test/slice/<name>/acc` (in TensorBoard and metrics.json). Under DDP each
process counts the test batches it sees and the counts are added up over the processes
before the accuracies are computed, so the figures are those of the whole test split (the
`index` a slice function gets is the example's position among this process's examples).
Accuracy needs classes: on a regression task this callback says so once and does nothing.
"""

from collections import Counter

import lightning as L
import torch

from ..core.data import SlicedBatches
from ..core.logged_metrics import CALLBACK_LOGS
from ..core.validate import ConfigError


class SliceAccuracy(L.Callback):
    logs = CALLBACK_LOGS["SliceAccuracy"]  # test/slice/<name>/acc, read by validation

    def __init__(self, slice_of=None, column: str | None = None):
        if slice_of is not None and column is not None:
            raise ConfigError("callbacks.slice_accuracy: set slice_of or column, not both.")
        self.slice_of = slice_of  # None: one slice per class (or per value of `column`)
        self.column = column
        self.right, self.total, self.seen = Counter(), Counter(), 0
        self.skipped = False

    def setup(self, trainer, pl_module, stage):
        """A column the data does not have fails here, before the first training step."""
        if self.column is None:
            return
        data = trainer.datamodule
        columns = getattr(data, "raw_columns", None)
        if columns is None:
            raise ConfigError(
                f"callbacks.slice_accuracy.column={self.column}: this data ({type(data).__name__}) has no named "
                "columns; slices by column need a table (data=csv). Use callbacks.slice_accuracy.column=null."
            )
        if self.column not in columns:
            raise ConfigError(
                f"callbacks.slice_accuracy.column={self.column}: the table has no such column. "
                f"Its columns are: {', '.join(columns)}."
            )

    def on_test_epoch_start(self, trainer, pl_module):
        self.right, self.total, self.seen = Counter(), Counter(), 0
        if self.column is not None:  # the column's raw text for each test position (core/data.py's contract)
            data = trainer.datamodule
            self.column_values = data.raw_columns[self.column][data.indices["test"].numpy()]
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
        if self.column is not None:
            start = test_batch_start(trainer, batch_idx, self.seen)
            names = [f"{self.column}={value}" for value in self.column_values[start : start + len(labels)]]
        elif self.slice_of is None:
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


def test_batch_start(trainer, batch_idx: int, seen: int) -> int:
    """Position in the whole test split of this test batch's first example."""
    loader = trainer.test_dataloaders
    if isinstance(loader, SlicedBatches):  # in memory: batches start at fixed positions, every process knows its own
        return loader._starts()[batch_idx]
    if trainer.world_size == 1:  # a DataLoader without shuffling: the batches follow each other
        return seen
    raise ConfigError("callbacks.slice_accuracy.column needs the test split in memory under DDP "
                      "(data.in_memory=true): a DistributedSampler's batches do not say where they come from.")


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
