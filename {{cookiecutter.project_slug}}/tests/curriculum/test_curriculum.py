"""Curriculum learning (`curriculum=...`): real runs, the examples each epoch's batches held.

The batches are read by a test-only callback (drawn_examples.py) that finds every example a
training step received in the training split by its content; the difficulty of each example
comes from the run's own `curriculum_scores.pt`.
"""

import csv
import json
import math
import os
import signal

import numpy as np
import pytest
import torch

from conftest import FAST, ROOT, read_metrics, run_script
from data_files import write_images
from stop_runs import start, steps, stop_after_first_epoch

TESTS = os.path.dirname(__file__)
# the recorder lives beside the tests: train.py imports it from there
ENV = {"PYTHONPATH": os.pathsep.join([str(ROOT / "src"), TESTS])}
IMAGES = ["data=image_folder", "data.size=8", "model=tiny", "data.in_memory=false"]  # the DataLoader path


def train_recording(tmp_path, *overrides, env=ENV):
    """train.py with the recorder: (process, run_dir, {epoch: [positions drawn]})."""
    run_dir, drawn = tmp_path / "run", tmp_path / "drawn.json"
    process = run_script("train.py", f"hydra.run.dir={run_dir}", f"paths.log_dir={tmp_path}",
                         "+callbacks.drawn._target_=drawn_examples.RecordDrawnExamples", f"+callbacks.drawn.path={drawn}",
                         *FAST, *overrides, env=env)
    assert process.returncode == 0, process.stdout[-2000:] + process.stderr[-3000:]
    return process, run_dir, {int(epoch): positions for epoch, positions in json.loads(drawn.read_text()).items()}


def easiest_per_class(difficulty, labels, fraction) -> set:
    """The easiest floor(fraction * n) examples of each class (ties: the earlier position first)."""
    chosen = set()
    for label in labels.unique():
        members = torch.nonzero(labels == label).flatten()
        ranked = members[torch.sort(difficulty[members], stable=True).indices]
        chosen |= set(ranked[: int(fraction * len(members) + 1e-9)].tolist())
    return chosen


def scalars(run_dir, tag) -> list[float]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    return [e.value for e in EventAccumulator(str(run_dir)).Reload().Scalars(tag)]


def train_split(*overrides):
    """The training split (x, y) of this data, as train.py builds it."""
    from hydra import compose, initialize_config_dir

    from {{cookiecutter.package_name}}.run import build_data

    with initialize_config_dir(config_dir=str(ROOT / "configs"), version_base="1.3"):
        return build_data(compose("train", overrides=list(overrides))).split_tensors("train")


def train_labels(*overrides):
    return train_split(*overrides)[1]


@pytest.mark.parametrize("data", [[], IMAGES], ids=["in_memory", "dataloader"])
def test_easy_to_hard_draws_the_easiest_fifth_first_and_reaches_end_fraction_at_full_at_epoch(tmp_path, data):
    overrides = list(data)
    if data:
        overrides.append(f"data.path={write_images(tmp_path / 'images', per_class=40)}")
    pace = ["curriculum=easy_to_hard", "curriculum.start_fraction=0.2", "curriculum.full_at_epoch=2",
            "curriculum.end_fraction=0.6", "trainer.max_epochs=4"]
    _, run_dir, drawn = train_recording(tmp_path, *overrides, *pace)
    difficulty = torch.load(run_dir / "curriculum_scores.pt", weights_only=True)["difficulty"]
    labels = train_labels(*overrides)
    assert len(difficulty) == len(labels)
    for epoch, fraction in enumerate([0.2, 0.4, 0.6, 0.6]):  # linear from 0.2 at epoch 0 to 0.6 at epoch 2
        allowed = easiest_per_class(difficulty, labels, fraction)
        assert set(drawn[epoch]) == allowed, (epoch, len(set(drawn[epoch])), len(allowed))  # only, and all of them
        assert len(drawn[epoch]) == len(labels), epoch  # every epoch keeps its number of steps
    assert len(allowed) < 0.65 * len(labels)  # end_fraction < 1: the hardest examples were never drawn
    assert scalars(run_dir, "curriculum/fraction") == pytest.approx([0.2, 0.4, 0.6, 0.6])
    mean_difficulty = scalars(run_dir, "curriculum/mean_difficulty")
    assert mean_difficulty[0] == pytest.approx(float(difficulty[sorted(easiest_per_class(difficulty, labels, 0.2))].mean()))
    assert mean_difficulty[0] < mean_difficulty[1] < mean_difficulty[2]  # harder examples join


def test_no_curriculum_draws_every_example_each_epoch(tmp_path):
    _, run_dir, drawn = train_recording(tmp_path, "trainer.max_epochs=2")
    count = len(train_labels())
    for epoch in (0, 1):
        assert sorted(drawn[epoch]) == list(range(count)), epoch  # each example exactly once
    assert drawn[0] != drawn[1]  # reshuffled
    assert not (run_dir / "curriculum_scores.pt").exists()


@pytest.mark.fast
def test_self_paced_and_hard_to_easy_rank_as_they_say(tmp_path):
    # hard_to_easy: the first epoch draws the hardest fifth of each class
    _, run_dir, drawn = train_recording(tmp_path, "curriculum=hard_to_easy", "trainer.max_epochs=1")
    difficulty = torch.load(run_dir / "curriculum_scores.pt", weights_only=True)["difficulty"]
    labels = train_labels()
    hardest = easiest_per_class(-difficulty, labels, 0.2)
    assert set(drawn[0]) == hardest
    assert scalars(run_dir, "curriculum/mean_difficulty")[0] > float(difficulty.mean())


