"""Data files written by tests: vectors, tables, image folders, and a user's own model."""

import csv
import os

import numpy as np
from PIL import Image

from conftest import FAST, ROOT

# Vectors and tables need an MLP: a user's own model, written beside the data (as docs/models.md shows).
OWN_MODEL = '''
import math

from torch import nn


class TinyMLP(nn.Module):
    """Flatten, one hidden layer. Takes what the module passes: in_shape, num_outputs, dropout."""

    def __init__(self, in_shape, num_outputs, dropout=0.0, width=32, **other_knobs):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(math.prod(in_shape), width), nn.ReLU(),
                                 nn.Dropout(dropout), nn.Linear(width, num_outputs))

    def forward(self, x):
        return self.net(x)
'''
VECTOR_RUN = ["model._target_=own_model.TinyMLP"]  # worst mistakes: a table of rows for vectors
SHORT = ["trainer.max_epochs=4", "data.batch_size=16", "optimizer.lr=0.01", *FAST]
# A user's own regression datamodule, written the way docs/data.md tells: subclass SplitData,
# say task = "regression", implement load().
OWN_REGRESSION = '''
import torch

from {{cookiecutter.package_name}}.core.data import Examples, SplitData


class Curve(SplitData):
    """y = a linear function of 12 features + a sine of one + a product of two, plus a little noise."""

    task = "regression"

    def __init__(self, count: int = 600, **split_settings):
        self.count = count
        super().__init__(**split_settings)

    def load(self):
        generator = torch.Generator().manual_seed(0)
        x = torch.randn(self.count, 12, generator=generator)
        y = x @ torch.linspace(-1, 1, 12) + torch.sin(2 * x[:, 0]) + 0.5 * x[:, 1] * x[:, 2]
        return Examples(x, y + 0.1 * torch.randn(self.count, generator=generator))
'''
CURVE = ["data._target_=own_regression.Curve", "model=mlp_small"]
COLORS = np.array([(220, 50, 50), (80, 230, 80), (30, 30, 120)])  # per class; apart in grayscale too


def vectors(count=240, features=6, seed=0, classes=3):
    """Class k (of `classes`, labels 0..classes-1) has feature k raised: an MLP learns it in a few steps."""
    rng = np.random.default_rng(seed)
    y = np.arange(count) % classes
    x = rng.normal(size=(count, features)).astype(np.float32)
    x[np.arange(count), y] += 3.0
    return x, y


def write_table(path, count=240, missing=True, labels=("cat", "dog", "fox"), shift=None):
    """size and weight (numeric), color (categorical), species (string labels); a few gaps if `missing`."""
    rng = np.random.default_rng(0)
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["id", "size", "weight", "color", "species"])
        for i in range(count):
            k = i % len(labels)
            size = rng.normal() + 3.0 * (k == 0)
            weight = 10 * rng.normal() + 50 + 40 * (k == 1) + (shift or {}).get(i, 0.0)
            color = ["red", "green", "blue"][k] if rng.random() < 0.8 else "grey"
            row = [f"id{i}", f"{size:.3f}", f"{weight:.3f}", color, labels[k]]
            if missing and i in (4, 9):
                row[1] = ""
            if missing and i == 7:
                row[3] = "NA"
            writer.writerow(row)
    return path


def write_images(root, per_class=30, layout=None, size=10, seed=0):
    """PNGs of three colors; layout {"train": n, "val": n, "test": n} per class makes the own split."""
    rng = np.random.default_rng(seed)
    parts = layout or {None: per_class}
    for k, name in enumerate(["apple", "leaf", "sky"]):
        for split, count in parts.items():
            folder = root / name if split is None else root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                pixels = np.clip(COLORS[k] + rng.integers(-30, 30, size=(size, size, 3)), 0, 255).astype(np.uint8)
                Image.fromarray(pixels).save(folder / f"{i:03d}.png")
    return root


def own_model_env(folder) -> dict:
    (folder / "own_model.py").write_text(OWN_MODEL)
    return {"PYTHONPATH": os.pathsep.join([str(folder), str(ROOT / "src")])}


def own_regression_env(folder) -> dict:
    """own_regression.py (a user's regression datamodule) in `folder`; the environment in which train.py imports it."""
    (folder / "own_regression.py").write_text(OWN_REGRESSION)
    return {"PYTHONPATH": os.pathsep.join([str(folder), str(ROOT / "src")])}
