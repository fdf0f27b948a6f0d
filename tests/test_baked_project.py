"""The baked project's own test suite passes: real training runs, in this environment."""

import subprocess
import sys

from conftest import project_env


def test_baked_project_test_suite_passes(default_project, capfd):
    """Streams the inner suite's progress (one line per test) while it runs: it takes minutes.

    On every core (pytest-xdist): each test trains in subprocesses with one thread, so two cores
    run two tests at once; `--dist loadfile` keeps a file's tests (and its shared fixtures) together."""
    command = [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", "--durations=10",
               "-n", "auto", "--dist", "loadfile"]
    lines = []
    with capfd.disabled():
        print(f"\nrunning the baked project's suite in {default_project} ...", flush=True)
        process = subprocess.Popen(command, cwd=default_project, env=project_env(default_project),
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in process.stdout:
            lines.append(line)
            if " PASSED" in line or " FAILED" in line or " ERROR" in line or " SKIPPED" in line or "=====" in line:
                print("  " + line.rstrip()[-150:], flush=True)
        process.wait(timeout=3600)
    assert process.returncode == 0, "".join(lines)[-12000:]
