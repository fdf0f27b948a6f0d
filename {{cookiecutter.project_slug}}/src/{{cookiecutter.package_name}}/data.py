"""Data: small datasets live as tensors in memory, and batches are slices of them.

For data that fits in memory a per-example `DataLoader` (one `__getitem__` call per
example, then `collate`) costs 3x to 100x more than indexing a tensor once per batch,
so `SlicedBatches` below replaces it. It is our own code because no library offers a
seeded, resumable, DDP-aware batch iterator over in-memory tensors.
"""

import importlib.util
from pathlib import Path

import lightning as L
import numpy as np
import torch


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


class SlicedBatches:
    """Batches drawn by slicing in-memory tensors with a seeded permutation per epoch.

    Under DDP each process takes every `world_size`-th batch of the same permutation, so
    the processes see disjoint data without a `DistributedSampler`.
    """

    def __init__(self, x, y, batch_size, shuffle, seed=0, drop_last=False, rank=0, world_size=1):
        self.x, self.y = x, y
        self.batch_size, self.shuffle, self.drop_last = batch_size, shuffle, drop_last
        self.rank, self.world_size = rank, world_size
        self.generator = torch.Generator().manual_seed(seed)
        self.epoch_start = self.generator.get_state()  # the generator before this epoch's permutation
        self.served = 0  # batches handed out in the current epoch

    def _starts(self):
        n = len(self.x)
        last = n - self.batch_size + 1 if self.drop_last else n
        starts = list(range(0, max(last, 0), self.batch_size))
        per_rank = len(starts) // self.world_size if self.world_size > 1 else len(starts)
        return starts[self.rank :: self.world_size][:per_rank]

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
        order = torch.randperm(len(self.x), generator=self.generator) if self.shuffle else None
        for start in self._starts():
            self.served += 1
            if order is None:
                yield self.x[start : start + self.batch_size], self.y[start : start + self.batch_size]
            else:
                index = order[start : start + self.batch_size]
                yield self.x[index], self.y[index]


def with_label_noise(labels: torch.Tensor, fraction: float, seed: int) -> torch.Tensor:
    """A copy of `labels` in which `fraction` of them (chosen with `seed`) is a random WRONG class."""
    if fraction <= 0:
        return labels
    generator = torch.Generator().manual_seed(seed + 1)
    num_classes = int(labels.max()) + 1
    noisy = labels.clone()
    chosen = torch.randperm(len(labels), generator=generator)[: round(fraction * len(labels))]
    shift = torch.randint(1, num_classes, (len(chosen),), generator=generator)  # never 0: always wrong
    noisy[chosen] = (labels[chosen] + shift) % num_classes
    return noisy


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


class DigitsData(L.LightningDataModule):
    """The digits, split once into train/val/test (stratified, seeded by `split_seed`).

    `subset` keeps only that many training examples (the overfitting check uses it) and
    `fraction` a stratified fraction of the training set (learning curves). `label_noise`
    replaces that fraction of the TRAINING labels by random wrong classes (seeded): the
    regime where checkpoint selection and ensembles show their worth. Validation and test
    sets never change with any of them, so runs stay comparable.
    """

    def __init__(
        self,
        batch_size: int = 64,
        val_fraction: float = 0.1,
        test_fraction: float = 0.2,
        split_seed: int = 0,
        fraction: float = 1.0,
        subset: int | None = None,
        num_workers: int = 0,
        label_noise: float = 0.0,
    ):
        super().__init__()
        self.batch_size = batch_size
        self.num_workers = num_workers  # kept for config compatibility: slicing needs no workers
        x, y = load_digits_tensors()
        train_fraction = 1.0 - val_fraction - test_fraction
        train, val, test = stratified_split(y, [train_fraction, val_fraction, test_fraction], split_seed)
        if fraction < 1.0:
            train = train[stratified_split(y[train], [fraction], split_seed)[0]]
        if subset is not None:
            train = train[stratified_split(y[train], [subset / len(train)], split_seed)[0]]
        self.train_x, self.train_y = x[train], with_label_noise(y[train], label_noise, split_seed)
        self.val_x, self.val_y = x[val], y[val]
        self.test_x, self.test_y = x[test], y[test]
        self.in_shape = tuple(x.shape[1:])
        self.num_classes = int(y.max()) + 1

    def _batches(self, x, y, shuffle):
        trainer = self.trainer
        rank, world = (trainer.global_rank, trainer.world_size) if trainer is not None else (0, 1)
        # Drawn from the global RNG that `seed_everything` seeded: the run's seed sets the
        # order, and every DDP process draws the same permutation.
        seed = int(torch.randint(2**31 - 1, ()).item())
        return SlicedBatches(x, y, self.batch_size, shuffle, seed=seed, rank=rank, world_size=world)

    def train_dataloader(self):
        return self._batches(self.train_x, self.train_y, shuffle=True)

    def val_dataloader(self):
        return self._batches(self.val_x, self.val_y, shuffle=False)

    def test_dataloader(self):
        return self._batches(self.test_x, self.test_y, shuffle=False)
