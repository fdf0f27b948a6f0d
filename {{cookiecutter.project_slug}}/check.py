"""Sanity checks before training: `python check.py [overrides]` (docs/checks.md).

Takes the same overrides as train.py and checks exactly that setup; exits 1 if any check FAILs.
"""

import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from {{cookiecutter.package_name}}.core.command_line import command_line_problem
from {{cookiecutter.package_name}}.runs import failures
from {{cookiecutter.package_name}}.runs.run_folder import new_folder

OmegaConf.register_new_resolver("new_folder", new_folder, use_cache=True)  # a new folder: configs/check.yaml


@hydra.main(config_path="configs", config_name="check", version_base="1.3")
def main(cfg: DictConfig) -> None:
    return failures.report(validate_and_check, cfg)  # a failure: one message and an exit code (runs/failures.py)


def validate_and_check(cfg: DictConfig) -> None:
    from {{cookiecutter.package_name}}.validation import validate

    validate(cfg)  # before torch and lightning load (seconds): bad values fail at once
    from {{cookiecutter.package_name}}.checks.checks import FAIL, run_checks

    failed = [verdict.check for verdict in run_checks(cfg) if verdict.status == FAIL]
    if failed:
        raise failures.RunFailed(f"{len(failed)} check(s) FAILED: {', '.join(failed)} (see the table above).")


if __name__ == "__main__":
    if message := command_line_problem(sys.argv[1:], Path(__file__).parent / "configs", "check"):  # model=huge, ...
        print(message, file=sys.stderr)
        sys.exit(2)
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM stopped a sweep (failures.report): 130 or 143
        sys.exit(failures.exit_code or 130)
    sys.exit(failures.exit_code)
