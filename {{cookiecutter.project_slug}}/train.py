"""Train: `python train.py [group=option] [key=value ...]` (see README.md)."""

import hydra
from omegaconf import DictConfig


@hydra.main(config_path="configs", config_name="train", version_base="1.3")
def main(cfg: DictConfig) -> float:
    from {{cookiecutter.package_name}}.validate import validate_or_exit

    validate_or_exit(cfg)  # before torch and lightning load (seconds): bad values fail at once
    from {{cookiecutter.package_name}}.run import train

    return train(cfg)


if __name__ == "__main__":
    main()
