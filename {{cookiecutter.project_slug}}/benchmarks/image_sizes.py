"""Does the default CNN fit the input size? Digits upscaled to 16, 32 and 64 px, before and after.

    OMP_NUM_THREADS=1 python benchmarks/image_sizes.py [--sizes 16 32 64] [--sides before after] [--seed 0] [train.py overrides ...]

The 1797 digits (8x8) are written once as PNG files into class folders; `python train.py
data=image_folder data.size=S` (the default run: model=small, 30 epochs, test, baselines) then
upscales them to S px RGB, the TARGETS.md case. Two sides per size, in the same script run so
that a loaded machine weighs on both alike:
  before  model.stem_to=S: the stem does not downsample, i.e. the CNN as it was (one
          downsampling, built for 8x8 digits)
  after   the shipped default (model.stem_to=8: the stem halves the image down to 8 px first)
Each row: test/acc, wall seconds of the whole command, its CPU seconds (user + system: what the
machine's load does not inflate; OMP_NUM_THREADS=1 makes it ~the wall time on a quiet machine), and
the RBF SVC baseline the run itself fits on the same split (baseline/svc_acc in metrics.json).
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def write_digit_folder(folder: Path) -> None:
    """The bundled digits as 8x8 grayscale PNGs, one folder per class (no download)."""
    import numpy as np
    from PIL import Image

    from {{cookiecutter.package_name}}.core.data import load_digits_tensors

    x, y = load_digits_tensors()
    for i, (image, label) in enumerate(zip(x, y, strict=True)):
        (folder / str(int(label))).mkdir(parents=True, exist_ok=True)
        pixels = (image[0].numpy() * 255).clip(0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / str(int(label)) / f"{i:04d}.png")


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(size: int, stem_to: int, seed: int, folder: Path, out: Path, extra: list[str]) -> tuple[dict, float, float]:
    run_dir = out / f"size{size}_stem{stem_to}"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    command = [sys.executable, str(ROOT / "train.py"), "data=image_folder", f"data.path={folder}", f"data.size={size}",
               f"model.stem_to={stem_to}", f"seed={seed}", f"hydra.run.dir={run_dir}", f"paths.log_dir={out}",
               "~callbacks.progress_bar", *extra]
    start, cpu = time.perf_counter(), cpu_seconds()
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    return json.loads((run_dir / "metrics.json").read_text()), seconds, cpu


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[16, 32, 64])
    parser.add_argument("--sides", nargs="+", choices=["before", "after"], default=["before", "after"])
    parser.add_argument("--seed", type=int, default=0)
    args, extra = parser.parse_known_args()
    print("reproduce: OMP_NUM_THREADS=1 python benchmarks/image_sizes.py " + " ".join(sys.argv[1:]))
    print(f"{'size':>5s} {'side':<26s} {'test/acc':>8s} {'wall s':>7s} {'CPU s':>7s} {'SVC':>7s}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "digits"
        write_digit_folder(folder)
        for size in args.sizes:
            for side, stem_to in [(f"before (model.stem_to={size})", size), ("after (default)", 8)]:
                if side.split()[0] not in args.sides:
                    continue
                metrics, seconds, cpu = run(size, stem_to, args.seed, folder, Path(tmp) / "logs", extra)
                print(f"{size:>5d} {side:<26s} {metrics['test/acc']:>8.4f} {seconds:>7.1f} {cpu:>7.1f} "
                      f"{metrics.get('baseline/svc_acc', float('nan')):>7.4f}", flush=True)


if __name__ == "__main__":
    main()
