"""Train: `python train.py [group=option] [key=value ...]` (see README.md)."""

import hydra
from omegaconf import DictConfig


@hydra.main(config_path="configs", config_name="train", version_base="1.3")
def main(cfg: DictConfig) -> float:
    from {{cookiecutter.package_name}}.ddp_in_sweeps import check_ddp_strategy
    from {{cookiecutter.package_name}}.validate import validate_or_exit

    validate_or_exit(cfg)  # before torch and lightning load (seconds): bad values fail at once
    check_ddp_strategy(cfg)  # ddp_spawn would keep the callbacks' state in other processes
    from {{cookiecutter.package_name}}.run import train

    return train(cfg)


if __name__ == "__main__":
    main()
