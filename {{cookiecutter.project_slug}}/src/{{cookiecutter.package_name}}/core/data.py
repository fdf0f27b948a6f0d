"""Data: the one contract between data and everything else, and the digits that ship with it.

Every consumer (the module, the callbacks, the feature rooms, eval.py) reads data
only through what `SplitData` below provides:

    data.task                      "classification" or "regression"
    data.in_shape                  shape of one input, e.g. (1, 8, 8) or (12,)
    data.num_classes, class_names  classification: how many classes and their names
    data.num_outputs               what the model's head must output (classes, or target size)
    data.train/val/test_dataloader()   batches of (x, y)
    data.split_tensors(split)      the WHOLE split as (x, y) tensors (at most max_examples)
    data.indices[split]            positions of the split's examples in load()'s order
    data.fingerprint()             a hash per split: runs are comparable only on equal test sets
    data.describe()                plain facts stored in checkpoints (task, shape, class names, preprocessing)
    data.split_tensors("unlabeled")  with `unlabeled_fraction` > 0: the training examples whose labels
                                   are hidden (for pseudo-labels); not in the training split
    data.train_pool                None (every training example), or the positions in the training split
                                   that training batches are drawn from (set by a callback: a curriculum)

A datamodule of your own subclasses `SplitData` and implements one method, `load()`, that
returns an `Examples` (inputs and labels, and optionally the data's own split and class
names); it gets the rest for free: the seeded stratified split, `fraction`, `subset`,
`label_noise`, `unlabeled_fraction`, the non-finite check, sliced in-memory batches with exact-resume state, and the
DataLoader path (`in_memory: false`) for data that does not fit in memory. A datamodule whose
inputs need statistics of the training split (standardization) also implements `normalize()`.
The data options that ship are built this way: core/data_npz.py, core/data_csv.py, core/data_images.py.

For data in memory a per-example `DataLoader` (one `__getitem__` call per example, then
`collate`) costs 3x to 100x more than indexing a tensor once per batch, so `SlicedBatches`
replaces it. Our own code: no library offers a seeded, resumable, DDP-aware batch iterator
over in-memory tensors.
"""

import hashlib
import importlib.util
import zipfile
from dataclasses import dataclass
from pathlib import Path

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Subset

from .validate import ConfigError

TASKS = ("classification", "regression")
SPLITS = ("train", "val", "test")


class DataError(ConfigError):
    """Data that cannot be trained on. The message names the file, split or value and what to do."""


@dataclass
class Examples:
    """What `SplitData.load()` returns: every example, in memory or behind a Dataset.

    x: inputs, a tensor (N, *in_shape) or a `Dataset` whose item i is the input i (data that
       does not fit in memory; labels must still be a tensor, they are small).
    y: class indices (long, 0..num_classes-1) or regression targets (float, (N,) or (N, k)).
    split: the data's own split, {"train": indices, "val": indices, "test": indices}; None:
       split here (seeded, stratified by class).
    class_names: names of the classes (index -> name); None: "0", "1", ...
    preprocessing: plain values that new inputs need before prediction (normalization
       statistics, column encoding, image size): stored in checkpoints for predict.py.
    """

    x: torch.Tensor | Dataset
    y: torch.Tensor
    split: dict | None = None
    class_names: list | None = None
    preprocessing: dict | None = None


def class_indices(labels: torch.Tensor, names: list | None, source: str) -> tuple[torch.Tensor, list]:
    """(class indices 0..K-1, the K class names): labels as the user has them.

    With `names` (load() gave them) the labels are already indices into them. Without, labels
    0..K-1 with every class present are their own names; any other integers (1..5, 3/7/9, -1/1)
    are class names like strings: the sorted distinct values become 0..K-1, and their names are
    recorded (predict.py's `p_<name>` columns). No class without an example is ever made up.
    """
    if names is not None:
        if len(labels) and (int(labels.min()) < 0 or int(labels.max()) >= len(names)):
            raise DataError(f"{source} gave labels from {int(labels.min())} to {int(labels.max())} with "
                            f"{len(names)} class names: labels must be indices 0..{len(names) - 1} into them.")
        return labels, [str(name) for name in names]
    values, indices = torch.unique(labels, return_inverse=True)
    if len(values) and int(values[0]) == 0 and int(values[-1]) == len(values) - 1:
        return labels, [str(c) for c in range(len(values))]
    return indices.reshape(labels.shape), [str(int(v)) for v in values]