def test_a_killed_curriculum_run_resumed_ends_exactly_like_the_run_left_alone(tmp_path):
    # self-paced: the pool of the resumed epoch comes from the restored model, the scores from the checkpoint
    setup = ["trainer.max_epochs=5", "trainer.deterministic=true", "curriculum=self_paced",
             "curriculum.full_at_epoch=4", *FAST]
    alone, killed = tmp_path / "alone", tmp_path / "killed"
    process = run_script("train.py", f"hydra.run.dir={alone}", *setup)
    assert process.returncode == 0, process.stderr[-3000:]
    assert stop_after_first_epoch(start(killed, *setup), killed, signal.SIGKILL,
                                  logged="curriculum/fraction") == -signal.SIGKILL
    saved = torch.load(killed / "checkpoints" / "last.ckpt", weights_only=True)
    assert saved["epoch"] < 3, "killed too late to test a resume in the middle of the curriculum"
    process = run_script("train.py", f"resume={killed}", f"hydra.run.dir={tmp_path / 'resume'}", *FAST)
    assert process.returncode == 0, process.stderr[-3000:]
    expected, resumed = read_metrics(alone), read_metrics(killed)
    assert expected.keys() == resumed.keys()
    for key in expected:
        assert abs(expected[key] - resumed[key]) <= 1e-6, (key, expected[key], resumed[key])
    for tag in ("curriculum/fraction", "curriculum/mean_difficulty", "train/loss"):
        assert steps(killed, tag) == steps(alone, tag), tag
        assert scalars(killed, tag) == pytest.approx(scalars(alone, tag), abs=1e-6), tag


def write_random_table(path, count=200, features=150, seed=0):
    """Random features, random labels: a linear model fitted on an example memorizes its label, and
    knows nothing of the label of an example it was not fitted on."""
    rng = np.random.default_rng(seed)
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow([f"f{j}" for j in range(features)] + ["label"])
        for _ in range(count):
            writer.writerow([f"{v:.4f}" for v in rng.normal(size=features)] + [rng.choice(["yes", "no"])])
    return path


def test_the_scorer_is_cross_fitted_and_works_on_a_csv_table(tmp_path):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    table = write_random_table(tmp_path / "random.csv")
    data = ["data=csv", f"data.path={table}", "data.target=label", "model=mlp_small"]
    _, run_dir, drawn = train_recording(tmp_path, *data, "curriculum=easy_to_hard", "trainer.max_epochs=2")
    difficulty = torch.load(run_dir / "curriculum_scores.pt", weights_only=True)["difficulty"]
    x, labels = train_split(*data)
    # Scored by a model fitted on the same examples, the labels would look certain (difficulty ~0.06);
    # cross-fitted, a random label is a coin flip: difficulty ~0.5.
    memorized = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x.numpy(), labels.numpy())
    self_scored = 1 - memorized.predict_proba(x.numpy())[np.arange(len(labels)), labels.numpy()]
    assert self_scored.mean() < 0.2
    assert 0.35 < float(difficulty.mean()) < 0.65, float(difficulty.mean())
    assert set(drawn[0]) == easiest_per_class(difficulty, labels, 0.2)  # the pace works on a table too
    assert "test/acc" in read_metrics(run_dir)


def test_regression_data_is_scored_by_ridge_residuals(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(150, 4))
    y = x @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.1 * rng.normal(size=150)
    y[:15] += 8.0  # outliers: the hardest examples
    with open(tmp_path / "table.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["a", "b", "c", "d", "y"])
        writer.writerows([[*row, target] for row, target in zip(x, y, strict=True)])
    _, run_dir, drawn = train_recording(tmp_path, "data=csv", f"data.path={tmp_path / 'table.csv'}", "data.target=y",
                                        "data.task=regression", "model=mlp_small", "curriculum=easy_to_hard",
                                        "trainer.max_epochs=2")
    difficulty = torch.load(run_dir / "curriculum_scores.pt", weights_only=True)["difficulty"]
    count = len(difficulty)
    easiest = set(torch.sort(difficulty, stable=True).indices[: math.floor(0.2 * count)].tolist())
    assert set(drawn[0]) == easiest  # one pool for the whole set: regression has no classes
    assert "test/r2" in read_metrics(run_dir)


@pytest.mark.fast
@pytest.mark.parametrize("override, fragment", [
    ("curriculum.pacing=cubic", "curriculum.pacing='cubic' is not allowed: use one of linear, root, step"),
    ("curriculum.end_fraction=0", "curriculum.end_fraction=0 is not allowed: a fraction of the training set"),
    ("curriculum.scorer=checkpoint", "curriculum.checkpoint=None is not allowed"),
    ("+curriculum.speed=2", "curriculum.speed=2 is not an argument of"),
])
def test_bad_curriculum_values_fail_before_any_work(train, override, fragment):
    process, run_dir = train("curriculum=easy_to_hard", override, expect_ok=False)
    assert process.returncode == 2, process.stderr[-2000:]
    assert fragment in process.stderr, process.stderr[-2000:]
    assert not (run_dir / "checkpoints").exists()
