"""`note=` as Hydra needs it (workflow/note_quoting.py): a note Hydra's lexer cannot read is refused before any
work, with the command retyped so that it runs (moved from tests/core/test_damaged_files.py)."""

import os
import subprocess
import sys

from conftest import FAST, ROOT, run_script

ONE_EPOCH = ["trainer.max_epochs=1", *FAST]


def test_a_note_hydra_cannot_read_is_refused_with_the_command_that_works(tmp_path):
    note = "it's the café \"run\""
    run_dir = tmp_path / "run"
    process = run_script("train.py", "data=tiny", f"note={note}", f"hydra.run.dir={run_dir}", *ONE_EPOCH)
    assert process.returncode == 2, process.stdout[-2000:] + process.stderr[-3000:]
    message = process.stderr.strip()
    assert message.startswith(f"error: note={note} cannot be read by Hydra") and not run_dir.exists()
    retyped = message.split("Retyped so that it runs: ", 1)[1]
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), OMP_NUM_THREADS="1",
               PATH=os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")]))
    done = subprocess.run(["bash", "-c", retyped], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    from omegaconf import OmegaConf

    assert OmegaConf.load(run_dir / ".hydra" / "config.yaml").note == note
