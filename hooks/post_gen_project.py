"""Remove what the answers switched off; nothing else.

Each feature room left out takes with it what ROOM_FILES lists (its package, tests, docs page,
configs, commands). Lines of shared files (configs/train.yaml, run.py, README.md, pyproject.toml ...)
were already left out when the template was rendered (an if block on `cookiecutter.__with_<room>`).
"""

import shutil
from pathlib import Path

PACKAGE = Path("src") / "{{ cookiecutter.package_name }}"

ROOM_FILES = {
    "checks": [PACKAGE / "checks", "tests/checks", "docs/checks.md", "check.py", "configs/check.yaml",
               "benchmarks/check_speed.py"],
    "diagnostics": [PACKAGE / "diagnostics", "tests/diagnostics", "docs/diagnostics.md",
                    "configs/experiment/learning_curve.yaml", "benchmarks/diagnostics_overhead.py"],
    "ensembles": [PACKAGE / "ensembles", "tests/ensembles", "docs/ensembles.md", "configs/callbacks/ema.yaml",
                  "configs/experiment/snapshot_ensemble.yaml", "benchmarks/ensembles.py", "eval.py"],
    "curriculum": [PACKAGE / "curriculum", "tests/curriculum", "docs/curriculum.md", "configs/curriculum",
                   "benchmarks/curriculum.py"],
    "stages": [PACKAGE / "stages", "tests/stages", "docs/stages.md", "configs/stages"],
    "pseudo_labels": [PACKAGE / "pseudo_labels", "tests/pseudo_labels", "docs/pseudo_labels.md",
                      "benchmarks/pseudo_labels.py"],
    "sweeps": [PACKAGE / "sweeps", "tests/sweeps", "docs/sweeps.md", "configs/sweep", "configs/hydra/launcher",
               "src/hydra_plugins", "configs/experiment/scale_10x.yaml", "benchmarks/sweep_speed.py"],
    "workflow": [PACKAGE / "workflow", "tests/workflow", "docs/workflow.md", "worklog.py", "ideas.py", "ideas.yaml"],
}
INCLUDED = {
    "checks": "{{ cookiecutter.__with_checks }}",
    "diagnostics": "{{ cookiecutter.__with_diagnostics }}",
    "ensembles": "{{ cookiecutter.__with_ensembles }}",
    "curriculum": "{{ cookiecutter.__with_curriculum }}",
    "stages": "{{ cookiecutter.__with_stages }}",
    "pseudo_labels": "{{ cookiecutter.__with_pseudo_labels }}",
    "sweeps": "{{ cookiecutter.__with_sweeps }}",
    "workflow": "{{ cookiecutter.__with_workflow }}",
}


def remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


for room, included in INCLUDED.items():
    if included != "yes":
        for path in ROOM_FILES[room]:
            remove(Path(path))

if "{{ cookiecutter.license }}" == "none":
    Path("LICENSE").unlink()
