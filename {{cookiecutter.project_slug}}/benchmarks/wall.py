"""Wall time of the default run against a plain PyTorch script that does the same work.

`python train.py` (the default config, as a user runs it) and `benchmarks/plain_script.py`
(the same model, data split, optimizer, schedule, batch size and epochs, validation every
epoch, the best weights tested at the end, metrics to JSON), each a fresh process,
interleaved, after one warm-up round (the OS file cache, and the baselines' cache that every
run after the first on a split uses); the median of the measured rounds and their ratio
(target <= 1.5). Ours pays for what the plain script lacks: Lightning, Hydra, checkpoints,
TensorBoard, diagnostics, ensembles, the headline.

    OMP_NUM_THREADS=1 python benchmarks/wall.py [--rounds 3] [train.py overrides ...]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(command: list[str], env: dict) -> float:
    start = time.perf_counter()
    process = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{process.stdout[-2000:]}\n{process.stderr[-2000:]}")
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args, overrides = parser.parse_known_args()
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"),
               PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    with tempfile.TemporaryDirectory() as logs:
        ours = [sys.executable, "train.py", f"paths.log_dir={logs}", *overrides]
        plain = [sys.executable, "benchmarks/plain_script.py", str(Path(logs) / "plain_metrics.json")]
        print(f"threads: {env['OMP_NUM_THREADS']}; warm-up round (not measured) ...", flush=True)
        timed(ours, env), timed(plain, env)
        times = {"plain script": [], "python train.py": []}
        for round_ in range(args.rounds):
            times["plain script"].append(timed(plain, env))
            times["python train.py"].append(timed(ours, env))
            print(f"round {round_ + 1}: plain {times['plain script'][-1]:.2f} s, "
                  f"train.py {times['python train.py'][-1]:.2f} s", flush=True)
    median = {name: statistics.median(values) for name, values in times.items()}
    for name, value in median.items():
        print(f"{name:>16s}: {value:6.2f} s (median of {args.rounds})")
    print(f"ratio train.py / plain script: {median['python train.py'] / median['plain script']:.2f}  (target <= 1.5)")


if __name__ == "__main__":
    main()
