"""How long does the default `python check.py` take? Target: under 30 s wall on 2 cores.

Runs the real command (no batch-size finder) `--repeats` times in a subprocess with
OMP_NUM_THREADS fixed, and prints the wall time beside the floor every command pays
(`import lightning, hydra`), then each check's own seconds from checks.json.

    python benchmarks/check_speed.py [--repeats 2] [--threads 1]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def wall(command: list[str], env: dict) -> float:
    start = time.perf_counter()
    process = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if process.returncode not in (0, 1):  # 1: a check failed, still a complete run
        sys.exit(process.stdout[-2000:] + process.stderr[-2000:])
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])

    floor = min(wall([sys.executable, "-c", "import lightning, hydra"], env) for _ in range(args.repeats))
    with tempfile.TemporaryDirectory() as tmp:
        runs = []
        for repeat in range(args.repeats):
            run_dir = Path(tmp) / f"check{repeat}"
            runs.append(wall([sys.executable, "check.py", f"hydra.run.dir={run_dir}"], env))
        report = json.loads((run_dir / "checks.json").read_text())

    print(f"python check.py (default, OMP_NUM_THREADS={args.threads}): "
          f"best {min(runs):.1f} s, runs {', '.join(f'{r:.1f}' for r in runs)} s wall (target < 30 s)")
    print(f"import lightning, hydra (the floor of every command): {floor:.1f} s")
    for verdict in report["checks"]:
        print(f"  {verdict['check']:<20s} {verdict['status']:<5s} {verdict['seconds']:6.2f} s")
    print(f"  {'all checks':<20s} {'':<5s} {sum(v['seconds'] for v in report['checks']):6.2f} s")


if __name__ == "__main__":
    main()
