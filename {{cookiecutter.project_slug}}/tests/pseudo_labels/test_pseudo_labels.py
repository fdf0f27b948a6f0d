"""Pseudo-labels (pseudo_labels/rounds.py, data.unlabeled_fraction): which examples are added, how many
are right, the split they come from, every data path, resume, and bad values refused before work."""

import json

import pytest
import torch
from hydra import compose, initialize_config_dir

from conftest import FAST, ROOMS, ROOT, read_metrics, run_script, when_room
from data_files import write_images, write_table
from {{cookiecutter.package_name}}.core.data import DataError, DigitsData
from {{cookiecutter.package_name}}.core.data_csv import CsvData
from {{cookiecutter.package_name}}.core.data_images import ImageFolderData
from {{cookiecutter.package_name}}.runs.checkpoints import load_classifier
from {{cookiecutter.package_name}}.runs.predict import model_outputs
from {{cookiecutter.package_name}}.validation import ConfigError, validate

QUICK = ["optimizer.lr=0.01", "data.batch_size=16", "trainer.max_epochs=3", *when_room("ensembles", "ensemble.k=0"),
         *when_room("checks", "baselines=false"), *FAST]


@pytest.mark.fast
def test_hidden_labels_are_a_stratified_part_of_the_training_split_and_val_test_do_not_change():
    full, half = DigitsData(), DigitsData(unlabeled_fraction=0.5)
    train, hidden = half.indices["train"], half.indices["unlabeled"]
    assert sorted(torch.cat([train, hidden]).tolist()) == full.indices["train"].tolist()  # disjoint, all of train
    per_class = torch.bincount(half.split_tensors("unlabeled")[1], minlength=10).float()
    assert (per_class - torch.bincount(half.split_tensors("train")[1], minlength=10)).abs().max() <= 1  # stratified
    assert torch.equal(half.split_tensors("unlabeled")[1], full.splits["train"][1][torch.isin(full.indices["train"],
                                                                                                hidden)])  # true labels
    assert {k: v for k, v in half.fingerprint().items() if k != "train"} == \
        {k: v for k, v in full.fingerprint().items() if k != "train"}
    assert torch.equal(DigitsData(unlabeled_fraction=0.5).indices["unlabeled"], hidden)  # seeded
    assert "unlabeled" not in full.indices
    with pytest.raises(DataError, match=r"unlabeled_fraction=0.999 hides every training label of the classes"):
        DigitsData(unlabeled_fraction=0.999)
    with pytest.raises(ConfigError, match="classification only"):
        DigitsData(task="regression", unlabeled_fraction=0.5)


@pytest.mark.fast
def test_one_round_at_threshold_zero_labels_every_unlabelled_example_and_reports_its_test_acc(train):
    one_epoch = ["optimizer.lr=0.01", "data.batch_size=16", "trainer.max_epochs=1", "model=tiny",
                 *when_room("ensembles", "ensemble.k=0"), *when_room("checks", "baselines=false"), *FAST]
    process, run_dir = train("data.unlabeled_fraction=0.5", "pseudo_label.rounds=1", "pseudo_label.threshold=0",
                             *one_epoch)
    metrics, round_1 = read_metrics(run_dir), read_metrics(run_dir / "round_1")
    record = json.loads((run_dir / "round_1" / "pseudo_labels.json").read_text())
    unlabeled = len(DigitsData(unlabeled_fraction=0.5).indices["unlabeled"])
    assert record["added"] == record["unlabeled"] == metrics["pseudo/round_1/added"] == metrics["pseudo/unlabeled"] \
        == unlabeled > 0
    assert 0 <= metrics["pseudo/round_1/correct"] == record["correct"] <= unlabeled
    assert metrics["test/acc"] == metrics["pseudo/round_1/test_acc"] == round_1["test/acc"]
    assert "pseudo-labels, round 1:" in process.stdout


