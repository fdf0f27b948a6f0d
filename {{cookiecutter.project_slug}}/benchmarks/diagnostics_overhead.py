"""What do the diagnostics cost? Training steps/s with them off, at the default interval, every step.

    OMP_NUM_THREADS=1 python benchmarks/diagnostics_overhead.py [--epochs 30] [--repeats 3] [overrides ...]

All three settings train the default configuration (plus your overrides) in this one process,
interleaved and repeated, with validation and checkpointing off so that only training steps are
timed; the figure is the best steps/s of each (other load only slows runs down) and its ratio
to "off", and the extra cost of one logging step spread over the default interval.
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


class TrainingClock:
    """Seconds spent in training epochs (validation excluded)."""

    def __init__(self):
        import lightning as L

        class Clock(L.Callback):
            def on_train_epoch_start(clock, trainer, pl_module):
                clock.start = time.perf_counter()

            def on_train_epoch_end(clock, trainer, pl_module):
                self.seconds += time.perf_counter() - clock.start

        self.seconds = 0.0
        self.callback = Clock()


def steps_per_second(cfg, every_n_steps: int | None) -> float:
    import lightning as L
    from hydra.utils import instantiate

    from {{cookiecutter.package_name}}.run import build_data_and_module

    L.seed_everything(cfg.seed, verbose=False)
    data, module = build_data_and_module(cfg)
    clock = TrainingClock()
    callbacks = [clock.callback]
    if every_n_steps is not None:
        callbacks.append(instantiate(cfg.callbacks.diagnostics, every_n_steps=every_n_steps))
    loggers = [instantiate(c) for c in cfg.logger.values()]
    trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers, enable_checkpointing=False,
                          default_root_dir=cfg.paths.run_dir,
                          limit_val_batches=0, enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(module, datamodule=data)
    return trainer.global_step / clock.seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()

    import warnings

    from hydra import compose, initialize_config_dir

    warnings.filterwarnings("ignore")
    with tempfile.TemporaryDirectory() as run_dir, initialize_config_dir(str(ROOT / "configs"), version_base="1.3"):
        cfg = compose("train", overrides=[f"paths.run_dir={run_dir}", f"trainer.max_epochs={args.epochs}",
                                          *args.overrides])
        default = cfg.callbacks.diagnostics.every_n_steps
        settings = {"off": None, f"every {default} steps (default)": default, "every step": 1}
        results = {name: [] for name in settings}
        steps_per_second(cfg, None)  # warm-up (first-call costs), not counted
        for _ in range(args.repeats):  # interleaved, so that a change in machine load hits all three
            for name, every in settings.items():
                results[name].append(steps_per_second(cfg, every))
    # Best of the runs: other processes on the machine only ever slow a run down.
    off = max(results["off"])
    print(f"diagnostics overhead: {args.epochs} epochs, best of {args.repeats} runs, "
          f"model={cfg.model.width}x{list(cfg.model.blocks)}, batch {cfg.data.batch_size}")
    for name, values in results.items():
        best = max(values)
        print(f"  {name:32s} {best:7.1f} steps/s   {best / off:5.3f}x of off   "
              f"(median {statistics.median(values) / statistics.median(results['off']):5.3f}x; "
              f"runs: {', '.join(f'{v:.0f}' for v in values)})")
    # Less sensitive to machine load than the ratio above: the cost of one logging step,
    # measured at every step, spread over `default` steps.
    logging_step = 1 / max(results["every step"]) - 1 / off
    print(f"  one logging step costs {1000 * logging_step:.1f} ms more than a plain step "
          f"({1000 / off:.1f} ms): at every {default} steps that is "
          f"{100 * logging_step / default * off:.1f}% of training time")


if __name__ == "__main__":
    main()
