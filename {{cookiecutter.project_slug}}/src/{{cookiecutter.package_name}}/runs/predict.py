"""Predict on new data: a trained model applied to a new file, written to predictions.csv.

The new file gets the preprocessing recorded with the model at training time (the
checkpoint's `hyper_parameters["data"]`: normalization statistics, column encoding, image
size and mode, class names), never statistics recomputed from the new data: the model must
see inputs the way it saw its training inputs. Each data option has its reader
(`read_new_npz`, `read_new_csv`, `read_new_images`); the kind of the given file picks it, and
a file of the wrong kind or shape fails at once, saying what the model expects.
"""

import csv
import io
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..core.data import DataError, inputs, normalized, read_npz
from ..core.data_csv import read_new_csv
from ..core.data_images import SUFFIXES, read_new_images
from ..core.data_npz import read_new_npz
from .atomic_write import write_atomically
from .checkpoints import CheckpointError, load_classifier, ranked_checkpoints


def checkpoints_to_use(model_path, ensemble: bool, k: int) -> list[Path]:
    """A checkpoint file: itself. A run folder: its best checkpoint, or its top-k with `ensemble`."""
    path = Path(model_path)
    if path.is_file():
        return [path]
    if not (path / "checkpoints").is_dir():
        raise FileNotFoundError(f"{path} is neither a checkpoint (.ckpt) nor a run folder (with checkpoints/). "
                                "Give one of those, e.g. logs/runs/<date>_<time>.")
    paths = ranked_checkpoints(path, k if ensemble else 1)
    if not paths:
        raise CheckpointError(f"{path / 'checkpoints'} holds no readable checkpoint with finite weights "
                              "(ranked by val/loss): nothing to predict with.")
    return paths


def given_kind(path: Path) -> str:
    if path.is_dir() or path.suffix.lower() in SUFFIXES:
        return "images"
    return {".npz": "npz", ".csv": "csv"}.get(path.suffix.lower(), "unknown")


def expected_input(data: dict) -> tuple[str, str]:
    """(the kind of file the model can read, a sentence saying what it was trained on)."""
    pre, shape = data.get("preprocessing") or {}, tuple(data["in_shape"])
    kind = pre.get("kind")
    if kind == "image_folder":
        height, width = pre["size"]
        return "images", (f"this model was trained on images of size {height}x{width} ({pre['mode']}) "
                          "(data=image_folder): give an image file or a folder of images")
    if kind == "csv":
        names = ", ".join(column["name"] for column in pre["columns"])
        return "csv", f"this model was trained on a table (data=csv) with the columns {names}: give a .csv file with them"
    if kind == "npz":
        return "npz", (f"this model was trained on arrays (data=npz) of shape (N, {', '.join(map(str, shape))}): "
                       f"give an .npz file holding them in the array {pre['x_key']!r}")
    flat = math.prod(shape)  # digits, or a datamodule of your own: an .npz of raw inputs
    scale = f" (raw values: predict.py multiplies them by input_scale={pre['input_scale']:g}, as training did)"
    return "npz", (f"this model was trained on inputs of shape {shape}: give an .npz file whose array 'x' holds "
                   f"them, shaped (N, {', '.join(map(str, shape))}) or (N, {flat})" + (scale if "input_scale" in pre else ""))


def read_new_inputs(path, data: dict, id_column: str | None = None) -> tuple[list, torch.Tensor]:
    """(ids, model inputs) of a new file, with the model's recorded preprocessing; DataError if it does not fit."""
    path, pre = Path(path), data.get("preprocessing") or {}
    kind, expected = expected_input(data)
    if given_kind(path) != kind:
        what = {"images": "images", "npz": "an .npz file", "csv": "a table"}.get(given_kind(path), "not a file we read")
        raise DataError(f"{path} is {what}, but {expected}.")
    if id_column is not None and kind != "csv":
        raise DataError(f"--id-column={id_column} names a column of a table, and {path} is not one.")
    if pre.get("kind") == "csv":
        ids, x = read_new_csv(path, pre, id_column)
    elif pre.get("kind") == "image_folder":
        ids, x = read_new_images(path, pre)
    elif pre.get("kind") == "npz":
        ids, x = read_new_npz(path, pre)
    else:
        ids, x = raw_npz_inputs(path, data, expected)
    if tuple(x.shape[1:]) != tuple(data["in_shape"]):  # a guard: each reader already checks its own
        raise DataError(f"{path}: inputs of shape {tuple(x.shape[1:])}, but {expected}.")
    return ids, normalized(x, pre.get("normalization"))  # data.normalize: the training split's statistics


