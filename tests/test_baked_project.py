"""The baked project's own test suite passes: real training runs, in this environment."""

import subprocess
import sys

from conftest import project_env


def test_baked_project_test_suite_passes(default_project):
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=default_project, env=project_env(default_project), capture_output=True, text=True, timeout=3600,
    )
    print(result.stdout[-5000:])
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-3000:]
