"""The config check every entry script calls first: the core's groups, then each feature room's own keys.

The rules live beside what they check: core/validate.py (the core's groups, and the steps:
references, unknown keys, values, then what needs torch) and `<room>/config.py` for each
feature room of this project. Nothing here imports torch: a bad value fails in a second.
"""

from omegaconf import DictConfig

# the core, and the rooms this project has (a room left out at bake time has no line here)
{%- if cookiecutter.__with_checks == "yes" %}
from .checks.config import baseline_problems
{%- endif %}
from .core import validate as core
{%- if cookiecutter.__with_curriculum == "yes" %}
from .curriculum.config import curriculum_problems
{%- endif %}
{%- if cookiecutter.__with_ensembles == "yes" %}
from .ensembles.config import ensemble_problems
{%- endif %}
{%- if cookiecutter.__with_pseudo_labels == "yes" %}
from .pseudo_labels.config import pseudo_label_problems
{%- endif %}
{%- if cookiecutter.__with_sweeps == "yes" %}
from .sweeps.config import sweep_problems
{%- endif %}
{%- if cookiecutter.__with_workflow == "yes" %}
from .workflow.config import workflow_problems
{%- endif %}

ConfigError = core.ConfigError  # what `validate` raises


def validate(cfg: DictConfig) -> None:
    """Raise ConfigError (one paragraph, exit code 2) naming every bad value, before any work."""
    core.validate(cfg, room_problems)


def room_problems(cfg: DictConfig) -> list[str]:
    """Each feature room's check of its own keys (`<room>/config.py`): one sentence per bad value."""
    problems = []
{%- if cookiecutter.__with_checks == "yes" %}
    problems += baseline_problems(cfg)
{%- endif %}
{%- if cookiecutter.__with_curriculum == "yes" %}
    problems += curriculum_problems(cfg)
{%- endif %}
{%- if cookiecutter.__with_ensembles == "yes" %}
    problems += ensemble_problems(cfg)
{%- endif %}
{%- if cookiecutter.__with_pseudo_labels == "yes" %}
    problems += pseudo_label_problems(cfg)
{%- endif %}
{%- if cookiecutter.__with_sweeps == "yes" %}
    problems += sweep_problems(cfg)
{%- endif %}
{%- if cookiecutter.__with_workflow == "yes" %}
    problems += workflow_problems(cfg)
{%- endif %}
    return problems
