"""check.py's advice runs when pasted into bash (moved from tests/core/test_printed_commands.py): the
learning rate the LR range test suggests is printed as a train.py command on the same setup."""

import json
import os
import re
import subprocess
import sys

import yaml

from conftest import FAST, ROOT, when_room

# `=` and `,` (in the note and the list), a list value and an experiment; tiny and quick
SETUP = ["experiment=example", "model=tiny", "model.blocks=[1,1]", 'note="a=b, c"', "data.subset=200",
         "trainer.max_epochs=1", "baselines=false", "ensemble.k=0",
         *when_room("diagnostics", "callbacks.diagnostics.every_n_steps=0"), *FAST]


def bash(command: str, timeout: int = 600):
    """`command` run by bash in the project, with `python` the interpreter of these tests."""
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT / "src"),
               PATH=os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]))
    return subprocess.run(["bash", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def printed_train_commands(process) -> list[str]:
    """The `python train.py ...` commands check.py prints at the end of a line (`train with it: ...`)."""
    return re.findall(r"^train with it: (python train\.py .+)$", process.stdout, re.MULTILINE)


def test_the_learning_rate_advice_of_check_py_runs_as_printed(tmp_path):
    process = bash(" ".join(["python check.py", *(f"'{o}'" for o in SETUP), f"paths.log_dir={tmp_path}",
                             "'check.only=[lr_range_test]'"]))
    assert process.returncode == 0, process.stderr[-3000:]
    lr = re.search(r"suggested learning rate: optimizer.lr=(\S+)", process.stdout).group(1)
    [advice] = printed_train_commands(process)
    assert advice.endswith(f"optimizer.lr={lr}") and "check." not in advice, advice
    again = bash(advice)
    assert again.returncode == 0, again.stderr[-3000:]
    [run_dir] = sorted(p for p in (tmp_path / "runs").iterdir() if p.is_dir())
    config = yaml.safe_load((run_dir / ".hydra" / "config.yaml").read_text())
    assert config["optimizer"]["lr"] == float(lr) and config["model"]["blocks"] == [1, 1]
    assert json.loads((run_dir / "metrics.json").read_text())