def stratified_split(labels: torch.Tensor, fractions: list[float], seed: int) -> list[torch.Tensor]:
    """Split example indices into parts of the given fractions, class by class (seeded)."""
    generator = torch.Generator().manual_seed(seed)
    parts = [[] for _ in fractions]
    for label in labels.unique():
        members = torch.nonzero(labels == label).flatten()
        members = members[torch.randperm(len(members), generator=generator)]
        bounds = torch.tensor([0.0, *fractions]).cumsum(0).mul(len(members)).round().long()
        for part, start, stop in zip(parts, bounds[:-1], bounds[1:], strict=True):
            part.append(members[start:stop])
    return [torch.cat(part).sort().values for part in parts]


def random_split(count: int, fractions: list[float], seed: int) -> list[torch.Tensor]:
    """Split indices 0..count-1 into parts of the given fractions (seeded): regression has no classes."""
    order = torch.randperm(count, generator=torch.Generator().manual_seed(seed))
    bounds = torch.tensor([0.0, *fractions]).cumsum(0).mul(count).round().long()
    return [order[start:stop].sort().values for start, stop in zip(bounds[:-1], bounds[1:], strict=True)]


class SlicedBatches:
    """Batches drawn by slicing in-memory tensors with a seeded permutation per epoch.

    Under DDP each process takes every `world_size`-th batch of the same permutation, so
    the processes see disjoint data without a `DistributedSampler`. In training every process
    takes the same number of batches (gradients are averaged at every step); in evaluation
    (no shuffling) every batch is used once, so metrics cover the whole split.
    """

    def __init__(self, x, y, batch_size, shuffle, seed=0, drop_last=False, rank=0, world_size=1, pool=None):
        self.x, self.y = x, y
        self.pool = pool  # training: a function -> the positions to draw from (None: all); see epoch_order
        self.batch_size, self.shuffle, self.drop_last = batch_size, shuffle, drop_last
        self.rank, self.world_size = rank, world_size
        self.generator = torch.Generator().manual_seed(seed)
        self.epoch_start = self.generator.get_state()  # the generator before this epoch's permutation
        self.served = 0  # batches handed out in the current epoch

    def _starts(self):
        n = len(self.x)
        last = n - self.batch_size + 1 if self.drop_last else n
        starts = list(range(0, max(last, 0), self.batch_size))
        mine = starts[self.rank :: self.world_size]
        if not self.shuffle:  # evaluation: every example once, whatever the share of each process
            return mine
        return mine[: len(starts) // self.world_size]  # training: every process takes the same number of steps

    def __len__(self):
        return len(self._starts())

    def state_dict(self):
        """Saved in checkpoints by Lightning (it calls this on stateful loaders): exact resume.

        At an epoch boundary this is the generator that draws the next epoch's order. In the
        middle of an epoch it is the generator of the current epoch: a resume then replays
        that epoch's order from its start (mid-epoch positions are not restored).
        """
        finished = self.served == 0 or self.served >= len(self)
        return {"generator": self.generator.get_state() if finished else self.epoch_start}

    def load_state_dict(self, state):
        self.generator.set_state(state["generator"])
        self.served = 0

    def __iter__(self):
        self.epoch_start, self.served = self.generator.get_state(), 0
        order = epoch_order(len(self.x), self.pool and self.pool(), self.generator) if self.shuffle else None
        for start in self._starts():
            self.served += 1
            if order is None:
                yield self.x[start : start + self.batch_size], self.y[start : start + self.batch_size]
            else:
                index = order[start : start + self.batch_size]
                yield self.x[index], self.y[index]


# --- a callback's hook (a curriculum's): which training examples an epoch draws from -------------------


def epoch_order(count: int, pool: torch.Tensor | None, generator: torch.Generator) -> torch.Tensor:
    """The `count` positions one training epoch visits, in order.

    No pool: a permutation of all examples. A pool (a curriculum's easiest examples): shuffled
    passes over the pool until the epoch has its usual `count` examples, so every epoch keeps
    its number of steps (the schedule, the logging and the comparison with no curriculum hold).
    Read when the epoch's iteration starts: a pool set at the epoch start applies to that epoch.
    """
    if pool is None:
        return torch.randperm(count, generator=generator)
    passes = -(-count // len(pool))
    return torch.cat([pool[torch.randperm(len(pool), generator=generator)] for _ in range(passes)])[:count]


class PoolSampler(torch.utils.data.Sampler):
    """The DataLoader path's (`in_memory: false`) training order: `epoch_order` over the pool of the moment."""

    def __init__(self, count: int, generator: torch.Generator, pool):
        self.count, self.generator, self.pool = count, generator, pool

    def __len__(self):
        return self.count

    def __iter__(self):
        yield from epoch_order(self.count, self.pool(), self.generator).tolist()


class ResumableLoader(DataLoader):
    """A DataLoader (the `in_memory: false` path) whose shuffling generator goes into checkpoints.

    Same exact-resume contract as `SlicedBatches`: the saved generator draws the next epoch's
    order. Under DDP Lightning swaps in a `DistributedSampler` (seeded by epoch), which is exact too.
    """

    def state_dict(self):
        return {"generator": self.generator.get_state()} if self.generator is not None else {}

    def load_state_dict(self, state):
        if self.generator is not None and "generator" in state:
            self.generator.set_state(state["generator"])


class LabelledSubset(Dataset):
    """Items (x, y) of one split: input `indices[i]` of a Dataset of inputs, with its label `labels[i]`."""

    def __init__(self, inputs: Dataset, indices: torch.Tensor, labels: torch.Tensor):
        self.inputs, self.labels = Subset(inputs, indices.tolist()), labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.inputs[i], self.labels[i]


def with_label_noise(labels: torch.Tensor, fraction: float, seed: int, num_classes: int) -> torch.Tensor:
    """A copy of `labels` in which `fraction` of them (chosen with `seed`) is a random WRONG class."""
    if fraction <= 0:
        return labels
    generator = torch.Generator().manual_seed(seed + 1)
    noisy = labels.clone()
    chosen = torch.randperm(len(labels), generator=generator)[: round(fraction * len(labels))]
    shift = torch.randint(1, num_classes, (len(chosen),), generator=generator)  # never 0: always wrong
    noisy[chosen] = (labels[chosen] + shift) % num_classes
    return noisy


def examples_fingerprint(x: torch.Tensor, y: torch.Tensor) -> str:
    """sha256 of a split's (x, y) pairs, sorted per example: the same examples in any order, the same hash."""
    x, y = x.reshape(len(x), -1).numpy(), y.reshape(len(y), -1).numpy()
    rows = sorted(hashlib.sha256(x[i].tobytes() + y[i].tobytes()).digest() for i in range(len(x)))
    return hashlib.sha256(f"{x.dtype} {y.dtype} {x.shape[1]}".encode() + b"".join(rows)).hexdigest()


NORMALIZATIONS = ("none", "global", "per_channel")


def normalization_statistics(x: torch.Tensor, mode: str) -> dict:
    """Mean and std of (training) inputs: one of each (`global`) or one per channel, axis 1 (`per_channel`:
    image channels, or the features of vectors). A constant channel keeps std 1: centred, not blown up."""
    values = x.double().reshape(1, -1) if mode == "global" else x.double().transpose(0, 1).reshape(x.shape[1], -1)
    std = values.std(dim=1)
    std = torch.where(std > 1e-8, std, torch.ones_like(std))
    return {"mode": mode, "mean": values.mean(dim=1).tolist(), "std": std.tolist()}


def normalized(x: torch.Tensor, stats: dict | None) -> torch.Tensor:
    """`x` standardized with recorded statistics (training, and predict.py on new inputs); None: unchanged."""
    if not stats:
        return x
    shape = (1, -1) + (1,) * (x.ndim - 2)  # broadcast along axis 1
    mean = torch.tensor(stats["mean"], dtype=x.dtype).reshape(shape)
    std = torch.tensor(stats["std"], dtype=x.dtype).reshape(shape)
    return (x - mean) / std


# --- .npz files of plain arrays (data=npz, digits' unlabelled pool, predict.py): never unpickled -----------


def read_npz(path: Path) -> dict:
    """Every array of the file, or a DataError that says what is wrong with it."""
    if not path.is_file():
        raise DataError(f"data.path={path}: no such file ({path.resolve()}). Give the path of an .npz file, "
                        "e.g. `python train.py data=npz data.path=data/arrays.npz`.")
    try:
        with np.load(path, allow_pickle=False) as file:
            return {key: file[key] for key in file.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as error:
        raise DataError(f"{path} cannot be read as an .npz of plain arrays ({error}). Save it with "
                        "np.savez(path, x=inputs, y=labels); object arrays (pickles) are refused.") from None


def inputs(array: np.ndarray, path: Path, key: str, scale: float) -> torch.Tensor:
    """Numeric inputs as float32 (times `scale`); (N,) becomes (N, 1): one feature per example."""
    if array.dtype.kind not in "biuf":
        raise DataError(f"{path}, array {key!r}: inputs must be numbers, not {array.dtype}.")
    if array.ndim == 1:
        array = array[:, None]
    finite = np.isfinite(array.reshape(len(array), -1)).all(1)
    if not finite.all():
        raise DataError(f"{path}, array {key!r}: {int((~finite).sum())} example(s) have NaN or inf inputs, the first "
                        f"at index {int(np.argmin(finite))}. Remove or impute them (data=npz does not impute).")
    return torch.tensor(array.astype(np.float32) * np.float32(scale))


class SplitData(L.LightningDataModule):
    """The data contract (see the module docstring), implemented once for every dataset.

    Subclasses set their own attributes, then call `super().__init__(**split_settings)`,
    which calls their `load()` and splits: from then on shapes and classes are known (the
    module is built from them). Validation and test sets never change with `fraction`,
    `subset` or `label_noise`, so runs stay comparable.
    """

    task = "classification"

    def __init__(
        self,
        batch_size: int = 64,
        val_fraction: float = 0.1,
        test_fraction: float = 0.2,
        split_seed: int = 0,
        fraction: float = 1.0,
        subset: int | None = None,
        label_noise: float = 0.0,
        num_workers: int = 0,
        in_memory: bool = True,
        task: str | None = None,
        unlabeled_fraction: float = 0.0,
        normalize: str = "none",
        unlabeled_path: str | None = None,
    ):
        super().__init__()
        self.normalization = normalize  # read by the default normalize() hook below
        self.batch_size, self.num_workers, self.in_memory = batch_size, num_workers, in_memory
        self.train_pool = None  # the curriculum's hook: training positions to draw from (None: all)
        # known to load() too: a loader whose data brings only part of a split (say train/ and
        # test/ folders) can carve the rest the same way
        self.val_fraction, self.test_fraction, self.split_seed = val_fraction, test_fraction, split_seed
        self.task = task or self.task
        self.check_settings(label_noise, unlabeled_fraction)
        examples = self.load()
        y = self.read_targets(examples)
        self.preprocessing = examples.preprocessing or {}
        indices = examples.split or self.split_indices(y, val_fraction, test_fraction, split_seed)
        indices = {name: torch.as_tensor(indices[name], dtype=torch.long) for name in SPLITS}
        x, fitted = self.normalize(examples.x, indices["train"])  # statistics of the training split only
        self.preprocessing = {**self.preprocessing, **fitted}
        indices["train"] = self.shrink(indices["train"], y, fraction, subset, split_seed)
        if unlabeled_fraction:  # pseudo-labels: an "unlabeled" split, its true labels kept only to count
            indices["train"], indices["unlabeled"] = self.hide_labels(indices["train"], y, unlabeled_fraction, split_seed)
        labels = {name: y[index] for name, index in indices.items()}
        if label_noise:
            labels["train"] = with_label_noise(labels["train"], label_noise, split_seed, self.num_classes)
        self.hold_splits(x, indices, labels)
        self.indices = indices  # which loaded examples are in which split (positions in load()'s order)
        if unlabeled_path:  # pseudo-labels from a pool of inputs without labels: the split "unlabeled"
            self.add_unlabeled_pool(Path(unlabeled_path), count=len(y))

    def read_targets(self, examples: Examples) -> torch.Tensor:
        """The targets as the task trains on them: class indices (setting the class names) or float values."""
        if self.task == "classification":
            y, self.class_names = class_indices(examples.y.long(), examples.class_names, type(self).__name__)
            self.num_classes = self.num_outputs = len(self.class_names)
            return y
        y = examples.y.float()
        self.num_classes, self.class_names = None, None
        self.num_outputs = 1 if y.ndim == 1 else int(y.shape[1])
        return y

    def hold_splits(self, x, indices: dict, labels: dict) -> None:
        """Each split's inputs and labels: tensors in memory (`splits`), or a Dataset per split (`datasets`)."""
        if isinstance(x, torch.Tensor) or self.in_memory:
            x = x if isinstance(x, torch.Tensor) else materialize(x)
            self.splits = {name: (x[index], labels[name]) for name, index in indices.items()}
            self.datasets = None
            self.check_finite()
            self.in_shape = tuple(x.shape[1:])
        else:  # data that does not fit in memory: a Dataset per split, read by DataLoader workers
            self.splits = None
            self.datasets = {name: LabelledSubset(x, index, labels[name]) for name, index in indices.items()}
            self.in_shape = tuple(torch.as_tensor(x[0]).shape)

    def check_settings(self, label_noise: float, unlabeled_fraction: float) -> None:
        """Settings that cannot apply fail before anything is loaded."""
        if self.normalization not in NORMALIZATIONS:
            raise ConfigError(f"data.normalize={self.normalization!r} is not allowed: use one of "
                              f"{', '.join(NORMALIZATIONS)} (inputs standardized with the training split's mean and "
                              "std, over all values or per channel).")
        if self.task not in TASKS:
            raise ConfigError(f"data.task={self.task!r} is not allowed: use one of {', '.join(TASKS)}.")
        if label_noise and self.task != "classification":
            raise ConfigError(f"data.label_noise={label_noise} applies to classification only (task: {self.task}).")
        if unlabeled_fraction and self.task != "classification":
            raise ConfigError(f"data.unlabeled_fraction={unlabeled_fraction} applies to classification only (task: "
                              f"{self.task}): pseudo-labels are predicted classes.")

    def load(self) -> Examples:
        """Every example (and optionally the data's own split and class names). Subclasses implement this."""
        raise NotImplementedError(f"{type(self).__name__} must implement load() -> Examples (see core/data.py)")

    def normalize(self, x, train: torch.Tensor) -> tuple:
        """Optional hook: the inputs transformed with statistics of the TRAINING split only.

        `train` holds the training split's positions in load()'s order. Called once the split is
        known and before `fraction`/`subset`, so validation and test inputs stay the same across
        learning-curve points. Returns (x, plain values added to `preprocessing` for predict.py).
        The default applies `data.normalize` (none | global | per_channel) to inputs held in memory;
        core/data_csv.py standardizes and imputes its columns here instead.
        """
        if self.normalization == "none":
            return x, {}
        if not isinstance(x, torch.Tensor):
            print(f"data.normalize={self.normalization} applies to inputs held in memory (in_memory=true); "
                  "skipped for this Dataset")
            return x, {}
        stats = normalization_statistics(x[train], self.normalization)
        return normalized(x, stats), {"normalization": stats}

    # --- what every datamodule gets for free -----------------------------------------------------

    def split_indices(self, y, val_fraction, test_fraction, seed) -> dict:
        train_fraction = 1.0 - val_fraction - test_fraction
        fractions = [train_fraction, val_fraction, test_fraction]
        if self.task == "classification":
            counts = torch.bincount(y, minlength=self.num_classes)
            smallest = int(counts.min())
            needed = max(1 / f for f in fractions if f > 0)
            if smallest < needed:
                rare = "{" + ", ".join(f"{self.class_names[c]!r}: {int(counts[c])}"
                                       for c in torch.nonzero(counts < needed).flatten().tolist()[:10]) + "}"
                raise DataError(
                    f"Too few examples in the classes {rare} (examples per class); the split (val_fraction={val_fraction}, "
                    f"test_fraction={test_fraction}) needs at least {needed:.0f} per class to put one in every "
                    "split. Add examples, merge or drop rare classes, or bring your own split."
                )
            parts = stratified_split(y, fractions, seed)
        else:
            parts = random_split(len(y), fractions, seed)
        return dict(zip(SPLITS, parts, strict=True))

    def shrink(self, train, y, fraction, subset, seed) -> torch.Tensor:
        """`fraction` (stratified) then `subset` (that many examples) of the training indices."""
        stratify, before = self.task == "classification", len(train)
        for keep in ([fraction] if fraction < 1.0 else []) + ([subset / len(train)] if subset is not None else []):
            if keep < 1.0:
                part = (stratified_split(y[train], [keep], seed) if stratify
                        else random_split(len(train), [keep], seed))[0]
                train = train[part]
        if len(train) == 0:
            raise DataError(
                f"data.fraction={fraction} and data.subset={subset} leave no training example (the training "
                f"split has {before} examples before them). Use a larger fraction or subset."
            )
        return train

    def hide_labels(self, train, y, fraction, seed) -> tuple[torch.Tensor, torch.Tensor]:
        """(labelled, unlabelled) training indices: `fraction` of each class hidden (seeded), for pseudo-labels.

        The unlabelled examples become the split "unlabeled" (in `splits`/`datasets` and `indices`,
        not in SPLITS): the training split holds only the labelled ones. Their true labels stay
        in that split for one use only: counting how many pseudo-labels are right.
        """
        hidden = stratified_split(y[train], [fraction], seed + 2)[0]  # seed + 1 draws the label noise
        labelled = torch.ones(len(train), dtype=torch.bool)
        labelled[hidden] = False
        unseen = sorted(set(y[train].tolist()) - set(y[train[labelled]].tolist()))
        if unseen:
            names = [self.class_names[c] for c in unseen][:10]
            raise DataError(
                f"data.unlabeled_fraction={fraction} hides every training label of the classes {names}: a model "
                "never shown a class cannot pseudo-label it. Use a smaller unlabeled_fraction (or more data)."
            )
        return train[labelled], train[hidden]

    def add_unlabeled_pool(self, path: Path, count: int) -> None:
        """`data.unlabeled_path`: the file's inputs, read with this data's preprocessing (as predict.py reads new
        inputs), become the split "unlabeled"; their labels are unknown (-1), their positions follow load()'s."""
        if self.task != "classification" or self.splits is None:
            raise DataError(f"data.unlabeled_path={path} needs classification with inputs in memory (data.task="
                            f"{self.task}, data.in_memory={self.in_memory}): pseudo-labels are predicted classes.")
        pool = normalized(self.read_unlabeled(path), self.preprocessing.get("normalization"))
        if tuple(pool.shape[1:]) != self.in_shape:
            raise DataError(f"data.unlabeled_path={path}: inputs of shape {tuple(pool.shape[1:])}, but the training "
                            f"inputs are {self.in_shape}.")
        self.splits["unlabeled"] = pool, torch.full((len(pool),), -1, dtype=torch.long)
        self.indices["unlabeled"] = torch.arange(count, count + len(pool))
        print(f"data: {len(pool)} unlabelled examples from {path} (pseudo-labels)")

    def read_unlabeled(self, path: Path) -> torch.Tensor:
        """Inputs of a file or folder without labels, in this data's format (core/data_npz.py, core/data_csv.py,
        core/data_images.py implement it with their predict.py readers). A datamodule of your own may too."""
        raise DataError(f"data.unlabeled_path: {type(self).__name__} does not read a pool of unlabelled inputs "
                        "(it has no read_unlabeled()); hide labels instead with data.unlabeled_fraction=0.9.")

    def check_finite(self) -> None:
        """Non-finite inputs or targets anywhere fail now, naming the split and the first example."""
        for name, (x, y) in self.splits.items():
            for what, values in (("inputs", x), ("targets", y)):
                if values.is_floating_point() and not torch.isfinite(values).all():
                    bad = (~torch.isfinite(values.reshape(len(values), -1))).any(1)
                    first = int(torch.nonzero(bad)[0])
                    raise DataError(
                        f"The {name} split has non-finite {what} (NaN or inf) in {int(bad.sum())} example(s), "
                        f"the first at position {first} of that split. Clean or impute them before training "
                        "(a NaN input poisons the batch-norm statistics and every later prediction)."
                    )

    def split_tensors(self, split: str, max_examples: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """The whole split as (x, y) on the CPU (its first `max_examples`), whatever the process rank."""
        if self.splits is not None:
            x, y = self.splits[split]
            return (x, y) if max_examples is None else (x[:max_examples], y[:max_examples])
        xs, ys, count = [], [], 0
        loader = DataLoader(self.datasets[split], batch_size=256, num_workers=self.num_workers)
        for x, y in loader:
            xs.append(x)
            ys.append(y)
            count += len(y)
            if max_examples is not None and count >= max_examples:
                break
        x, y = torch.cat(xs), torch.cat(ys)
        return (x, y) if max_examples is None else (x[:max_examples], y[:max_examples])

    def fingerprint(self) -> dict:
        """A sha256 of each split's examples: equal hashes, identical data (split.json, eval.py)."""
        return {name: examples_fingerprint(*self.split_tensors(name)) for name in SPLITS}

    def describe(self) -> dict:
        """Plain facts about the data that a checkpoint keeps (loadable with weights_only=True)."""
        return {"task": self.task, "in_shape": list(self.in_shape), "num_outputs": self.num_outputs,
                "class_names": self.class_names, "preprocessing": self.preprocessing}

    # --- Lightning's datamodule hooks ---------------------------------------------------------------

    def _batches(self, split, shuffle):
        trainer = self.trainer
        # Drawn from the global RNG that `seed_everything` seeded: the run's seed sets the
        # order, and every DDP process draws the same permutation.
        seed = int(torch.randint(2**31 - 1, ()).item())
        pool = (lambda: self.train_pool) if split == "train" else None  # the curriculum's hook
        if self.splits is None:
            generator = torch.Generator().manual_seed(seed) if shuffle else None
            sampler = PoolSampler(len(self.datasets[split]), generator, pool) if shuffle else None
            return ResumableLoader(self.datasets[split], batch_size=self.batch_size, sampler=sampler,
                                   generator=generator, num_workers=self.num_workers,
                                   persistent_workers=self.num_workers > 0)
        x, y = self.splits[split]
        rank, world = (trainer.global_rank, trainer.world_size) if trainer is not None else (0, 1)
        return SlicedBatches(x, y, self.batch_size, shuffle, seed=seed, rank=rank, world_size=world, pool=pool)

    def train_dataloader(self):
        return self._batches("train", shuffle=True)

    def val_dataloader(self):
        return self._batches("val", shuffle=False)

    def test_dataloader(self):
        return self._batches("test", shuffle=False)


def materialize(dataset: Dataset) -> torch.Tensor:
    """Every input of a Dataset stacked into one tensor (the in-memory fast path)."""
    return torch.cat([x for x in DataLoader(dataset, batch_size=256)])


def load_digits_tensors() -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's bundled 8x8 digits (1797 images, 10 classes): no download needed.

    Read straight from the file scikit-learn ships (what `sklearn.datasets.load_digits`
    reads): importing scikit-learn would add ~0.5 s to every command, the overfit check too.
    """
    spec = importlib.util.find_spec("sklearn")  # locates the package without importing it
    path = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz"
    if path.exists():
        table = np.loadtxt(path, delimiter=",", dtype=np.float32)
        images, target = table[:, :-1], table[:, -1]
    else:  # a future scikit-learn may move the file: fall back to its loader
        from sklearn.datasets import load_digits

        images, target = load_digits(return_X_y=True)
    x = torch.tensor(images, dtype=torch.float32).reshape(-1, 1, 8, 8) / 16.0  # pixel values 0..16
    y = torch.tensor(target, dtype=torch.long)
    return x, y


class DigitsData(SplitData):
    """scikit-learn's bundled digits: 1797 8x8 grayscale images of 10 classes, pixels scaled to 0..1.

    `subset` keeps only that many training examples (the overfitting check uses it), `fraction`
    a stratified fraction of the training set (learning curves), `label_noise` replaces that
    fraction of the TRAINING labels by random wrong classes (seeded): the regime where
    checkpoint selection and ensembles show their worth.
    """

    def load(self) -> Examples:
        x, y = load_digits_tensors()
        return Examples(x, y, preprocessing={"input_scale": 1 / 16})

    def read_unlabeled(self, path: Path) -> torch.Tensor:
        """An .npz whose array `x` holds raw 0..16 digits, (N, 64) or (N, 1, 8, 8)."""
        arrays = read_npz(path)
        if "x" not in arrays:
            raise DataError(f"{path} has no array 'x' (its arrays: {', '.join(arrays)}): unlabelled digits are raw "
                            "0..16 pixels, shaped (N, 64) or (N, 1, 8, 8).")
        x = inputs(arrays["x"], path, "x", 1 / 16)
        if x[0].numel() != 64:
            raise DataError(f"{path}, array 'x': inputs of shape {tuple(arrays['x'].shape)}; unlabelled digits are "
                            "raw 0..16 pixels, shaped (N, 64) or (N, 1, 8, 8).")
        return x.reshape(-1, 1, 8, 8)
