"""The data options on real tables and images: does `data=csv` work out of the box, and does the
image cache pay?

    python benchmarks/own_data.py [train.py overrides ...]

Two of scikit-learn's bundled tables (no download) are written to CSV files: breast cancer
(569 rows, 30 numeric columns, 2 classes) and diabetes (442 rows, 10 columns, a numeric target).
Each is trained with `python train.py data=csv ... experiment=tabular` (the tabular defaults:
configs/experiment/tabular.yaml) for seeds 0, 1, 2 (seed N
changes both the training seed and the split: `seed=N data.split_seed=N`), and its test/acc
(diabetes: test/r2) is set beside the project's own baselines from the same metrics.json
(baseline/*: fitted on the same split). Then ~300 digits are written as PNG files and
`ImageFolderData` is built twice: the first build decodes the files and writes the cache,
the second reads the cache.
"""

import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

SEEDS = (0, 1, 2)
TABLES = {  # name: (scikit-learn loader, train.py overrides, score)
    "breast_cancer": ("load_breast_cancer", [], "acc"),
    "diabetes": ("load_diabetes", ["data.task=regression"], "r2"),
}


def write_table(loader: str, path: Path) -> None:
    """A bundled scikit-learn table as a CSV file, its label in the column `target`."""
    import sklearn.datasets

    bunch = getattr(sklearn.datasets, loader)()
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow([*bunch.feature_names, "target"])
        writer.writerows([*row.tolist(), target] for row, target in zip(bunch.data, bunch.target, strict=True))


def run_metrics(seed: int, overrides: list[str], out: Path) -> dict:
    run_dir = out / f"seed{seed}"
    env = dict(os.environ, OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), f"seed={seed}", f"data.split_seed={seed}", f"hydra.run.dir={run_dir}",
         f"paths.log_dir={out}", "~callbacks.progress_bar", *overrides],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )
    if result.returncode != 0:
        sys.exit(f"train.py {' '.join(overrides)} seed={seed} failed:\n{result.stderr[-3000:]}")
    return json.loads((run_dir / "metrics.json").read_text())


def table_rows(name: str, folder: Path, extra: list[str]) -> None:
    loader, overrides, score = TABLES[name]
    path = folder / f"{name}.csv"
    write_table(loader, path)
    command = ["data=csv", f"data.path={path}", "data.target=target", "experiment=tabular", *overrides, *extra]
    runs = [run_metrics(seed, command, folder / name) for seed in SEEDS]
    rows = {f"network test/{score}": [run[f"test/{score}"] for run in runs]}
    for key in sorted(runs[0]):
        if key.startswith("baseline/") and not key.startswith("baseline/val/") and key.endswith(f"_{score}"):  # test
            rows[key] = [run[key] for run in runs]
    print(f"{name} ({' '.join(overrides) or 'classification'}), seeds {SEEDS}:")
    for label, values in rows.items():
        print(f"  {label:<26s} {statistics.mean(values):.4f} ± {statistics.stdev(values):.4f}   "
              f"({', '.join(f'{v:.4f}' for v in values)})")


def image_cache_times(folder: Path, count: int = 300) -> tuple[float, float]:
    """Seconds to build ImageFolderData on `count` digit PNGs: first (decode, cache) and second (cache)."""
    import numpy as np
    from PIL import Image

    from {{cookiecutter.package_name}}.core.data import load_digits_tensors
    from {{cookiecutter.package_name}}.core.data_images import ImageFolderData

    x, y = load_digits_tensors()
    for i in range(count):
        (folder / str(int(y[i]))).mkdir(parents=True, exist_ok=True)
        Image.fromarray((x[i, 0].numpy() * 255).astype(np.uint8)).save(folder / str(int(y[i])) / f"{i:04d}.png")
    times = []
    for _ in range(2):
        start = time.perf_counter()
        ImageFolderData(path=str(folder), size=8, mode="grayscale")
        times.append(time.perf_counter() - start)
    return times[0], times[1]


def main():
    extra = sys.argv[1:]
    print("reproduce: python benchmarks/own_data.py " + " ".join(extra))
    with tempfile.TemporaryDirectory() as out:
        for name in TABLES:
            table_rows(name, Path(out), extra)
        first, cached = image_cache_times(Path(out) / "digit_images")
    print(f"image folder (300 digit PNGs, 8x8 grayscale): first load {first:.3f} s, cached {cached:.3f} s")


if __name__ == "__main__":
    main()
