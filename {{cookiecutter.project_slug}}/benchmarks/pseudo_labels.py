"""Do pseudo-labels pay when labels are scarce? 100 labelled digits, the rest of the training set unlabelled.

    python benchmarks/pseudo_labels.py [--seeds 0 1 2] [--labelled 100] [--rounds 2] [--threshold 0.95]
                                       [extra train.py overrides ...]

Seed N is one `python train.py seed=N data.split_seed=N data.unlabeled_fraction=<f>
pseudo_label.rounds=<R>` run: the split, the labelled examples and the training seed all change
with N. `f` hides all but about `--labelled` training labels (stratified: the same number per
class). Prints, per round, test accuracy (mean ± std over seeds), how many pseudo-labels were
added and how many of them were right; round 0 is the model trained on the labelled examples
only, and the RBF SVC on those same examples is shown for scale. Expectation (a figure, not an
assert): the last round 1-2 points above round 0. Measured (3 rounds, `data.batch_size=16
optimizer.lr=0.003`): 90.5 -> 92.4 -> 95.5 -> 96.6%, +6.0 ± 0.9 points; with the defaults round 0
is not confident enough (80%) and no pseudo-label reaches 0.95: +0.0.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def hidden_fraction(split_seed: int, labelled: int) -> tuple[float, int]:
    """(unlabeled_fraction that leaves about `labelled` labelled examples, how many it leaves)."""
    from {{cookiecutter.package_name}}.core.data import DigitsData

    fraction = 1 - labelled / len(DigitsData(split_seed=split_seed).indices["train"])
    return fraction, len(DigitsData(split_seed=split_seed, unlabeled_fraction=fraction).indices["train"])


def run(seed: int, fraction: float, rounds: int, threshold: float, extra: list[str], out: Path) -> dict:
    run_dir = out / f"seed{seed}"
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    command = [sys.executable, str(ROOT / "train.py"), f"seed={seed}", f"data.split_seed={seed}",
               f"data.unlabeled_fraction={fraction}", f"pseudo_label.rounds={rounds}",
               f"pseudo_label.threshold={threshold}", f"hydra.run.dir={run_dir}", f"paths.log_dir={out}",
               "~callbacks.progress_bar", "~callbacks.model_summary", *extra]
    process = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if process.returncode != 0:
        sys.exit(f"error: train.py seed={seed} failed:\n{process.stderr[-3000:]}")
    return json.loads((run_dir / "metrics.json").read_text())


def mean_std(values: list[float], scale: float = 100.0, digits: int = 2) -> str:
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{scale * statistics.mean(values):.{digits}f} ± {scale * std:.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--labelled", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threshold", type=float, default=0.95)
    args, extra = parser.parse_known_args()
    sys.path.insert(0, str(ROOT / "src"))

    runs, counts = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            fraction, labelled = hidden_fraction(seed, args.labelled)
            counts.append(labelled)
            runs.append(run(seed, fraction, args.rounds, args.threshold, extra, Path(tmp)))
            r = runs[-1]
            print(f"seed {seed}: {labelled} labelled, {r['pseudo/unlabeled']:.0f} unlabelled; test/acc per round "
                  + " ".join(f"{r[f'pseudo/round_{i}/test_acc']:.4f}" for i in range(args.rounds + 1)), flush=True)

    print(f"\n{len(runs)} seeds, {min(counts)}-{max(counts)} labelled digits, the rest of the training set "
          f"unlabelled; threshold {args.threshold}; extra overrides: {' '.join(extra) or 'none'}")
    print(f"  {'':28s} {'test acc % (mean ± std)':>24s} {'added':>14s} {'correct %':>14s}")
    print(f"  {'RBF SVC, labelled only':28s} {mean_std([r['baseline/svc_acc'] for r in runs]):>24s}"
          if all("baseline/svc_acc" in r for r in runs) else "")
    for i in range(args.rounds + 1):
        accuracy = mean_std([r[f"pseudo/round_{i}/test_acc"] for r in runs])
        if i == 0:
            print(f"  {'round 0 (labelled only)':28s} {accuracy:>24s} {'':>14s} {'':>14s}")
            continue
        added = mean_std([r[f"pseudo/round_{i}/added"] for r in runs], scale=1, digits=0)
        fractions = [r[f"pseudo/round_{i}/correct_fraction"] for r in runs if r[f"pseudo/round_{i}/added"] > 0]
        correct = mean_std(fractions) if fractions else "none added"
        print(f"  {f'round {i} (+ pseudo-labels)':28s} {accuracy:>24s} {added:>14s} {correct:>14s}")
    gains = [r[f"pseudo/round_{args.rounds}/test_acc"] - r["pseudo/round_0/test_acc"] for r in runs]
    print(f"  last round - round 0: {mean_std(gains)} points (per seed: "
          + ", ".join(f"{100 * g:+.2f}" for g in gains) + ")")


if __name__ == "__main__":
    main()
