"""Bake only what you want: the core alone, and the core with each single feature room.

Each such bake must install (import), train, pass the overfitting check and its own fast tier
(`pytest -m "not slow"`: the core's in the core-only bake, the room's in a single-room bake), with nothing of a left-out room behind: no folder, no import, no config
key, no README line or link, no template syntax. The default bake (every room) runs its full suite
in test_baked_project.py.
"""

import json
import subprocess
import sys

import pytest
from conftest import TEMPLATE, bake, project_env
from test_bake import leftover_template_syntax

ROOMS = [key for key, value in json.loads((TEMPLATE / "cookiecutter.json").read_text()).items()
         if value == ["yes", "no"]]


def answers_for(room: str | None) -> dict:
    """core only (room None), or the core with `room` alone."""
    return {"core_only": "yes"} if room is None else {r: "yes" if r == room else "no" for r in ROOMS}


def run(project, *command, timeout=900):
    return subprocess.run([sys.executable, *command], cwd=project, env=dict(project_env(project), OMP_NUM_THREADS="1"),
                          capture_output=True, text=True, timeout=timeout)


def test_the_rooms_are_the_package_folders_beside_the_core(default_project):
    """Every cookiecutter room answer has its folder in the default bake, and every folder is a room or core."""
    folders = {p.name for p in (default_project / "src" / "my_project").iterdir() if (p / "__init__.py").exists()}
    assert folders == set(ROOMS) | {"core", "runs"}
    assert {p.name for p in (default_project / "tests").iterdir() if p.is_dir() and not p.name.startswith((".", "_"))} \
        == set(ROOMS) | {"core"}


@pytest.mark.parametrize("room", [None, *ROOMS], ids=["core_only", *ROOMS])
def test_a_bake_with_one_room_or_none_trains_passes_the_overfit_check_and_its_fast_tier(tmp_path, room):
    result = bake(tmp_path, **answers_for(room))
    assert result.returncode == 0, result.stderr
    project = tmp_path / "my_project"
    assert leftover_template_syntax(project) == []
    left_out = set(ROOMS) - {room}
    package = project / "src" / "my_project"
    assert {p.name for p in package.iterdir() if p.is_dir()} & left_out == set()
    assert {p.name for p in (project / "tests").iterdir() if p.is_dir()} & left_out == set()
    for name in left_out:
        assert not (project / "docs" / f"{name}.md").exists(), name
    lint = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=project, capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr  # no dangling import, no unused one
    imported = run(project, "-c", "import pathlib, importlib; [importlib.import_module('my_project.' + "
                   "'.'.join(p.relative_to('src/my_project').with_suffix('').parts)) for p in "
                   "pathlib.Path('src/my_project').rglob('*.py') if p.name != '__init__.py']")
    assert imported.returncode == 0, imported.stderr[-3000:]

    trained = run(project, "train.py", "trainer.max_epochs=1", "~callbacks.progress_bar")
    assert trained.returncode == 0, trained.stdout[-2000:] + trained.stderr[-3000:]
    [run_dir] = (project / "logs" / "runs").iterdir()
    assert "test/acc" in json.loads((run_dir / "metrics.json").read_text())
    overfit = run(project, "train.py", "model=small", "data=tiny", "~callbacks.progress_bar")
    assert overfit.returncode == 0 and "PASSED" in overfit.stdout, overfit.stdout[-2000:] + overfit.stderr[-2000:]

    # its own fast tier: the core-only bake runs the core's; a single-room bake its room's (the core's fast
    # tier passed in the core-only bake, and the full suite runs in the default bake)
    folder = "tests" if room is None else f"tests/{room}"
    fast = run(project, "-m", "pytest", folder, "-m", "not slow", "-q", "-p", "no:cacheprovider", "-n", "2", timeout=1800)
    assert fast.returncode == 0, fast.stdout[-6000:] + fast.stderr[-2000:]
    assert " passed" in fast.stdout.splitlines()[-1], fast.stdout[-500:]