def test_only_confident_predictions_are_added_their_accuracy_is_counted_and_resume_trains_nothing_again(train):
    threshold = 0.9
    process, run_dir = train("data.unlabeled_fraction=0.5", "pseudo_label.rounds=1",
                             f"pseudo_label.threshold={threshold}", *QUICK)
    metrics = read_metrics(run_dir)
    record = json.loads((run_dir / "round_1" / "pseudo_labels.json").read_text())
    # the predictions recomputed from the checkpoint that made them, on the unlabelled split rebuilt here
    data = DigitsData(unlabeled_fraction=0.5)
    x, truth = data.split_tensors("unlabeled")
    confidence, predicted = model_outputs(load_classifier(run_dir / record["predicted_by"]), x, "classification").max(1)
    positions = data.indices["unlabeled"]
    added = dict(zip(record["positions"], record["labels"], strict=True))
    assert 0 < len(added) < len(positions), "the threshold must separate: else this test proves nothing"
    for position, p, label in zip(positions.tolist(), confidence.tolist(), predicted.tolist(), strict=True):
        if p >= threshold + 1e-4:
            assert added.get(position) == label, (position, p)
        elif p < threshold - 1e-4:
            assert position not in added, (position, p)
    chosen = torch.isin(positions, torch.tensor(record["positions"]))
    correct = int((predicted[chosen] == truth[chosen]).sum())
    assert metrics["pseudo/round_1/added"] == len(added) == record["added"]
    assert metrics["pseudo/round_1/correct"] == correct == record["correct"]
    assert metrics["pseudo/round_1/correct_fraction"] == pytest.approx(correct / len(added))
    # round 1 trained on the labelled examples plus the added ones; the run reports its test/acc
    round_1 = read_metrics(run_dir / "round_1")
    if "diagnostics" in ROOMS:  # fit/ keys: the fit diagnosis (diagnostics room)
        assert round_1["fit/train_examples"] == len(data.indices["train"]) + len(added)
    assert metrics["test/acc"] == metrics["pseudo/round_1/test_acc"] == round_1["test/acc"]
    assert 0 <= metrics["pseudo/round_0/test_acc"] <= 1  # round 0 (the labelled examples only) beside it
    assert metrics["pseudo/unlabeled"] == len(positions) and "pseudo-labels, round 1:" in process.stdout

    # killed after round 1 finished, before the run's metrics.json: resume trains no round again
    checkpoints = {p: p.stat().st_mtime_ns for p in run_dir.rglob("*.ckpt")}
    (run_dir / "metrics.json").unlink()
    resumed = run_script("train.py", f"resume={run_dir}", f"hydra.run.dir={run_dir.parent / 'unused'}", *FAST)
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-3000:]
    assert "resuming round_1 from epoch" in resumed.stdout
    assert {p: p.stat().st_mtime_ns for p in run_dir.rglob("*.ckpt")} == checkpoints  # no epoch trained again
    again = read_metrics(run_dir)
    assert {k: again[k] for k in again if k.startswith(("pseudo/", "test/"))} == \
        {k: metrics[k] for k in metrics if k.startswith(("pseudo/", "test/"))}


@pytest.mark.parametrize("option", ["image_folder_not_in_memory", "csv"])
def test_threshold_zero_adds_every_unlabelled_example_on_other_data_paths(train, tmp_path, option):
    if option == "csv":
        settings = {"path": str(write_table(tmp_path / "animals.csv")), "target": "species", "missing": "mean",
                    "drop_columns": ["id"]}
        overrides = ["data=csv", "data.drop_columns=[id]", "model=mlp_tiny"]
        data = CsvData(**settings, unlabeled_fraction=0.5)
    else:  # a Dataset read by a DataLoader: the inputs are never all in memory
        settings = {"path": str(write_images(tmp_path / "fruit", per_class=20, size=6)), "size": 6, "in_memory": False}
        overrides = ["data=image_folder", "model=tiny"]
        data = ImageFolderData(**settings, unlabeled_fraction=0.5)
        assert data.splits is None
    overrides += [f"data.{key}={value}" for key, value in settings.items() if key != "drop_columns"]
    _, run_dir = train("data.unlabeled_fraction=0.5", "pseudo_label.rounds=1", "pseudo_label.threshold=0",
                       *overrides, *QUICK)
    metrics, round_1 = read_metrics(run_dir), read_metrics(run_dir / "round_1")
    record = json.loads((run_dir / "round_1" / "pseudo_labels.json").read_text())
    unlabeled = len(data.indices["unlabeled"])
    assert record["added"] == record["unlabeled"] == metrics["pseudo/round_1/added"] == unlabeled > 0
    if "diagnostics" in ROOMS:
        assert round_1["fit/train_examples"] == len(data.indices["train"]) + unlabeled
    truth = dict(zip(data.indices["unlabeled"].tolist(), data.split_tensors("unlabeled")[1].tolist(), strict=True))
    correct = sum(truth[position] == label for position, label in zip(record["positions"], record["labels"],
                                                                       strict=True))
    assert metrics["pseudo/round_1/correct"] == correct == record["correct"]
    assert metrics["pseudo/round_1/correct_fraction"] == pytest.approx(correct / unlabeled)
    assert metrics["test/acc"] == round_1["test/acc"]


