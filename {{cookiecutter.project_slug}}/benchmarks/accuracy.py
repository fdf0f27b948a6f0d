"""Test accuracy of the default configuration over seeds 0, 1, 2, beside non-deep-learning
baselines (scikit-learn) on exactly the same splits.

    python benchmarks/accuracy.py [train.py overrides ...]

Seed N is a real `python train.py seed=N data.split_seed=N` run: both the training seed and
the train/val/test split change with N, so one lucky split does not decide the comparison.
The baselines are fit on the same training set and scored on the same test set, per seed.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

SEEDS = (0, 1, 2)


def network_accuracy(seed: int, overrides: list[str], out: Path) -> float:
    run_dir = out / f"seed{seed}"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), f"seed={seed}", f"data.split_seed={seed}", f"hydra.run.dir={run_dir}",
         "~callbacks.progress_bar", *overrides],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )
    if result.returncode != 0:
        sys.exit(f"train.py seed={seed} failed:\n{result.stderr[-3000:]}")
    return json.loads((run_dir / "metrics.json").read_text())["test/acc"]


def baseline_accuracies(split_seed: int) -> dict[str, float]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import SVC

    from {{cookiecutter.package_name}}.core.data import DigitsData

    data = DigitsData(split_seed=split_seed)  # the split train.py used for this seed
    (x_train, y_train), (x_test, y_test) = data.split_tensors("train"), data.split_tensors("test")
    x_train, y_train, x_test, y_test = x_train.flatten(1).numpy(), y_train.numpy(), x_test.flatten(1).numpy(), y_test.numpy()
    models = {
        "logistic regression": LogisticRegression(max_iter=5000),
        "RBF SVC (gamma=0.001, C=10)": SVC(gamma=0.001 * 16**2, C=10),  # gamma for pixels 0..16, ours are /16
    }
    return {name: model.fit(x_train, y_train).score(x_test, y_test) for name, model in models.items()}


def main():
    overrides = sys.argv[1:]
    rows = {f"network (train.py {' '.join(overrides)})".replace(" )", ")"): []}
    with tempfile.TemporaryDirectory() as out:
        for seed in SEEDS:
            rows[next(iter(rows))].append(network_accuracy(seed, overrides, Path(out)))
            for name, accuracy in baseline_accuracies(seed).items():
                rows.setdefault(name, []).append(accuracy)
    print(f"test accuracy over seeds {SEEDS} (each seed its own stratified split):")
    for name, accuracies in rows.items():
        print(f"  {name:<34s} {statistics.mean(accuracies):.4f} ± {statistics.stdev(accuracies):.4f}   "
              f"({', '.join(f'{a:.4f}' for a in accuracies)})")
    print("target: network mean >= 0.99 and above the SVC")


if __name__ == "__main__":
    main()
