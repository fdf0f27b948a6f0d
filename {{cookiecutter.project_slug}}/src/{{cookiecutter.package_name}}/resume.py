"""`python train.py resume=<run dir>`: continue a stopped run in its own folder.

Lightning's `fit(ckpt_path="last")` looks in the CURRENT run folder, which Hydra has just
created empty, warns, and trains from scratch. Here the folder is named explicitly, and
a folder without a readable `checkpoints/last.ckpt` is an error, before any work.
The run continues with ITS OWN config (`<run dir>/.hydra/config.yaml`), from the last
epoch boundary: model, optimizer, scheduler, counters, early stopping and checkpoint
state (Lightning), batch order (`SlicedBatches`) and RNG streams (`ExactResume`).
"""

import sys
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from .allowlist import check_targets
from .checkpoints import CheckpointError, read_checkpoint


def resume_run(cfg: DictConfig) -> tuple[DictConfig, str | None]:
    """(config, checkpoint) to train with: the given ones, or those of the run to resume."""
    if not cfg.get("resume"):
        return cfg, None
    try:
        return resume_config(cfg)
    except CheckpointError as error:
        raise SystemExit(f"error: {error}") from None  # one paragraph, exit code 1, nothing trained


def resume_config(cfg: DictConfig) -> tuple[DictConfig, str]:
    run_dir = Path(cfg.resume).resolve()
    checkpoint_path = run_dir / "checkpoints" / "last.ckpt"
    config_path = run_dir / ".hydra" / "config.yaml"
    if not checkpoint_path.is_file() or not config_path.is_file():
        missing = checkpoint_path if not checkpoint_path.is_file() else config_path
        raise CheckpointError(
            f"Cannot resume from resume={cfg.resume}: {missing} does not exist. Give the folder of a run "
            "started by train.py (it holds .hydra/config.yaml and checkpoints/last.ckpt, written at the end "
            "of every epoch). Nothing was trained."
        )
    checkpoint = read_checkpoint(checkpoint_path)  # a truncated file fails here, with a clear message
    original = OmegaConf.load(config_path)
    check_targets(original, config_path)  # everything in it gets built: only allowlisted targets
    original.resume = str(run_dir)
    original.paths.run_dir = str(run_dir)  # not this invocation's new folder
    for logger in (original.get("logger") or {}).values():
        if logger and logger.get("_target_", "").endswith("TensorBoardLogger"):
            # TensorBoard hides the killed run's events from this step on: no duplicated steps
            logger.purge_step = checkpoint["global_step"]
    ignored = [o for o in HydraConfig.get().overrides.task if not o.startswith("resume=")]
    if ignored:
        print(f"note: resuming with the run's own config; ignored overrides: {' '.join(ignored)}", file=sys.stderr)
    print(f"resuming {run_dir} from epoch {checkpoint['epoch']}, step {checkpoint['global_step']}")
    return original, str(checkpoint_path)
