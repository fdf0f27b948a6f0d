"""Commands the project prints, collected from its output and run by bash exactly as printed."""

import os
import re
import subprocess
import sys

from conftest import ROOT

COMMAND = re.compile(r"`((?:python|tensorboard) [^`]+)`|(?:^|: )((?:python \w+\.py|tensorboard) [^`]*?)\.?$")


def bash(command: str, timeout: int = 600):
    """`command` run by bash in the project, with `python` the interpreter of these tests."""
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT / "src"),
               PATH=os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]))
    return subprocess.run(["bash", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def printed(process) -> list[str]:
    """Every command line in a process's output (a line that ends in one, or one in backticks)."""
    found = []
    for line in (process.stdout + process.stderr).splitlines():
        for match in COMMAND.finditer(line):
            found.append(match.group(1) or match.group(2))
    return list(dict.fromkeys(found))


def one(process, starts: str) -> str:
    commands = [c for c in printed(process) if c.startswith(starts)]
    assert len(commands) == 1, (commands, process.stdout[-3000:], process.stderr[-3000:])
    return commands[0]


def words(command: str) -> list[str]:
    """The words bash gives the program of `command` (its quoting undone by bash itself), the program left out."""
    process = bash("printf '%s\\n' " + command.split(" ", 1)[1])
    assert process.returncode == 0, process.stderr
    return process.stdout.splitlines()
