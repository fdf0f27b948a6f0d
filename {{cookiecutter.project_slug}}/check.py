"""Sanity checks before training: `python check.py [overrides]` (README: "Before you train").

Takes the same overrides as train.py and checks exactly that setup; exits 1 if any check FAILs.
"""

import sys

import hydra
from omegaconf import DictConfig


@hydra.main(config_path="configs", config_name="check", version_base="1.3")
def main(cfg: DictConfig) -> None:
    from {{cookiecutter.package_name}}.validate import validate_or_exit

    validate_or_exit(cfg)  # before torch and lightning load (seconds): bad values fail at once
    from {{cookiecutter.package_name}}.checks import FAIL, run_checks

    verdicts = run_checks(cfg)
    if any(verdict.status == FAIL for verdict in verdicts):
        sys.exit(1)


if __name__ == "__main__":
    main()
