"""Cost growth: wall time per epoch and peak memory as the data grows, ours against a plain loop.

Synthetic images with learnable labels (the class is the argmax of a fixed random projection
of the pixels): 1x, 10x and 100x the size of the digits (1797 examples of 1x8x8) and 50k
examples of 3x32x32 (CIFAR-sized), saved as .npz files and read by this project's `data=npz`.
Four sides, each case and side in a fresh process (peak memory = that process's max RSS):
  ours        train.py's Lightning setup as shipped (logging, checkpoints, diagnostics), the
              in-memory path (data.in_memory=true, the default)
  ours_loader the same with data.in_memory=false (a Dataset and a DataLoader)
  plain       a plain PyTorch loop over slices of in-memory tensors
  plain_loader a plain loop over torch's DataLoader (TensorDataset), the same num_workers
Same model (the default ResNet), batch size 64, optimizer and schedule on every side; an
epoch is training plus validation. The first epoch is a warm-up and not timed. Targets: ours
linear in N (seconds per 1000 examples flat across sizes) and within 1.15x of the plain loop;
the DataLoader path within 1.3x of the plain DataLoader loop.

    OMP_NUM_THREADS=1 python benchmarks/scaling.py [--cases 1x 10x 100x cifar] [--epochs 2]
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
CASES = {"1x": (1797, (1, 8, 8)), "10x": (17970, (1, 8, 8)), "100x": (179700, (1, 8, 8)), "cifar": (50000, (3, 32, 32))}
SIDES = ("plain", "ours", "plain_loader", "ours_loader")


def make_data(path: Path, count: int, shape: tuple) -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.random((count, *shape), dtype=np.float32)
    projection = rng.standard_normal((int(np.prod(shape)), 10)).astype(np.float32)
    y = (x.reshape(count, -1) - 0.5) @ projection
    np.savez(path, x=x, y=y.argmax(1))


def measure(side: str, path: str, epochs: int) -> dict:
    """In this process: seconds of each epoch after the first, the number of training examples, peak RSS."""
    sys.path.insert(0, str(ROOT / "src"))
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import lightning as L
    from hydra import compose, initialize_config_dir
    from hydra.utils import instantiate

    with tempfile.TemporaryDirectory() as run_dir:
        with initialize_config_dir(config_dir=str(ROOT / "configs"), version_base="1.3"):
            cfg = compose("train", overrides=[
                "data=npz", f"data.path={path}", f"data.in_memory={side != 'ours_loader'}",
                f"paths.run_dir={run_dir}", f"trainer.max_epochs={epochs + 1}",
                "~callbacks.progress_bar", "~callbacks.model_summary", "+trainer.enable_progress_bar=false",
            ])
        from {{cookiecutter.package_name}}.run import build_data_and_module

        L.seed_everything(cfg.seed, verbose=False)
        data, module = build_data_and_module(cfg)
        starts = []
        if side.startswith("ours"):
            class EpochStarts(L.Callback):
                def on_train_epoch_start(self, trainer, pl_module):
                    starts.append(time.perf_counter())

            callbacks = [instantiate(c) for c in cfg.callbacks.values()] + [EpochStarts()]
            loggers = [instantiate(c) for c in cfg.logger.values()]
            trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers, default_root_dir=run_dir)
            trainer.fit(module, datamodule=data)
        else:
            plain_loop(cfg, data, module, epochs + 1, side == "plain_loader", starts)
        starts.append(time.perf_counter())
        seconds = [b - a for a, b in zip(starts[1:-1], starts[2:], strict=True)]
        return {"seconds_per_epoch": sum(seconds) / len(seconds), "train_examples": len(data.indices["train"]),
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def plain_loop(cfg, data, module, epochs: int, loader: bool, starts: list) -> None:
    """What a researcher writes by hand, on the same model, split, optimizer and schedule."""
    import torch
    import torch.nn.functional as F
    from hydra.utils import instantiate
    from plain_script import train_epoch  # the plain script's loop (this folder is on sys.path)
    from torch.utils.data import DataLoader, TensorDataset

    model, batch = module.model, cfg.data.batch_size
    (train_x, train_y), (val_x, val_y) = data.split_tensors("train"), data.split_tensors("val")

    def batches(x, y, shuffle):
        if loader:
            return DataLoader(TensorDataset(x, y), batch_size=batch, shuffle=shuffle, num_workers=cfg.data.num_workers)
        order = torch.randperm(len(y)) if shuffle else torch.arange(len(y))
        return ((x[order[i : i + batch]], y[order[i : i + batch]]) for i in range(0, len(y), batch))

    optimizer = instantiate(cfg.optimizer, model.parameters())
    scheduler = instantiate(cfg.scheduler, optimizer, total_steps=epochs * -(-len(train_y) // batch))
    for _ in range(epochs):
        starts.append(time.perf_counter())
        train_epoch(model, batches(train_x, train_y, shuffle=True), optimizer, scheduler)
        model.eval()
        with torch.no_grad():
            for x, y in batches(val_x, val_y, shuffle=False):
                F.cross_entropy(model(x), y)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs, after one warm-up epoch")
    parser.add_argument("--worker", nargs=3, metavar=("SIDE", "NPZ", "EPOCHS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        side, path, epochs = args.worker
        print(json.dumps(measure(side, path, int(epochs))))
        return
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    print(f"threads: {env['OMP_NUM_THREADS']}; {args.epochs} timed epochs after a warm-up; batch 64; default ResNet")
    print(f"{'case':>6s} {'side':>13s} {'train N':>8s} {'s/epoch':>8s} {'s/1k ex':>8s} {'peak MB':>8s} {'vs plain':>9s}")
    with tempfile.TemporaryDirectory() as folder:
        for case in args.cases:
            count, shape = CASES[case]
            path = Path(folder) / f"{case}.npz"
            make_data(path, count, shape)
            results = {}
            for side in SIDES:
                process = subprocess.run([sys.executable, __file__, "--worker", side, str(path), str(args.epochs)],
                                         env=env, capture_output=True, text=True)
                if process.returncode != 0:
                    print(f"{case} {side} failed:\n{process.stderr[-2000:]}")
                    continue
                results[side] = json.loads(process.stdout.strip().splitlines()[-1])
                r = results[side]
                reference = results.get("plain_loader" if side.endswith("loader") else "plain")
                ratio = r["seconds_per_epoch"] / reference["seconds_per_epoch"] if reference else float("nan")
                print(f"{case:>6s} {side:>13s} {r['train_examples']:8d} {r['seconds_per_epoch']:8.2f} "
                      f"{1000 * r['seconds_per_epoch'] / r['train_examples']:8.3f} {r['peak_rss_mb']:8.0f} {ratio:9.2f}",
                      flush=True)
            path.unlink()
    print("targets: s/1k ex flat across sizes; ours / plain <= 1.15; ours_loader / plain_loader <= 1.3")


if __name__ == "__main__":
    main()
