"""Train: `python train.py [group=option] [key=value ...]` (see README.md)."""

import sys

import hydra
from omegaconf import DictConfig


@hydra.main(config_path="configs", config_name="train", version_base="1.3")
def main(cfg: DictConfig) -> float:
    from {{cookiecutter.package_name}}.validate import ConfigError, validate

    try:
        validate(cfg)  # before torch and lightning load (seconds): bad values fail at once
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    from {{cookiecutter.package_name}}.run import train

    return train(cfg)


if __name__ == "__main__":
    main()
