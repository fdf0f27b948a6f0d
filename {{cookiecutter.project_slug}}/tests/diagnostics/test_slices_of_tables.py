"""Slices of a table (data=csv, callbacks.slice_accuracy.column): one slice per value of a column, whose
counts-weighted mean is test/acc; a misspelled column is refused naming the columns (moved from
tests/core/test_data_options.py)."""

import csv

import numpy as np

from conftest import FAST, read_metrics, run_script
from data_files import vectors
from {{cookiecutter.package_name}}.core.data_csv import CsvData


def train_on(tmp_path, *overrides):
    run_dir = tmp_path / "run"
    process = run_script("train.py", f"hydra.run.dir={run_dir}", f"paths.log_dir={tmp_path}", *overrides, timeout=300)
    return process, run_dir


def assert_refused(process, run_dir, *fragments):
    """Bad config: refused before training (exit code 2), the message names what is wrong, no checkpoints."""
    assert process.returncode == 2, process.stdout[-2000:] + process.stderr[-2000:]
    for fragment in fragments:
        assert fragment in process.stderr, process.stderr[-3000:]
    assert not (run_dir / "checkpoints").exists()


def test_csv_slices_per_value_of_a_column_add_up_to_test_acc(tmp_path):
    """callbacks.slice_accuracy.column=color: one slice per color, their counts-weighted mean is test/acc."""
    x, y = vectors(count=240, features=3)
    colors = np.array(["red", "green", "blue"])[(np.arange(240) // 3) % 3]  # not the class: every color has all
    with open(tmp_path / "table.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["a", "b", "c", "color", "label"])
        writer.writerows([*row.round(3).tolist(), color, label] for row, color, label in zip(x, colors, y, strict=True))
    table = ["data=csv", f"data.path={tmp_path / 'table.csv'}", "data.target=label", "model=mlp_small"]
    process, run_dir = train_on(tmp_path, *table, "callbacks.slice_accuracy.column=color", "trainer.max_epochs=2",
                                "data.batch_size=16", *FAST)
    assert process.returncode == 0, process.stdout[-2000:] + process.stderr[-3000:]
    metrics = read_metrics(run_dir)
    data = CsvData(path=str(tmp_path / "table.csv"), target="label")  # the split train.py used (split_seed 0)
    test_colors = data.raw_columns["color"][data.indices["test"].numpy()]
    counts = {color: int((test_colors == color).sum()) for color in ("red", "green", "blue")}
    assert all(counts.values()) and not any(key.startswith("test/slice/class_") for key in metrics), (counts, metrics)
    weighted = sum(metrics[f"test/slice/color={color}/acc"] * n for color, n in counts.items()) / sum(counts.values())
    assert abs(weighted - metrics["test/acc"]) < 1e-6, (weighted, metrics)

    process, run_dir = train_on(tmp_path / "bad", *table, "callbacks.slice_accuracy.column=colour", *FAST)
    assert_refused(process, run_dir, "callbacks.slice_accuracy.column=colour", "Its columns are: a, b, c, color, label")
