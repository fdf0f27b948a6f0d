"""Which `trainer.strategy` a run can use: one whose processes all run this script (ddp), not spawned ones.

For DDP Lightning starts the other processes by running the same command line again (with LOCAL_RANK
set): each runs the whole run and the callbacks' state lives in every one of them. `ddp_spawn` (and
fork, notebook) instead trains in processes started for each trainer.fit/test/validate, and the
callbacks' state stays there: this process could not say why training stopped, nor fail on a NaN
(it printed "training ran all 0 epochs"). Checked before torch loads.
Inside `-m` that command line is the whole sweep, so Lightning's rank 1 would re-run the jobs (Lightning
issue 11300): a job of a sweep must start its DDP processes itself (`ddp_processes_to_start`).
"""

import os

from omegaconf import DictConfig

from .validate import ConfigError

# Strategies whose launcher trains in processes started for each trainer call (spawn or fork).
IN_CHILD_PROCESSES = ("spawn", "fork", "notebook")


def check_ddp_strategy(cfg: DictConfig) -> None:
    """Refuse strategies that would train in other processes than the one that reads the results."""
    strategy = cfg.trainer.get("strategy")
    if isinstance(strategy, str) and any(word in strategy for word in IN_CHILD_PROCESSES):
        raise ConfigError(
            f"trainer.strategy={strategy} is not supported: it trains in processes started for every "
            "trainer.fit/test/validate, and the run's summary (why training stopped, a NaN stop, the fit "
            "diagnosis) is read in this process, which would not see them. Use trainer=ddp (strategy ddp): "
            "`python train.py trainer=ddp trainer.accelerator=cpu trainer.devices=2`."
        )


def ddp_processes_to_start(cfg: DictConfig) -> int:
    """How many processes this job must start itself: `trainer.devices` for DDP inside a sweep, else 0."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    trainer = cfg.trainer
    if "LOCAL_RANK" in os.environ or trainer.get("strategy") != "ddp" or int(trainer.get("num_nodes") or 1) != 1:
        return 0  # already a DDP process, or not plain single-node DDP
    if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.MULTIRUN:
        return 0  # a single run: Lightning re-runs `python train.py <the same overrides>`, which is right
    from lightning.fabric.plugins.environments import SLURMEnvironment, TorchElasticEnvironment

    if SLURMEnvironment.detect() or TorchElasticEnvironment.detect():
        return 0  # the cluster starts one process per device
    count = device_count(trainer.get("accelerator", "auto"), trainer.get("devices", "auto"))
    return count if count > 1 else 0


def device_count(accelerator, devices) -> int:
    """What Lightning makes of `trainer.devices`: a number, a list of ids, or auto / -1 (all GPUs; on CPU
    auto is 1 process and -1 one per core)."""
    if isinstance(devices, str) and devices.strip().lstrip("-").isdigit():
        devices = int(devices)
    if isinstance(devices, int) and devices > 0:
        return devices
    if not isinstance(devices, (str, int)):
        return len(devices)  # a list of device ids
    import torch

    if accelerator in ("gpu", "cuda", "auto") and torch.cuda.is_available():
        return torch.cuda.device_count()
    return 1 if devices == "auto" else os.cpu_count() or 1


def refuse_ddp_in_a_sweep(cfg: DictConfig) -> None:
    """DDP inside `-m` in a project without the sweeps room (which starts a job's processes): a clear error."""
    if ddp_processes_to_start(cfg):
        raise ConfigError(
            f"trainer.strategy=ddp with {ddp_processes_to_start(cfg)} processes inside a sweep (-m) is not supported "
            "here: Lightning starts the other processes by running the command line again, which is the whole "
            "sweep. Run the jobs one by one as single runs (`python train.py trainer=ddp seed=0`, then seed=1, ...), "
            "or leave out trainer=ddp in the sweep (a project baked with the sweeps room starts each job's processes)."
        )
