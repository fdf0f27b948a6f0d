"""A damaged curriculum_scores.pt (the cache of a run's difficulty scores) is named as such, and its remedy works."""

import shutil

import pytest
import torch

from conftest import FAST, run_script


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A finished 1-epoch run with a curriculum: its folder holds curriculum_scores.pt."""
    run_dir = tmp_path_factory.mktemp("base") / "run"
    process = run_script("train.py", f"hydra.run.dir={run_dir}", "curriculum=easy_to_hard", "trainer.max_epochs=1", *FAST)
    assert process.returncode == 0, process.stdout[-2000:] + process.stderr[-3000:]
    return run_dir


def test_a_damaged_curriculum_cache_names_the_file_not_a_checkpoint(finished_run, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(finished_run, run_dir)
    scores = run_dir / "curriculum_scores.pt"
    scores.write_bytes(scores.read_bytes()[:100])  # cut short, as by a full disk
    process = run_script("train.py", f"resume={run_dir}", "trainer.max_epochs=2", f"hydra.run.dir={tmp_path / 'x'}",
                         *FAST)
    assert process.returncode == 1, process.stdout[-2000:] + process.stderr[-3000:]
    message = process.stderr.strip().splitlines()[-1]
    assert message == (f"error: {scores} is damaged (100 bytes; cut short, or not a file of tensors written by "
                       "torch.save). It is a cache of the curriculum's difficulty scores: delete it and they are "
                       "computed again.")
    scores.unlink()  # the remedy it gives works
    process = run_script("train.py", f"resume={run_dir}", "trainer.max_epochs=2", f"hydra.run.dir={tmp_path / 'y'}",
                         *FAST)
    assert process.returncode == 0, process.stdout[-2000:] + process.stderr[-3000:]
    assert torch.load(scores, weights_only=True)["difficulty"].dtype.is_floating_point  # computed again, whole
