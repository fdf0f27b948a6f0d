"""How fast a bad config value fails: wall time of `python train.py <bad value>`.

The target for a bad value is under 2 seconds, well before torch and lightning would load
(~4 s). A misspelled key is found after the targets are imported (torch, lightning: a few
seconds), still before any data is loaded. Prints one line per bad value and the time of
`python train.py --cfg job` (compose only) beside them, measured with OMP_NUM_THREADS=1.
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BAD = ["optimizer.lr=0", "regularization.dropout=1.0", "regularization.weight_decay=-1",
       "model.activation=swish", "optimizer.betas=[0.9,1.0]", "data.fraction=1.5", "model=huge",
       "seed=abc", "data.val_fraction=0", "optimized_metric=val/accuracy", "trainer.devices=0"]
MISSPELLED = ["+optimizer.learning_rate=0.1", "augmentation=light augmentation.rotation.degrees=abc"]


def wall_time(*overrides: str) -> tuple[float, int]:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT / "src"))
    with tempfile.TemporaryDirectory() as run_dir:
        start = time.perf_counter()
        process = subprocess.run([sys.executable, str(ROOT / "train.py"), f"hydra.run.dir={run_dir}", *overrides],
                                 env=env, capture_output=True, text=True)
        return time.perf_counter() - start, process.returncode


if __name__ == "__main__":
    compose, _ = wall_time("--cfg", "job")
    print(f"{'compose only (--cfg job)':55s} {compose:5.2f} s")
    for override in BAD + MISSPELLED:
        seconds, code = wall_time(*override.split())
        print(f"{override:55s} {seconds:5.2f} s  exit {code}")
