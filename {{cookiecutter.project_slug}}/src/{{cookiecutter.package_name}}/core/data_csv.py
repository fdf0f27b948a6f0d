"""A CSV table as data (`data=csv`): one row per example, a named target column.

Numeric columns are standardized with the TRAINING split's mean and std only (computed in
`normalize`, after the split: validation and test rows never leak into them); other columns
are one-hot encoded over their sorted values; a text column with more distinct values than
`max_categories` (an id, a name, free text) is refused before encoding, naming it and how to
leave it out (`data.drop_columns`): its one-hot block would grow with rows x values (a 0.9 MB
table with an id column took 9.8 GB). Memory stays linear in rows, and a large table says how
far its reading has got. Labels may be integers or strings (the classes
are the sorted distinct values, their names kept). Missing cells (empty, NA, N/A, NaN, null,
None, ?) fail, are dropped or are imputed, as `missing` says, with a printed count.

Read with Python's csv module and numpy: the project does not need pandas. Everything a new
table needs before prediction goes into `preprocessing` (stored in checkpoints), and
`read_new_csv` applies it.
"""

import csv
import gc
import time
from pathlib import Path

import numpy as np
import torch

from .data import DataError, Examples, SplitData
from .validate import ConfigError

MISSING = {"", "na", "n/a", "nan", "null", "none", "?"}  # compared lower-cased and stripped
MISSING_CHOICES = ("fail", "drop", "mean")
LARGE_FILE = 20_000_000  # bytes: reading says where it is every few seconds


