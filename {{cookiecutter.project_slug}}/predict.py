"""Predict: `python predict.py <run folder | checkpoint.ckpt> <file.npz | table.csv | image | image folder>`.

Writes predictions.csv (or --out): id, predicted class, confidence and one p_<class> column per
class; for regression `value` (value_0, value_1, ... for several targets). The new inputs get
the preprocessing recorded with the model at training time. A run folder: its best checkpoint,
or with --ensemble the mean of its top-k. Exit codes: 1 model or file not usable, 2 the input
does not fit the model (the message says what it expects). Checkpoints load with weights_only=True.
"""

import argparse
import sys

from {{cookiecutter.package_name}}.core.validate import checkpoint_count  # light: no torch

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("model", help="a run folder (its best checkpoint) or a .ckpt file")
parser.add_argument("input", help="an .npz, a .csv, an image file (.png/.jpg) or a folder of images")
parser.add_argument("--out", default="predictions.csv", help="the CSV to write (default predictions.csv)")
parser.add_argument("--ensemble", action="store_true", help="mean of the run's top-k checkpoints")
parser.add_argument("--k", type=checkpoint_count, default=3, help="checkpoints in the ensemble (default 3)")
parser.add_argument("--id-column", default=None, help="a table's column to use as id (default: row numbers)")


def main() -> None:
    args = parser.parse_args()
    from pathlib import Path

    if args.ensemble and Path(args.model).is_file():
        parser.error(f"--ensemble combines the checkpoints of a run: give the run folder, not {args.model}")
    from {{cookiecutter.package_name}}.core.validate import ConfigError
    from {{cookiecutter.package_name}}.runs.checkpoints import CheckpointError
    from {{cookiecutter.package_name}}.runs.predict import predict

    try:
        summary = predict(args.model, args.input, args.out, args.ensemble, args.k, args.id_column)
    except ConfigError as error:  # DataError: the input does not fit the model
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    except (CheckpointError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    print(summary)


if __name__ == "__main__":
    main()
