"""DDP inside a sweep (`python train.py -m seed=0,1 trainer=ddp ...`): each job starts its own processes.

For DDP Lightning starts the other processes by running this script's command line again (with LOCAL_RANK
set). In a single run that is right; inside `-m` that command line is the whole sweep, so rank 1 would re-run
every job (Lightning issue 11300). `trainer.strategy=ddp_spawn` avoids that but trains in processes it starts
for each trainer.fit/test/validate, and the callbacks' state stays there: this process could not say why
training stopped, nor fail on a NaN (core/ddp_strategy.py refuses it). So in a sweep each DDP job starts
its processes once, here, and each runs the whole job (`train(cfg)`) as one rank of a plain `ddp` run:
Lightning joins them instead of launching (LOCAL_RANK is set: its documented way to start processes yourself).
A cluster that starts the processes itself (SLURM with one task per device, torchrun) needs none of this.
Our own code: neither Hydra nor Lightning starts the processes of one job of a sweep.
"""

import logging.config
import os

from omegaconf import DictConfig, OmegaConf

from ..core.ddp_strategy import ddp_processes_to_start


def train_in_own_processes(train, cfg: DictConfig) -> float:
    """Start the job's DDP processes, each running `train(cfg)`; wait; return rank 0's result."""
    import torch.multiprocessing as mp
    from hydra.core.hydra_config import HydraConfig
    from lightning.fabric.plugins.environments.lightning import find_free_network_port

    count = ddp_processes_to_start(cfg)
    environment = {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(find_free_network_port()),
                   "WORLD_SIZE": str(count), "NODE_RANK": "0"}
    cfg = OmegaConf.create(OmegaConf.to_container(cfg, resolve=True))  # `${hydra:...}` resolves only here
    hydra = HydraConfig.instance().cfg  # for code that reads the job's Hydra settings (resume=)
    log_config = OmegaConf.to_container(HydraConfig.get().job_logging, resolve=True)  # this job's train.log
    results = mp.get_context("spawn").SimpleQueue()
    mp.start_processes(run_rank, args=(train, cfg, hydra, log_config, environment, results),
                       nprocs=count, start_method="spawn")  # a failed process fails the job, with its error
    return results.get()


def run_rank(local_rank: int, train, cfg, hydra, log_config, environment: dict, results) -> None:
    """One of the job's processes: join the job's DDP group as `local_rank` and run the whole job."""
    from hydra.core.hydra_config import HydraConfig

    os.environ.update(environment, LOCAL_RANK=str(local_rank))
    HydraConfig.instance().set_config(hydra)
    logging.config.dictConfig(log_config)
    result = train(cfg)
    if local_rank == 0:
        results.put(result)
