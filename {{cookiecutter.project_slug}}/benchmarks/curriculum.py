"""Does a curriculum pay? none / easy_to_hard / self_paced, 3 seeds, with 40% label noise and clean.

    python benchmarks/curriculum.py [--seeds 0 1 2] [--noise 0.4] [--options none,easy_to_hard,self_paced]
                                    [extra train.py overrides ...]

Every run is the default training (best-validation checkpoint, the default selection) with
`curriculum=<option>`. Prints, per regime and option, test accuracy (and validation accuracy,
the one to tune on) as mean ± std over the seeds, and the difference to `none`. Targets
(figures, not asserts): under label noise the best curriculum row >= 3 points above `none`;
on clean data no worse than 0.3 points below it.
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


def sweep(folder: Path, seeds: list[int], noise: float, option: str, extra: list[str]) -> list[dict]:
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    command = [sys.executable, str(ROOT / "train.py"), "-m", f"seed={','.join(map(str, seeds))}",
               f"curriculum={option}", f"data.label_noise={noise}", f"hydra.sweep.dir={folder}",
               f"paths.log_dir={folder}", "~callbacks.progress_bar", "~callbacks.model_summary", *extra]
    process = subprocess.run(command, env=env, capture_output=True, text=True)
    if process.returncode != 0:
        sys.exit(f"error: the sweep {option} (label_noise={noise}) failed:\n{process.stderr[-3000:]}")
    return [json.loads((folder / str(i) / "metrics.json").read_text()) for i in range(len(seeds))]


def mean_std(values: list[float]) -> str:
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{100 * statistics.mean(values):5.1f} ± {100 * std:3.1f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--noise", type=float, default=0.4)
    parser.add_argument("--options", default="none,easy_to_hard,self_paced", help="comma-separated rows")
    args, extra = parser.parse_known_args()
    with tempfile.TemporaryDirectory() as tmp:
        for name, noise in [(f"label_noise={args.noise}", args.noise), ("clean", 0.0)]:
            print(f"\n{name}: {len(args.seeds)} seeds, accuracy in % (mean ± std){' ' + ' '.join(extra) if extra else ''}")
            print(f"  {'curriculum':14s} {'test acc':>11s} {'vs none':>8s} {'val acc':>11s}")
            baseline = None
            for option in args.options.split(","):
                runs = sweep(Path(tmp) / f"{noise}-{option}", args.seeds, noise, option, extra)
                test = [r["test/acc"] for r in runs]
                baseline = statistics.mean(test) if option == "none" else baseline
                delta = f"{100 * (statistics.mean(test) - baseline):+8.1f}" if baseline is not None else ""
                print(f"  {option:14s} {mean_std(test):>11s} {delta:>8s} {mean_std([r['val/acc'] for r in runs]):>11s}",
                      flush=True)


if __name__ == "__main__":
    main()
