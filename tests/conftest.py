"""Bake the template with the real cookiecutter command line, into temporary folders."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

TEMPLATE = Path(__file__).resolve().parents[1]


def bake(output_dir: Path, **answers: str) -> subprocess.CompletedProcess:
    """`cookiecutter --no-input <template> key=value ...` into output_dir."""
    extra = [f"{key}={value}" for key, value in answers.items()]
    return subprocess.run(
        [sys.executable, "-m", "cookiecutter", "--no-input", "-o", str(output_dir), str(TEMPLATE), *extra],
        capture_output=True, text=True, timeout=120,
    )


def project_env(project: Path) -> dict:
    """Environment in which the baked project's package imports without a pip install."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(project / "src"), env.get("PYTHONPATH", "")])
    return env


@pytest.fixture(scope="session")
def default_project(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("default")
    result = bake(out)
    assert result.returncode == 0, result.stderr
    return out / "my_project"
