"""Do checkpoint ensembles pay? 3 seeds of the default training, clean and with 30% label noise.

    python benchmarks/ensembles.py [--seeds 0 1 2] [--noise 0.3] [extra train.py overrides ...]

Prints, per regime, accuracy and NLL on the test set (mean ± std over seeds) of the best
single checkpoint, the top-k soft and hard votes, the weight average, and the cross-run
ensemble of the seeds' best checkpoints. Targets (figures, not asserts): with label noise
the best ensemble row >= 2 points above the best single checkpoint; on clean data no row
more than 0.3 points below it, and a lower NLL.
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
ROWS = ("single", "soft", "hard", "weight_average")


def sweep(folder: Path, seeds: list[int], noise: float, extra: list[str]) -> list[dict]:
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    command = [sys.executable, str(ROOT / "train.py"), "-m", f"seed={','.join(map(str, seeds))}",
               f"data.label_noise={noise}", f"hydra.sweep.dir={folder}", f"paths.log_dir={folder}",
               "~callbacks.progress_bar", "~callbacks.model_summary", *extra]
    process = subprocess.run(command, env=env, capture_output=True, text=True)
    if process.returncode != 0:
        sys.exit(f"error: the sweep failed:\n{process.stderr[-3000:]}")
    return [json.loads((folder / str(i) / "metrics.json").read_text()) for i in range(len(seeds))]


def mean_std(values: list[float]) -> str:
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.4f} ± {std:.4f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--noise", type=float, default=0.3)
    args, extra = parser.parse_known_args()
    sys.path.insert(0, str(ROOT / "src"))
    from {{cookiecutter.package_name}}.ensembles.ensemble import evaluate

    with tempfile.TemporaryDirectory() as tmp:
        for name, noise in [("clean", 0.0), (f"label_noise={args.noise}", args.noise)]:
            folder = Path(tmp) / f"noise{noise}"
            runs = sweep(folder, args.seeds, noise, extra)
            [(cross, _)] = evaluate(folder)  # one group: the jobs differ only in seed
            print(f"\n{name}: {len(runs)} seeds, test set")
            print(f"  {'':16s} {'acc (mean ± std)':>18s} {'nll (mean ± std)':>18s}")
            best = {}
            for row in ROWS:
                accs = [r[f"ensemble/{row}/acc"] for r in runs]
                nlls = [r[f"ensemble/{row}/nll"] for r in runs]
                best[row] = statistics.mean(accs), statistics.mean(nlls)
                print(f"  {row:16s} {mean_std(accs):>18s} {mean_std(nlls):>18s}")
            for row in ("cross_run_soft", "cross_run_hard"):
                best[row] = cross[row]["acc"], cross[row]["nll"]
                print(f"  {row:16s} {cross[row]['acc']:>18.4f} {cross[row]['nll']:>18.4f}")
            single_acc, single_nll = best.pop("single")
            gain = max(acc for acc, _ in best.values()) - single_acc
            worst = min(acc for acc, _ in best.values()) - single_acc
            lower_nll = [row for row, (_, nll) in best.items() if nll < single_nll]
            print(f"  best ensemble row - best single: {100 * gain:+.2f} points; worst row: {100 * worst:+.2f} "
                  f"points; rows with lower NLL than single: {', '.join(lower_nll) or 'none'}")


if __name__ == "__main__":
    main()