@pytest.mark.skipif("curriculum" not in ROOMS, reason="curriculum= is the curriculum room's")
def test_a_curriculum_in_every_round_scores_the_labelled_and_the_pseudo_labelled_examples(train):
    _, run_dir = train("data.unlabeled_fraction=0.5", "pseudo_label.rounds=1", "pseudo_label.threshold=0",
                       "curriculum=easy_to_hard", *QUICK)
    metrics, round_1 = read_metrics(run_dir), read_metrics(run_dir / "round_1")
    added = metrics["pseudo/round_1/added"]
    assert added == metrics["pseudo/unlabeled"] > 0
    scores = {name: torch.load(folder / "curriculum_scores.pt", weights_only=False)["difficulty"]
              for name, folder in (("round_0", run_dir), ("round_1", run_dir / "round_1"))}
    assert len(scores["round_1"]) == len(scores["round_0"]) + added
    if "diagnostics" in ROOMS:
        assert round_1["fit/train_examples"] == len(scores["round_1"])
    assert len(scores["round_0"]) == len(DigitsData(unlabeled_fraction=0.5).indices["train"])  # the labelled only


BAD = [
    ("data.unlabeled_fraction=1", "data.unlabeled_fraction=1", "0 <= unlabeled_fraction < 1"),
    ("data.unlabeled_fraction=-0.2", "data.unlabeled_fraction=-0.2", "0 <= unlabeled_fraction < 1"),
    ("pseudo_label.rounds=-1 data.unlabeled_fraction=0.5", "pseudo_label.rounds=-1", "whole number of rounds >= 0"),
    ("pseudo_label.rounds=1.5 data.unlabeled_fraction=0.5", "pseudo_label.rounds=1.5", "whole number of rounds"),
    ("pseudo_label.threshold=1.5", "pseudo_label.threshold=1.5", "a number in [0, 1]"),
    ("pseudo_label.rounds=1", "pseudo_label.rounds=1", "data.unlabeled_fraction="),
    ("data=csv data.path=x.csv data.task=regression data.unlabeled_fraction=0.5", "data.unlabeled_fraction=0.5",
     "classification only"),
]


@pytest.mark.parametrize("overrides, named, allowed", BAD, ids=[b[0] for b in BAD])
def test_bad_values_are_refused_before_any_work(train, overrides, named, allowed):
    process, run_dir = train(*overrides.split(), expect_ok=False)
    assert process.returncode == 2, process.stdout[-2000:] + process.stderr[-3000:]
    assert named in process.stderr and allowed in process.stderr and "Traceback" not in process.stderr
    assert not (run_dir / "checkpoints").exists() and not (run_dir / "metrics.json").exists()


@pytest.mark.fast
@pytest.mark.parametrize("overrides", [
    "data.unlabeled_fraction=0.9 pseudo_label.rounds=2 optimized_metric=pseudo/round_2/test_acc",
    "data.unlabeled_fraction=0.5 pseudo_label.threshold=0", "data.unlabeled_fraction=0.5 pseudo_label.threshold=1",
    "data=csv data.path=x.csv data.unlabeled_fraction=0.5 pseudo_label.rounds=1", "data.unlabeled_fraction=0",
])
def test_good_values_pass(overrides):
    with initialize_config_dir(config_dir=str(ROOT / "configs"), version_base="1.3"):
        validate(compose("train", overrides=overrides.split()))