def raw_npz_inputs(path: Path, data: dict, expected: str) -> tuple[list, torch.Tensor]:
    """Digits (or your own datamodule): array 'x' of raw inputs, flat or shaped, times the recorded input_scale."""
    arrays, shape = read_npz(path), tuple(data["in_shape"])
    if "x" not in arrays:
        raise DataError(f"{path} has no array 'x' (its arrays: {', '.join(arrays)}); {expected}.")
    array = arrays["x"]
    if array.shape[1:] not in (shape, (math.prod(shape),)):
        raise DataError(f"{path}, array 'x': inputs of shape {array.shape}, but {expected}.")
    scale = (data.get("preprocessing") or {}).get("input_scale", 1.0)
    x = inputs(np.ascontiguousarray(array), path, "x", scale).reshape(len(array), *shape)
    return list(range(len(x))), x


@torch.no_grad()
def model_outputs(module, x: torch.Tensor, task: str, batch_size: int = 512) -> torch.Tensor:
    """Class probabilities (classification) or predicted values, shape (N, outputs)."""
    out = torch.cat([module(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])
    return F.softmax(out, 1) if task == "classification" else out.reshape(len(x), -1)


def predict(model_path, input_path, out="predictions.csv", ensemble=False, k=3, id_column=None) -> str:
    """predict.py: write the predictions for `input_path` to `out`; returns the summary to print."""
    input_path = Path(input_path)
    if not input_path.exists():
        raise FileNotFoundError(f"{input_path}: no such file or folder ({input_path.resolve()}). Give an .npz, "
                                "a .csv, an image file or a folder of images.")
    paths = checkpoints_to_use(model_path, ensemble, k)
    modules = [load_classifier(p) for p in paths]  # refuses foreign targets and NaN weights, before building
    data = modules[0].hparams["data"]
    ids, x = read_new_inputs(input_path, data, id_column)
    task = data.get("task", "classification")
    # An ensemble: the mean of the members' probabilities (classification) or values (regression).
    outputs = torch.stack([model_outputs(module, x, task) for module in modules]).mean(0)
    if task == "classification":
        header, rows, summary = classification_rows(ids, outputs, data["class_names"])
    else:
        header, rows, summary = regression_rows(ids, outputs)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    write_atomically(out, text.getvalue().encode())  # complete or absent: no half-written predictions
    model = f"the top-{len(paths)} ensemble of {model_path}" if ensemble else str(paths[0])
    return f"predicted {len(rows)} rows of {input_path} with {model}\n{summary}\nwritten to {out}"


def classification_rows(ids, probs: torch.Tensor, class_names: list) -> tuple[list, list, str]:
    confidence, predicted = probs.max(1)
    header = ["id", "predicted", "confidence", *(f"p_{name}" for name in class_names)]
    rows = [[i, class_names[c], f"{p:.6f}", *(f"{v:.6f}" for v in row)]
            for i, c, p, row in zip(ids, predicted.tolist(), confidence.tolist(), probs.tolist(), strict=True)]
    counts = torch.bincount(predicted, minlength=len(class_names)).tolist()
    summary = "predicted classes: " + ", ".join(f"{name} {n}" for name, n in zip(class_names, counts, strict=True) if n)
    return header, rows, summary


def regression_rows(ids, values: torch.Tensor) -> tuple[list, list, str]:
    names = ["value"] if values.shape[1] == 1 else [f"value_{j}" for j in range(values.shape[1])]
    rows = [[i, *(f"{v:.6g}" for v in row)] for i, row in zip(ids, values.tolist(), strict=True)]
    std = values.std(0) if len(values) > 1 else torch.zeros(values.shape[1])
    summary = ", ".join(f"{name}: mean {m:.4g}, std {s:.4g}" for name, m, s in zip(names, values.mean(0), std, strict=True))
    return ["id", *names], rows, summary
