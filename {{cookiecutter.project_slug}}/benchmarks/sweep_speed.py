"""Sweep speed: the same 8-job sweep run sequentially (Hydra's default) and with joblib, n_jobs=2.

Both run `python train.py -m seed=0..7 ...` on tiny data (the tiny model, 500 digits, a few epochs)
as a user would, one after the other in this one run. Reports the wall-clock ratio parallel /
sequential (target <= 0.65 on 2 cores) and where the time goes: each job's own time (from Hydra
writing its `.hydra/config.yaml` to its `metrics.json`) and what is left per job, the overhead of
Hydra and the launcher (starting Python, importing torch and lightning, composing the jobs'
configs, starting joblib's worker processes). Both sweeps give torch every core (OMP_NUM_THREADS);
in the parallel one each job then limits itself to its share (sweeps/threads_per_job.py). On a machine
that other work keeps busy the ratio moves towards 1: run it on a quiet machine.

    python benchmarks/sweep_speed.py [--jobs 8] [--n-jobs 2] [--epochs 5]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from {{cookiecutter.package_name}}.sweeps.threads_per_job import usable_cores  # noqa: E402


def sweep(folder: Path, jobs: int, epochs: int, *launcher: str) -> tuple[float, list[float]]:
    """Run the sweep; its wall-clock seconds and each job's own seconds."""
    command = [sys.executable, str(ROOT / "train.py"), "-m", f"seed={','.join(map(str, range(jobs)))}",
               "model=tiny", "data.subset=500", f"trainer.max_epochs={epochs}", "baselines=false", "ensemble.k=0",
               "~callbacks.progress_bar", "~callbacks.model_summary", f"hydra.sweep.dir={folder}",
               f"paths.log_dir={folder}", *launcher]
    environment = dict(os.environ, PYTHONPATH=str(ROOT / "src"), OMP_NUM_THREADS=str(usable_cores()))
    start = time.perf_counter()
    process = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if process.returncode != 0:
        sys.exit(f"the sweep failed ({' '.join(launcher) or 'sequential'}):\n{process.stderr[-3000:]}")
    job_seconds = [(folder / str(job) / "metrics.json").stat().st_mtime
                   - (folder / str(job) / ".hydra" / "config.yaml").stat().st_mtime for job in range(jobs)]
    return wall, job_seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--n-jobs", type=int, default=2, help="joblib's n_jobs: jobs running at once")
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    cores = usable_cores()
    print(f"{args.jobs} jobs, {args.epochs} epochs each, {cores} cores, load average {os.getloadavg()[0]:.2f}")
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        results["sequential"] = sweep(Path(folder, "sequential"), args.jobs, args.epochs)
        results[f"joblib n_jobs={args.n_jobs}"] = sweep(
            Path(folder, "joblib"), args.jobs, args.epochs, "hydra/launcher=joblib", f"hydra.launcher.n_jobs={args.n_jobs}")
    for (name, (wall, job_seconds)), running_at_once in zip(results.items(), (1, args.n_jobs), strict=True):
        # time not spent inside a job, per job: for the parallel sweep counted on every worker
        overhead = (wall * running_at_once - sum(job_seconds)) / args.jobs
        print(f"{name:>16s}: {wall:6.1f} s wall; a job takes {sum(job_seconds) / args.jobs:5.1f} s inside "
              f"(min {min(job_seconds):.1f}, max {max(job_seconds):.1f}); overhead {overhead:5.2f} s per job")
    (sequential, _), (parallel, _) = results.values()
    print(f"wall-clock ratio parallel / sequential: {parallel / sequential:.3f}  (target <= 0.65 on 2 cores); "
          f"load average now {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