class CsvData(SplitData):
    """A table: `target` is the label column, every other column (but `drop_columns`) a feature.

    With data.task=regression `target` may name several columns (`data.target=[a,b,c]`): one
    model with an output per column.

    `raw_columns` keeps every column's text values in load()'s order (rows dropped for missing
    values excluded), so `raw_columns[name][data.indices[split]]` gives a split's values.
    """

    def __init__(self, path: str, target: str | list = "target", missing: str = "fail", delimiter: str = ",",
                 drop_columns: list | None = None, max_categories: int = 200, **split_settings):
        if missing not in MISSING_CHOICES:
            raise ConfigError(f"data.missing={missing!r} is not allowed: use one of {', '.join(MISSING_CHOICES)}.")
        if not isinstance(max_categories, int) or isinstance(max_categories, bool) or max_categories < 2:
            raise ConfigError(f"data.max_categories={max_categories!r} is not allowed: a whole number >= 2.")
        self.target_columns = [target] if isinstance(target, str) else [str(t) for t in target]
        if len(self.target_columns) != 1 and (split_settings.get("task") or self.task) != "regression":
            raise ConfigError(f"data.target={self.target_columns} is not allowed: several target columns make a "
                              "multi-output regression (data.task=regression); a classifier takes one label column.")
        self.path, self.missing, self.delimiter = Path(path), missing, delimiter
        self.target = target if isinstance(target, str) else self.target_columns  # as given: named in messages
        self.max_categories = max_categories
        self.drop_columns = list(drop_columns or [])
        if split_settings.get("normalize", "none") != "none":
            print(f"data.normalize={split_settings['normalize']} does not apply to a table: its numeric columns are "
                  "always standardized with the training rows' statistics (ignored)")
        super().__init__(**split_settings)

    def load(self) -> Examples:
        """The table as examples; Python's garbage collector paused meanwhile: millions of cells and no
        reference cycles, which it would scan again and again (a 200k x 50 table reads ~2x faster)."""
        paused = gc.isenabled()
        gc.disable()
        try:
            return self.read_examples()
        finally:
            if paused:
                gc.enable()

    def read_examples(self) -> Examples:
        started = time.monotonic()
        header, rows, lines = read_table(self.path, self.delimiter)
        unknown = [c for c in [*self.target_columns, *self.drop_columns] if c not in header]
        if unknown:
            raise DataError(f"{self.path} has no column {unknown[0]!r} (data.target / data.drop_columns). "
                            f"Its columns are: {', '.join(header)}.")
        features = [c for c in header if c not in self.target_columns and c not in self.drop_columns]
        if not features:
            raise DataError(f"{self.path}: no feature column is left besides the target {self.target!r}.")
        table = dict(zip(header, map(list, zip(*rows, strict=True)), strict=True))  # column by column
        del rows  # one copy of the cells, not two
        numbers = {name: parse_numbers(table[name]) for name in features}  # None: a text column
        keep = self.rows_to_keep(table, numbers, features, lines)
        if not all(keep):
            table = {name: [v for v, k in zip(values, keep, strict=True) if k] for name, values in table.items()}
            numbers = {name: n[np.array(keep)] if n is not None else None for name, n in numbers.items()}

        kept_lines = [n for n, k in zip(lines, keep, strict=True) if k]
        targets = [self.labels(table[name], kept_lines, name) for name in self.target_columns]
        y, class_names = targets[0] if len(targets) == 1 else (torch.stack([t[0] for t in targets], 1), None)
        columns = [column_kind(name, table[name], numbers[name]) for name in features]
        refuse_identifiers(self.path, columns, len(lines), self.max_categories)  # before any one-hot block
        for column in columns:
            count = len(column.get("categories", ()))
            if count > 50 and count > len(lines) / 2:
                print(f"data: column {column['name']!r} has {count} distinct values in {len(lines)} rows: "
                      f"an identifier? Leave it out with data.drop_columns=[{column['name']}]")
        self.columns = columns
        x = np.empty((len(y), sum(len(feature_names(c)) for c in columns)), dtype=np.float64)
        position = 0
        for column in columns:  # written in place: no block-by-block copies of the whole table
            width = len(feature_names(column))
            if column["kind"] == "numeric":
                x[:, position] = numbers[column["name"]]
            else:
                x[:, position : position + width] = one_hot(table[column["name"]], column["categories"])
            position += width
        # each column's text as a compact array, its million small str objects freed one column at a time
        self.raw_columns = {name: np.array(table.pop(name)) for name in list(table)}
        if time.monotonic() - started > 5:
            print(f"data: {self.path}: {len(y)} rows, {x.shape[1]} features, read in {time.monotonic() - started:.0f} s")
        preprocessing = {"kind": "csv", "target": self.target, "delimiter": self.delimiter, "missing": self.missing,
                         "feature_names": [f for c in columns for f in feature_names(c)]}
        return Examples(torch.from_numpy(x), y, class_names=class_names, preprocessing=preprocessing)

    def read_unlabeled(self, path) -> torch.Tensor:
        """data.unlabeled_path: a table without the target column, encoded as predict.py encodes new rows."""
        return read_new_csv(path, self.preprocessing)[1]

    def rows_to_keep(self, table: dict, numbers: dict, features: list, lines: list) -> list:
        """Rows without a target always go (when `missing` allows); missing features per `missing`."""
        no_target = [any(is_missing(table[t][i]) for t in self.target_columns) for i in range(len(lines))]
        gaps = {name: int(np.isnan(numbers[name]).sum()) if numbers[name] is not None
                else sum(map(is_missing, table[name])) for name in features}
        gaps = {name: count for name, count in gaps.items() if count}
        count = sum(gaps.values())
        if self.missing == "fail" and (count or any(no_target)):
            name = next((t for t in self.target_columns if any(map(is_missing, table[t]))), None) or next(iter(gaps))
            first = lines[next(i for i, v in enumerate(table[name]) if is_missing(v))]
            where = ", ".join(f"{n}: {c}" for n, c in gaps.items()) or "none in the features"
            raise DataError(
                f"{self.path} has missing values (column {name!r} first on line {first}; per column: {where}; "
                f"rows without a target: {sum(no_target)}). Set data.missing=drop (leave those rows out) or "
                "data.missing=mean (impute numeric features with the training mean, unknown categories with zeros)."
            )
        keep = [not missing for missing in no_target]
        if self.missing == "drop":
            keep = [k and not any(is_missing(table[n][i]) for n in gaps) for i, k in enumerate(keep)]
        dropped = len(keep) - sum(keep)
        if count or dropped:
            done = "their rows dropped" if self.missing == "drop" else "imputed (numbers: the training mean, categories: none)"
            print(f"data: {count} missing feature value(s) ({', '.join(f'{n}: {c}' for n, c in gaps.items()) or 'none'}):"
                  f" {done}; {dropped} of {len(keep)} rows dropped (data.missing={self.missing})")
        if not any(keep):
            raise DataError(f"{self.path}: no row is left after dropping the rows with missing values.")
        return keep

    def labels(self, values: list, lines: list, target: str) -> tuple[torch.Tensor, list | None]:
        """The column `target` as regression targets, or as class indices and their names (sorted)."""
        if self.task == "regression":
            numbers = parse_numbers(values)
            if numbers is None:
                bad = next(i for i, v in enumerate(values) if parse_number(v) is None)
                raise DataError(
                    f"{self.path}: data.task=regression needs numbers in the target column {target!r}, but "
                    f"line {lines[bad]} has {values[bad]!r}. For class labels use data.task=classification."
                )
            return torch.tensor(numbers, dtype=torch.float32), None
        numbers = parse_numbers(values)
        if numbers is not None and not np.all(numbers == np.round(numbers)):
            example = next(v for v, n in zip(values, numbers, strict=True) if n != round(n))
            raise DataError(
                f"{self.path}: the target column {target!r} holds non-whole numbers (e.g. {example!r}), "
                "not class labels. For a numeric target use data.task=regression."
            )
        keys = numbers.astype(np.int64) if numbers is not None else np.array(values)  # sorted numerically or by text
        classes, y = np.unique(keys, return_inverse=True)
        if len(classes) < 2:
            raise DataError(
                f"{self.path}: the target column {target!r} has a single value ({str(classes[0])!r}) in all "
                f"{len(values)} rows; a classifier needs at least two classes. Is {target!r} the right "
                "column (data.target)?"
            )
        return torch.tensor(y.reshape(-1), dtype=torch.long), [str(c) for c in classes]

    def normalize(self, x: torch.Tensor, train: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """Standardize numeric columns (and impute their gaps) with the training rows' statistics."""
        x, position = x.clone(), 0
        for column in self.columns:
            if column["kind"] == "numeric":
                values = x[train, position]
                known = values[~values.isnan()]
                if len(known) == 0:
                    raise DataError(f"{self.path}: column {column['name']!r} has no value in the training split.")
                mean, std = float(known.mean()), float(known.std(unbiased=False))
                std = std if std > 0 else 1.0  # a constant column stays 0 everywhere
                x[:, position] = ((x[:, position] - mean) / std).nan_to_num(0.0)  # a gap becomes the mean
                column.update(mean=mean, std=std)
            position += len(feature_names(column))
        return x.float(), {"columns": self.columns}


def column_kind(name: str, values: list, numbers: np.ndarray | None) -> dict:
    """{"name", "kind": "numeric"} or {"name", "kind": "categorical", "categories": sorted distinct values}."""
    if numbers is not None:
        return {"name": name, "kind": "numeric"}
    return {"name": name, "kind": "categorical", "categories": sorted({v for v in values if not is_missing(v)})}


def refuse_identifiers(path: Path, columns: list, rows: int, max_categories: int) -> None:
    """DataError naming every text column with more than `max_categories` values, before it is one-hot encoded."""
    many = {c["name"]: len(c["categories"]) for c in columns
            if c["kind"] == "categorical" and len(c["categories"]) > max_categories}
    if many:
        listing = ", ".join(f"{name!r} ({count} distinct values in {rows} rows)" for name, count in many.items())
        raise DataError(
            f"{path}: the text column(s) {listing} have more values than one-hot encoding can hold (at most "
            f"data.max_categories={max_categories}): an id, a name or free text? Leave them out with "
            f"data.drop_columns=[{','.join(many)}] (they stay in the datamodule's raw_columns), or raise "
            "data.max_categories if they really are categories (memory grows with rows x values)."
        )


def read_table(path: Path, delimiter: str) -> tuple[list, list, list]:
    """(header, rows, line number of each row): every row as long as the header, blank lines skipped."""
    if not path.is_file():
        raise DataError(f"data.path={path}: no such file ({path.resolve()}). Give the path of a CSV table, "
                        "e.g. `python train.py data=csv data.path=data/table.csv data.target=label`.")
    large, shown = path.stat().st_size > LARGE_FILE, time.monotonic()
    if large:
        print(f"data: reading {path} ({path.stat().st_size / 1e6:.0f} MB) ...", flush=True)
    with open(path, newline="", encoding="utf-8-sig") as file:  # utf-8-sig: drops the BOM spreadsheets write
        reader = csv.reader(file, delimiter=delimiter)
        header, rows, lines = None, [], []
        for row in reader:
            if not "".join(row).strip():  # a blank line (or only delimiters)
                continue
            if header is None:
                header = [cell.strip() for cell in row]
                width = len(header)
                twice = sorted({name for name in header if header.count(name) > 1})
                if twice:
                    raise DataError(f"{path}: the header names the column(s) {twice} more than once; rename them.")
                continue
            if len(row) != width:
                raise DataError(f"{path}, line {reader.line_num}: {len(row)} fields where the header has {width} "
                                f"(delimiter {delimiter!r}: set data.delimiter if the table uses another).")
            rows.append(list(map(str.strip, row)))
            lines.append(reader.line_num)
            if large and len(rows) % 20000 == 0 and time.monotonic() - shown > 5:
                shown = time.monotonic()
                print(f"data: ... {len(rows)} rows read ({file.buffer.tell() / path.stat().st_size:.0%})", flush=True)
    if large:
        print(f"data: {len(rows)} rows read; encoding them ...", flush=True)
    if header is None or not rows:
        raise DataError(f"{path} is empty ({'no header' if header is None else 'a header but no rows'}): "
                        "a table needs a header row and one row per example.")
    return header, rows, lines


def is_missing(value: str) -> bool:
    return value.strip().lower() in MISSING


def parse_number(value: str) -> float | None:
    if is_missing(value):
        return float("nan")
    try:
        return float(value)
    except ValueError:
        return None


def parse_numbers(values: list) -> np.ndarray | None:
    """The column as float64 (NaN where missing), or None if any present value is not a number."""
    try:  # numpy parses a column of plain numbers at C speed
        numbers = np.array(values, dtype=np.float64)
        return None if np.isnan(numbers).all() else numbers
    except ValueError:  # a gap (empty, NA, ?) or a word: the careful way, cell by cell
        pass
    numbers = [parse_number(v) for v in values]
    if any(n is None for n in numbers) or all(is_missing(v) for v in values):
        return None
    return np.array(numbers, dtype=np.float64)


def one_hot(values: list, categories: list) -> np.ndarray:
    """One column per category; a missing or unknown value is all zeros."""
    position = {c: i for i, c in enumerate(categories)}
    encoded = np.zeros((len(values), len(categories)), dtype=np.float64)
    for row, value in enumerate(values):
        if value in position:
            encoded[row, position[value]] = 1.0
    return encoded


def feature_names(column: dict) -> list:
    if column["kind"] == "numeric":
        return [column["name"]]
    return [f"{column['name']}={c}" for c in column["categories"]]


def read_new_csv(path, preprocessing: dict, id_column: str | None = None) -> tuple[list, torch.Tensor]:
    """A new table -> (ids, model inputs), with the training run's recorded preprocessing.

    Statistics and categories come from `preprocessing` (never recomputed from the new table);
    the target column may be absent. ids: the values of `id_column`, else row numbers 0, 1, ...
    """
    path = Path(path)
    header, rows, lines = read_table(path, preprocessing["delimiter"])
    columns = preprocessing["columns"]
    absent = [c["name"] for c in columns if c["name"] not in header]
    if absent or (id_column is not None and id_column not in header):
        raise DataError(f"{path} lacks the column(s) {absent or [id_column]}. The model expects the columns: "
                        f"{', '.join(c['name'] for c in columns)}; the table has: {', '.join(header)}.")
    blocks, unknown = [], {}
    for column in columns:
        values = [row[header.index(column["name"])] for row in rows]
        if column["kind"] == "categorical":
            blocks.append(one_hot(values, column["categories"]))
            new = sorted({v for v in values if v not in column["categories"] and not is_missing(v)})
            if new:
                unknown[column["name"]] = new
            continue
        numbers = [parse_number(v) for v in values]
        for i, number in enumerate(numbers):
            if number is None or (np.isnan(number) and preprocessing["missing"] != "mean"):
                raise DataError(
                    f"{path}, line {lines[i]}: column {column['name']!r} holds {values[i]!r}, the model expects a "
                    f"number" + ("" if number is None else " (it was trained with data.missing="
                                 f"{preprocessing['missing']}: no imputation)") + "."
                )
        numbers = (np.array(numbers, dtype=np.float64) - column["mean"]) / column["std"]
        blocks.append(np.nan_to_num(numbers, nan=0.0)[:, None])  # a gap becomes the training mean
    for name, values in unknown.items():
        print(f"predict: column {name!r} has values unseen in training, encoded as none: {values[:5]}")
    ids = [row[header.index(id_column)] for row in rows] if id_column is not None else list(range(len(rows)))
    return ids, torch.tensor(np.concatenate(blocks, axis=1), dtype=torch.float32)
