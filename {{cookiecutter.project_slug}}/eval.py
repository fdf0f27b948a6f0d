"""Evaluate: `python eval.py <checkpoint.ckpt | run folder | multirun folder> [--k 3]`.

A checkpoint: its test accuracy and NLL (regression: RMSE and R2). A run folder: the best checkpoint beside the
ensembles of its top-k (the table train.py prints). A multirun folder (e.g. seeds): the
cross-run ensemble of the jobs' best checkpoints, one per group of jobs that differ only in
`seed` (`--across seed,optimizer.lr`: in those keys). Checkpoints load with weights_only=True.
"""

import argparse
import sys

from {{cookiecutter.package_name}}.core.validate import checkpoint_count  # light: no torch

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("path", help="a .ckpt file, a run folder, or a multirun folder")
parser.add_argument("--k", type=checkpoint_count, default=3, help="top-k checkpoints of a run to combine (default 3)")
parser.add_argument("--across", default="seed",
                    help="a multirun folder: ensemble the jobs that differ only in these keys (default seed)")


def main() -> None:
    args = parser.parse_args()
    from {{cookiecutter.package_name}}.ensembles.ensemble import evaluate, print_table
    from {{cookiecutter.package_name}}.runs.checkpoints import CheckpointError

    try:
        tables = evaluate(args.path, args.k, tuple(key.strip() for key in args.across.split(",")))
    except (CheckpointError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    for rows, title in tables:
        print_table(rows, title)


if __name__ == "__main__":
    main()
