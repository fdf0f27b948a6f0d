"""Arrays in an `.npz` file as data (`data=npz`): inputs of any shape and their labels.

Inputs (N, ...) may be vectors (N, F), images (N, C, H, W) or sequences (N, T, F); labels are
class indices 0..K-1 or strings (classes: the sorted distinct strings) for classification,
numbers (N,) or (N, k) for regression. An optional array of 0/1/2 per example (train/val/test)
is the data's own split. Saved with `np.savez(path, x=inputs, y=labels[, split=split])`.
Read without pickle (`allow_pickle=False`): a data file must not run code.
"""

from pathlib import Path

import numpy as np
import torch

from .data import SPLITS, DataError, Examples, SplitData, inputs, read_npz


class NpzData(SplitData):
    """`x_key` and `y_key` name the arrays; `split_key` the optional own split (used when present).

    `input_scale` multiplies the inputs (e.g. 1/255 for 8-bit images); it is recorded for predict.py.
    """

    def __init__(self, path: str, x_key: str = "x", y_key: str = "y", split_key: str = "split",
                 input_scale: float = 1.0, **split_settings):
        self.path, self.x_key, self.y_key, self.split_key = Path(path), x_key, y_key, split_key
        self.input_scale = input_scale
        super().__init__(**split_settings)

    def load(self) -> Examples:
        arrays = read_npz(self.path)
        for role, setting, key in (("inputs", "x_key", self.x_key), ("labels", "y_key", self.y_key)):
            if key not in arrays:
                raise DataError(f"{self.path} has no array {key!r} for the {role} (data.{setting}). "
                                f"Its arrays are: {', '.join(arrays)}.")
        x = inputs(arrays[self.x_key], self.path, self.x_key, self.input_scale)
        labels = arrays[self.y_key]
        if len(labels) != len(x):
            raise DataError(f"{self.path}: {len(x)} inputs ({self.x_key!r}) but {len(labels)} labels ({self.y_key!r}).")
        y, class_names = self.targets(labels)
        split = self.own_split(arrays[self.split_key], len(x)) if self.split_key in arrays else None
        preprocessing = {"kind": "npz", "x_key": self.x_key, "in_shape": list(x.shape[1:]),
                         "input_scale": self.input_scale}
        return Examples(x, y, split=split, class_names=class_names, preprocessing=preprocessing)

    def read_unlabeled(self, path) -> torch.Tensor:
        """data.unlabeled_path: an .npz with the inputs array only, read as predict.py reads new arrays."""
        return read_new_npz(path, self.preprocessing)[1]

    def targets(self, labels: np.ndarray) -> tuple[torch.Tensor, list | None]:
        where = f"{self.path}, array {self.y_key!r}"
        if self.task == "regression":
            if labels.dtype.kind not in "biuf":
                raise DataError(f"{where}: data.task=regression needs numbers, the labels are {labels.dtype} "
                                f"(e.g. {labels.flat[0]!r}). For class labels use data.task=classification.")
            labels = labels.reshape(len(labels)) if labels.ndim == 2 and labels.shape[1] == 1 else labels
            return torch.tensor(labels, dtype=torch.float32), None
        if labels.ndim != 1:
            raise DataError(f"{where}: class labels must be one per example, shape (N,), not {labels.shape}.")
        if labels.dtype.kind in "US":  # names: the classes are the sorted distinct strings
            names, indices = np.unique(labels, return_inverse=True)
            labels, names = indices, [str(n) for n in names]
        elif labels.dtype.kind == "f" and not np.all(labels == np.round(labels)):
            raise DataError(f"{where}: the labels are not whole numbers (e.g. {labels[labels != np.round(labels)][0]}), "
                            "not class indices. For a numeric target use data.task=regression.")
        elif labels.dtype.kind not in "biuf":
            raise DataError(f"{where}: labels of type {labels.dtype} are neither class indices nor names.")
        else:
            names = None
        if len(np.unique(labels)) < 2:
            raise DataError(f"{where}: every example has the same label ({labels[0]}); a classifier needs at "
                            "least two classes.")
        return torch.tensor(labels.astype(np.int64)), names

    def own_split(self, split: np.ndarray, count: int) -> dict:
        where = f"{self.path}, array {self.split_key!r} (the data's own split: 0 train, 1 val, 2 test)"
        if split.shape != (count,) or not np.isin(split, [0, 1, 2]).all():
            raise DataError(f"{where}: needs one value of 0, 1 or 2 per example; found shape {split.shape} and "
                            f"values {np.unique(split)[:10].tolist()}.")
        parts = {name: np.nonzero(split == code)[0] for code, name in enumerate(SPLITS)}
        if len(parts["train"]) == 0 or len(parts["test"]) == 0:
            raise DataError(f"{where}: no {'train' if len(parts['train']) == 0 else 'test'} example.")
        print(f"data: the file's own split ({self.split_key!r}): "
              + ", ".join(f"{name} {len(index)}" for name, index in parts.items()))
        return parts


def read_new_npz(path, preprocessing: dict) -> tuple[list, torch.Tensor]:
    """A new .npz -> (ids 0..N-1, model inputs), with the training run's recorded key, shape and scale."""
    path, key, shape = Path(path), preprocessing["x_key"], list(preprocessing["in_shape"])
    arrays = read_npz(path)
    if key not in arrays:
        raise DataError(f"{path} has no array {key!r}, the model's inputs. Its arrays are: {', '.join(arrays)}.")
    x = inputs(arrays[key], path, key, preprocessing["input_scale"])
    if list(x.shape[1:]) != shape:
        raise DataError(f"{path}, array {key!r}: inputs of shape {tuple(arrays[key].shape)}; the model expects "
                        f"(N, {', '.join(map(str, shape))}).")
    return list(range(len(x))), x
