"""Train: `python train.py [group=option] [key=value ...]` (see README.md)."""

import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from {{cookiecutter.package_name}}.core.command_line import command_line_problem
from {{cookiecutter.package_name}}.runs import failures
from {{cookiecutter.package_name}}.runs.run_folder import new_folder, run_name
{%- if cookiecutter.__with_sweeps == "yes" %}
from {{cookiecutter.package_name}}.sweeps.finish_sweep import continue_earlier_attempt, sweep_to_finish_problem
from {{cookiecutter.package_name}}.sweeps.launcher_extras import missing_launcher_plugin
{%- endif %}
{%- if cookiecutter.__with_workflow == "yes" %}
from {{cookiecutter.package_name}}.workflow.note_quoting import note_problem
{%- endif %}

OmegaConf.register_new_resolver("new_folder", new_folder, use_cache=True)  # a new run folder: configs/hydra/
OmegaConf.register_new_resolver("run_name", run_name)  # its readable name: the overrides, shortened


@hydra.main(config_path="configs", config_name="train", version_base="1.3")
def main(cfg: DictConfig) -> float | None:
{%- if cookiecutter.__with_sweeps == "yes" %}
    cfg = continue_earlier_attempt(cfg)  # finishing a sweep (hydra.sweep.dir=): what this job left (sweeps/finish_sweep.py)
{%- endif %}
    return failures.report(validate_and_train, cfg)  # a failure: one message and an exit code (runs/failures.py)


def validate_and_train(cfg: DictConfig) -> float:
    from {{cookiecutter.package_name}}.core.ddp_strategy import check_ddp_strategy
{%- if cookiecutter.__with_sweeps == "yes" %}
    from {{cookiecutter.package_name}}.sweeps.threads_per_job import limit_threads_per_job
{%- endif %}
    from {{cookiecutter.package_name}}.validation import validate
{%- if cookiecutter.__with_workflow == "yes" %}
    from {{cookiecutter.package_name}}.workflow.reproduce import reproduce_config

    cfg = reproduce_config(cfg)  # reproduce=<run dir>: that run's config, in a new folder (workflow/reproduce.py)
{%- endif %}
    validate(cfg)  # before torch and lightning load (seconds): bad values fail at once
    check_ddp_strategy(cfg)  # ddp_spawn would keep the callbacks' state in other processes
{%- if cookiecutter.__with_sweeps == "yes" %}
    limit_threads_per_job()  # jobs side by side (hydra/launcher=joblib, ...) share the cores
{%- endif %}
{%- if cookiecutter.__with_stages == "yes" %}
    from {{cookiecutter.package_name}}.stages.ladder import ladder_folder, run_ladder

    ladder = ladder_folder(cfg)
    if ladder is not None:  # stages=ladder, or resume=<ladder folder>: a ladder of runs (stages/ladder.py)
        return run_ladder(cfg, ladder)
{%- endif %}
    from {{cookiecutter.package_name}}.run import train

    return train(cfg)


if __name__ == "__main__":
    arguments, configs = sys.argv[1:], Path(__file__).parent / "configs"
    message = command_line_problem(arguments, configs, "train")  # a Hydra-level mistake (model=huge, trainer.max_epoch=3)
{%- if cookiecutter.__with_workflow == "yes" %}
    message = message or note_problem(arguments)  # note=it's, which Hydra's lexer needs quoted (workflow/note_quoting.py)
{%- endif %}
{%- if cookiecutter.__with_sweeps == "yes" %}
    # hydra/launcher=joblib or sweep=random without the [sweeps] extra; another command line given a sweep's folder
    message = missing_launcher_plugin(arguments) or sweep_to_finish_problem(arguments) or message
{%- endif %}
    if message:
        print(message, file=sys.stderr)
        sys.exit(2)
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM stopped a sweep (failures.report): 130 or 143
        sys.exit(failures.exit_code or 130)
    sys.exit(failures.exit_code)
