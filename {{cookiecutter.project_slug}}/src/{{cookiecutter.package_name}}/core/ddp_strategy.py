"""Which `trainer.strategy` a run can use: one whose processes all run this script (ddp), not spawned ones.

For DDP Lightning starts the other processes by running the same command line again (with LOCAL_RANK
set): each runs the whole run and the callbacks' state lives in every one of them. `ddp_spawn` (and
fork, notebook) instead trains in processes started for each trainer.fit/test/validate, and the
callbacks' state stays there: this process could not say why training stopped, nor fail on a NaN
(it printed "training ran all 0 epochs"). Checked before torch loads.
"""

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
