"""Training throughput: this project's Lightning setup against a plain PyTorch loop.

Both sides train the default model on the default data with the same optimizer, schedule
and batch size for the same number of steps, and both run the validation pass after every
epoch; ours also logs to TensorBoard and checkpoints as the default config does (progress
bar off). Both run in one process, alternating, three times each; the best run of each
side is kept (timings on a shared machine are noisy). Steps/s are given by wall time and
by the process's CPU time (less sensitive to other load on the machine).

    OMP_NUM_THREADS=1 python benchmarks/overhead.py [--epochs 30] [--repeats 3] [train.py overrides ...]

Overrides apply to both sides (e.g. `model=medium`); those of callbacks only matter to ours
(e.g. `callbacks.last_checkpoint.every_n_epochs=5`).
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("OMP_NUM_THREADS", "1")  # before torch loads: comparable, repeatable timings
sys.path.insert(0, str(ROOT / "src"))

import lightning as L  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from hydra import compose, initialize_config_dir  # noqa: E402
from hydra.utils import instantiate  # noqa: E402

from {{cookiecutter.package_name}}.core.data import SlicedBatches  # noqa: E402
from {{cookiecutter.package_name}}.core.training import build_trainer  # noqa: E402
from {{cookiecutter.package_name}}.run import build_data_and_module  # noqa: E402

OVERRIDES: list[str] = []  # from the command line: both sides


def config(run_dir: str, epochs: int):
    with initialize_config_dir(config_dir=str(ROOT / "configs"), version_base="1.3"):
        return compose("train", overrides=[
            f"paths.run_dir={run_dir}", f"trainer.max_epochs={epochs}",
            "~callbacks.progress_bar", "~callbacks.model_summary", "+trainer.enable_progress_bar=false", *OVERRIDES,
        ])


def ours(epochs: int) -> tuple[int, float]:
    with tempfile.TemporaryDirectory() as run_dir:
        cfg = config(run_dir, epochs)
        L.seed_everything(cfg.seed, verbose=False)
        data, module = build_data_and_module(cfg)
        trainer = build_trainer(cfg, Path(run_dir))  # the run's own Trainer: callbacks, loggers, atomic checkpoints
        start, cpu = time.perf_counter(), time.process_time()
        trainer.fit(module, datamodule=data)
        return trainer.global_step, time.perf_counter() - start, time.process_time() - cpu


def plain_loop(epochs: int) -> tuple[int, float]:
    """What a researcher writes by hand: same model, data, optimizer, schedule, batch size."""
    with tempfile.TemporaryDirectory() as run_dir:
        cfg = config(run_dir, epochs)
    L.seed_everything(cfg.seed, verbose=False)
    data, module = build_data_and_module(cfg)  # the same model and data objects as ours
    model, batch_size = module.model, cfg.data.batch_size
    (train_x, train_y), (val_x, val_y) = data.split_tensors("train"), data.split_tensors("val")
    steps_per_epoch = len(SlicedBatches(train_x, train_y, batch_size, shuffle=True))
    optimizer = instantiate(cfg.optimizer, model.parameters())
    scheduler = instantiate(cfg.scheduler, optimizer, total_steps=epochs * steps_per_epoch)
    start, cpu, steps = time.perf_counter(), time.process_time(), 0
    for _ in range(epochs):
        model.train()
        for x, y in SlicedBatches(train_x, train_y, batch_size, shuffle=True, seed=steps):
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            steps += 1
        model.eval()
        with torch.no_grad():
            for x, y in SlicedBatches(val_x, val_y, batch_size, shuffle=False):
                F.cross_entropy(model(x), y)
    return steps, time.perf_counter() - start, time.process_time() - cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30, help="30 is the default config's max_epochs")
    parser.add_argument("--repeats", type=int, default=3)
    args, overrides = parser.parse_known_args()
    OVERRIDES.extend(overrides)
    print(f"torch threads: {torch.get_num_threads()}, epochs: {args.epochs}, overrides: {' '.join(overrides) or 'none'}")
    ours(1), plain_loop(1)  # warm up both (thread pools, first-call costs)
    runs = {"plain loop": [], "ours": []}
    for _ in range(args.repeats):
        runs["plain loop"].append(plain_loop(args.epochs))
        runs["ours"].append(ours(args.epochs))
    wall, cpu = {}, {}
    for name, results in runs.items():
        wall[name] = max(steps / seconds for steps, seconds, _ in results)
        cpu[name] = max(steps / cpu_seconds for steps, _, cpu_seconds in results)
        print(f"{name:>12s}: {wall[name]:7.1f} steps/s wall, {cpu[name]:7.1f} steps/s of CPU time "
              f"({results[0][0]} steps, best of {len(results)})")
    print(f"ratio ours / plain loop: {wall['ours'] / wall['plain loop']:.3f} wall, "
          f"{cpu['ours'] / cpu['plain loop']:.3f} CPU time  (target >= 0.9)")


if __name__ == "__main__":
    main()
