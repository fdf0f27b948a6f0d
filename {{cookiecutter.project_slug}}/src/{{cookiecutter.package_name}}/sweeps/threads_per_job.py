"""Jobs that run side by side share the cores: each job's torch uses its share of them, not all.

torch starts one thread per core in every process. Two jobs of a sweep on two cores would then
run four busy threads that slow each other down, and the sweep would barely beat running its jobs
one after another. So each job of a parallel launcher limits torch to the cores it was given:
  joblib (`hydra/launcher=joblib`):        the machine's cores // n_jobs (n_jobs=-1: every core)
  submitit (`hydra/launcher=slurm`, ...):  cpus_per_task, the cores SLURM reserves for the job
  ray (`hydra/launcher=ray_cluster`):      ray.remote.num_cpus, the cores Ray reserves for the job
Sequential sweeps and single runs keep torch's default (or OMP_NUM_THREADS if set).
Our own code: no launcher tells torch how many threads to use.
"""

import logging
import os

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

log = logging.getLogger(__name__)


def limit_threads_per_job() -> None:
    """torch.set_num_threads(this job's share of the cores) when a parallel launcher runs the sweep."""
    if not HydraConfig.initialized():
        return
    hydra = HydraConfig.get()
    threads = threads_for_launcher(hydra.launcher, usable_cores())
    if threads is None:
        return
    import torch

    torch.set_num_threads(threads)
    log.info(f"job {hydra.job.get('num')}: process {os.getpid()} trains with {threads} torch thread(s)"
             f" ({usable_cores()} cores, launcher {hydra.runtime.choices.get('hydra/launcher')})")


def threads_for_launcher(launcher: DictConfig, cores: int) -> int | None:
    """How many threads one job may use under this launcher config; None: not a parallel launcher."""
    target = str(launcher.get("_target_", ""))
    if "hydra_joblib_launcher" in target:
        n_jobs = int(launcher.get("n_jobs") or 1)
        if n_jobs < 0:  # joblib's convention: -1 all cores, -2 all but one, ...
            n_jobs = max(1, cores + 1 + n_jobs)
        return max(1, cores // n_jobs)
    if "hydra_submitit_launcher" in target:
        return launcher.get("cpus_per_task")  # None: the scheduler decides, torch keeps its default
    if "hydra_ray_launcher" in target:
        num_cpus = (launcher.get("ray") or {}).get("remote", {}).get("num_cpus")
        return None if num_cpus is None else max(1, int(num_cpus))
    return None


def usable_cores() -> int:
    """The cores this process may run on (a container's or taskset's limit), else all of them."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