def test_a_real_unlabelled_pool_is_read_in_each_format_with_the_training_preprocessing(tmp_path):
    """data.unlabeled_path: an .npz with x only, a table without the target column, a folder of images
    without class folders; read as predict.py reads new inputs (scale, encoding, normalization)."""
    import numpy as np
    from PIL import Image

    from {{cookiecutter.package_name}}.core.data import load_digits_tensors

    raw, _ = load_digits_tensors()
    np.savez(tmp_path / "pool.npz", x=(raw[:50] * 16).reshape(50, 64).numpy())
    data = DigitsData(unlabeled_path=str(tmp_path / "pool.npz"), normalize="per_channel")
    x, y = data.split_tensors("unlabeled")
    assert x.shape == (50, 1, 8, 8) and (y == -1).all()
    assert data.indices["unlabeled"].tolist() == list(range(len(raw), len(raw) + 50))  # after load()'s examples
    stats = data.preprocessing["normalization"]
    assert torch.allclose(x, (raw[:50] - stats["mean"][0]) / stats["std"][0], atol=1e-5)  # training statistics

    table = write_table(tmp_path / "animals.csv", missing=False)
    rows = table.read_text().splitlines()
    header = rows[0].split(",")
    keep = [i for i, name in enumerate(header) if name != "species"]
    (tmp_path / "pool.csv").write_text("\n".join(",".join(r.split(",")[i] for i in keep) for r in rows) + "\n")
    table_data = CsvData(path=str(table), target="species", drop_columns=["id"], unlabeled_path=str(tmp_path / "pool.csv"))
    assert torch.allclose(table_data.split_tensors("unlabeled")[0][table_data.indices["train"]],
                          table_data.split_tensors("train")[0], atol=1e-5)  # the same rows, encoded alike

    folder = write_images(tmp_path / "fruit", per_class=6)
    flat = tmp_path / "flat"
    flat.mkdir()
    for i, image in enumerate(sorted(folder.rglob("*.png"))):
        Image.open(image).save(flat / f"{i:03d}.png")
    images = ImageFolderData(path=str(folder), size=8, val_fraction=0.2, test_fraction=0.2, unlabeled_path=str(flat))
    assert images.split_tensors("unlabeled")[0].shape == (18, 3, 8, 8)

    np.savez(tmp_path / "wrong.npz", x=np.zeros((5, 10)))
    with pytest.raises(DataError, match=r"wrong.npz, array 'x': inputs of shape \(5, 10\)"):
        DigitsData(unlabeled_path=str(tmp_path / "wrong.npz"))


def test_pseudo_labels_from_a_real_pool_count_nothing_they_cannot_know(train, tmp_path):
    import numpy as np

    from {{cookiecutter.package_name}}.core.data import load_digits_tensors

    raw, _ = load_digits_tensors()
    np.savez(tmp_path / "pool.npz", x=(raw[:300] * 16).numpy())
    process, run_dir = train(f"data.unlabeled_path={tmp_path / 'pool.npz'}", "pseudo_label.rounds=1",
                             "pseudo_label.threshold=0.5", *QUICK)
    metrics = read_metrics(run_dir)
    assert metrics["pseudo/unlabeled"] == 300 and metrics["pseudo/round_1/added"] > 0
    assert "pseudo/round_1/correct" not in metrics and "their true labels unknown" in process.stdout
    record = json.loads((run_dir / "round_1" / "pseudo_labels.json").read_text())
    assert min(record["positions"]) >= len(raw) and record["correct"] is None

    for extra, fragment in [([], "data.unlabeled_path=<file or folder of inputs>"),
                            (["data.unlabeled_fraction=0.5", f"data.unlabeled_path={tmp_path / 'pool.npz'}"],
                             "both give unlabelled examples")]:
        process, _ = train("pseudo_label.rounds=1", *extra, *QUICK, expect_ok=False)
        assert process.returncode == 2 and fragment in process.stderr, process.stderr[-2000:]
