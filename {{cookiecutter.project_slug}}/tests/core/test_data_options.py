"""The data options data=npz, data=csv and data=image_folder: small files written here, real runs.

Each option trains with train.py end to end; what they compute (split, standardization,
encoding, cache) and every bad-data message is checked on the datamodule itself (milliseconds),
and one bad-data case per option goes through train.py (exit code, message, nothing written).
"""

import csv
import os

import numpy as np
import pytest
import torch
import yaml

from conftest import FAST, read_metrics, run_script
from data_files import COLORS, OWN_MODEL, SHORT, VECTOR_RUN, own_model_env, vectors, write_images, write_table  # noqa: F401
from {{cookiecutter.package_name}}.core.data import DataError
from {{cookiecutter.package_name}}.core.data_csv import CsvData, read_new_csv
from {{cookiecutter.package_name}}.core.data_images import ImageFolderData, read_new_images
from {{cookiecutter.package_name}}.core.data_npz import NpzData, read_new_npz
from {{cookiecutter.package_name}}.core.validate import ConfigError


def train_on(tmp_path, *overrides, env=None):
    run_dir = tmp_path / "run"
    process = run_script("train.py", f"hydra.run.dir={run_dir}", f"paths.log_dir={tmp_path}", *overrides,
                         env=env, timeout=300)
    return process, run_dir


def assert_refused(process, run_dir, *fragments):
    """Bad data: refused before training, the message names what is wrong, no checkpoints written."""
    assert process.returncode == 2, process.stdout[-2000:] + process.stderr[-2000:]  # bad data: exit code 2
    for fragment in fragments:
        assert fragment in process.stderr, process.stderr[-3000:]
    assert not (run_dir / "checkpoints").exists()


# --- npz ---------------------------------------------------------------------------------------


@pytest.mark.fast
def test_npz_of_vectors_trains_end_to_end(tmp_path):
    x, y = vectors()
    np.savez(tmp_path / "vectors.npz", x=x, y=y)
    process, run_dir = train_on(tmp_path, "data=npz", f"data.path={tmp_path / 'vectors.npz'}", *VECTOR_RUN,
                                *SHORT, env=own_model_env(tmp_path))
    assert process.returncode == 0, process.stdout[-2000:] + process.stderr[-3000:]
    metrics = read_metrics(run_dir)
    assert metrics["test/acc"] > 0.8, metrics
{%- if cookiecutter.__with_diagnostics == "yes" %}
    assert metrics["fit/train_examples"] == 168, metrics
{%- endif %}


def test_npz_of_images_with_its_own_split_trains_a_cnn(tmp_path):
    generator = torch.Generator().manual_seed(0)
    y = torch.arange(300) % 3
    x = 0.2 * torch.rand(300, 1, 8, 8, generator=generator)
    x[y == 0, 0, ::2, :] += 0.8  # class 0: horizontal stripes, 1: vertical stripes, 2: none
    x[y == 1, 0, :, ::2] += 0.8
    split = np.repeat([0, 1, 2], [200, 40, 60])
    np.savez(tmp_path / "images.npz", pixels=(255 * x.clamp(0, 1)).numpy().astype(np.uint8), y=y.numpy(),
             split=split)
    process, run_dir = train_on(tmp_path, "data=npz", f"data.path={tmp_path / 'images.npz'}", "data.x_key=pixels",
                                f"data.input_scale={1 / 255}", "model=tiny", *SHORT)
    assert process.returncode == 0, process.stdout[-2000:] + process.stderr[-3000:]
    assert "the file's own split ('split'): train 200, val 40, test 60" in process.stdout
    metrics = read_metrics(run_dir)
    assert metrics["test/acc"] > 0.8, metrics
{%- if cookiecutter.__with_diagnostics == "yes" %}
    assert metrics["fit/train_examples"] == 200, metrics
{%- endif %}


def test_npz_records_what_a_new_file_needs(tmp_path):
    x, y = vectors()
    np.savez(tmp_path / "vectors.npz", x=x, y=np.array(["a", "b", "c"])[y])  # string labels: sorted names
    data = NpzData(path=str(tmp_path / "vectors.npz"))
    assert data.class_names == ["a", "b", "c"] and data.in_shape == (6,)
    assert data.describe()["preprocessing"] == {"kind": "npz", "x_key": "x", "in_shape": [6], "input_scale": 1.0}
    ids, new = read_new_npz(tmp_path / "vectors.npz", data.preprocessing)
    assert ids == list(range(240)) and torch.equal(new[data.indices["test"]], data.split_tensors("test")[0])
    np.savez(tmp_path / "wrong.npz", x=x[:, :4])
    with pytest.raises(DataError, match=r"inputs of shape \(240, 4\); the model expects \(N, 6\)"):
        read_new_npz(tmp_path / "wrong.npz", data.preprocessing)


def test_npz_regression_keeps_float_targets(tmp_path):
    x, _ = vectors()
    np.savez(tmp_path / "values.npz", x=x, y=x[:, 0] * 2.5)
    data = NpzData(path=str(tmp_path / "values.npz"), task="regression")
    assert data.num_outputs == 1 and data.class_names is None and data.split_tensors("train")[1].dtype == torch.float32


def five_classes(count=300):
    """Vectors of 5 classes, labels 0..4."""
    return vectors(count, classes=5)


def test_integer_labels_that_are_not_0_to_k_are_class_names(tmp_path):
    """Labels 1..5, 3/7/9 or -1/1: the classes that occur, named by their values; never a class without examples."""
    x, y = five_classes()
    for labels, names in [(y + 1, ["1", "2", "3", "4", "5"]), (np.array([3, 7, 9])[y % 3], ["3", "7", "9"]),
                          (np.array([-1, 1])[y % 2], ["-1", "1"]), (y, ["0", "1", "2", "3", "4"])]:
        path = save_npz(tmp_path, x=x, y=labels)
        own_split = np.random.default_rng(0).choice(3, size=300, p=[0.6, 0.2, 0.2])
        for data in (NpzData(path=str(path)), NpzData(path=str(save_npz(tmp_path, x=x, y=labels, split=own_split)))):
            assert data.class_names == names and data.num_classes == data.num_outputs == len(names)
            train_y = data.split_tensors("train")[1]
            assert set(train_y.tolist()) == set(range(len(names)))  # indices 0..K-1, every class present
            assert [data.class_names[k] for k in train_y[:5].tolist()] == [str(v) for v in labels[data.indices["train"][:5]]]
    # a rare class: the message counts what each class really has (not a phantom class 0 with none)
    labels = np.where(np.arange(40) < 38, 0, 5)
    with pytest.raises(DataError, match=r"the classes \{'5': 2\} \(examples per class\)"):
        NpzData(path=str(save_npz(tmp_path, x=np.zeros((40, 2)), y=labels)))


def test_npz_labels_1_to_5_train_and_predict_names_them(tmp_path):
    x, y = five_classes()
    split = np.random.default_rng(0).choice(3, size=300, p=[0.6, 0.2, 0.2])  # the file's own: 0 train, 1 val, 2 test
    np.savez(tmp_path / "five.npz", x=x, y=y + 1, split=split)
    process, run_dir = train_on(tmp_path, "data=npz", f"data.path={tmp_path / 'five.npz'}", "model=mlp_small", *SHORT)
    assert process.returncode == 0, process.stdout[-2000:] + process.stderr[-3000:]
    assert read_metrics(run_dir)["test/acc"] > 0.8  # 5 outputs, not 6 with an empty class 0
    out = tmp_path / "predictions.csv"
    process = run_script("predict.py", str(run_dir), str(tmp_path / "five.npz"), "--out", str(out))
    assert process.returncode == 0, process.stderr[-3000:]
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["id", "predicted", "confidence", "p_1", "p_2", "p_3", "p_4", "p_5"]
    assert np.mean([row[1] == str(label) for row, label in zip(rows[1:], y + 1, strict=True)]) > 0.8


def test_missing_npz_fails_through_train_py_before_anything_is_written(tmp_path):
    process, run_dir = train_on(tmp_path, "data=npz", f"data.path={tmp_path / 'nothing.npz'}", *FAST)
    assert_refused(process, run_dir, f"data.path={tmp_path / 'nothing.npz'}: no such file")


# --- csv ---------------------------------------------------------------------------------------


@pytest.mark.fast
def test_csv_with_categories_string_labels_and_gaps_trains_end_to_end(tmp_path):
    write_table(tmp_path / "animals.csv")
    process, run_dir = train_on(tmp_path, "data=csv", f"data.path={tmp_path / 'animals.csv'}", "data.target=species",
                                "data.missing=mean", "data.drop_columns=[id]", *VECTOR_RUN, *SHORT,
                                env=own_model_env(tmp_path))
    assert process.returncode == 0, process.stdout[-2000:] + process.stderr[-3000:]
    assert "data: 3 missing feature value(s) (size: 2, color: 1): imputed" in process.stdout
    metrics = read_metrics(run_dir)
    assert metrics["test/acc"] > 0.8, metrics
{%- if cookiecutter.__with_diagnostics == "yes" %}
    assert "test/slice/class_2/acc" in metrics
{%- endif %}


def test_tabular_experiment_trains_a_csv_with_its_own_defaults(tmp_path):
    """experiment=tabular (docs/data.md): the wide, shallow, strongly regularized MLP on a table."""
    write_table(tmp_path / "animals.csv")
    process, run_dir = train_on(tmp_path, "experiment=tabular", "data=csv", f"data.path={tmp_path / 'animals.csv'}",
                                "data.target=species", "data.missing=mean", "data.drop_columns=[id]",
                                "trainer.max_epochs=3", *FAST)
    assert process.returncode == 0, process.stdout[-2000:] + process.stderr[-3000:]
    config = yaml.safe_load((run_dir / ".hydra" / "config.yaml").read_text())
    assert config["model"]["_target_"].endswith(".MLP") and (config["model"]["width"], config["model"]["depth"]) == (128, 1)
    assert config["optimizer"]["_target_"] == "torch.optim.AdamW"
    assert (config["regularization"]["weight_decay"], config["regularization"]["dropout"]) == (3.0, 0.5)
    assert (config["trainer"]["max_epochs"], config["callbacks"]["early_stopping"]["patience"]) == (3, 20)
{%- if cookiecutter.__with_checks == "yes" %}
    metrics = read_metrics(run_dir)
    assert metrics["test/acc"] > metrics["baseline/majority_acc"], metrics
{%- endif %}


def test_csv_statistics_come_from_the_training_split_only(tmp_path):
    """Changing only test rows changes no statistic: validation and test never leak into them."""
    write_table(tmp_path / "a.csv")
    first = CsvData(path=str(tmp_path / "a.csv"), target="species", missing="mean", drop_columns=["id"])
    test_rows = first.indices["test"].tolist()
    write_table(tmp_path / "b.csv", shift={i: 1000.0 for i in test_rows})
    second = CsvData(path=str(tmp_path / "b.csv"), target="species", missing="mean", drop_columns=["id"])
    assert second.preprocessing["columns"] == first.preprocessing["columns"]
    weight = first.preprocessing["columns"][1]
    train_weights = first.raw_columns["weight"][first.indices["train"].numpy()].astype(float)
    assert weight["name"] == "weight" and weight["mean"] == pytest.approx(train_weights.mean())
    assert weight["std"] == pytest.approx(train_weights.std())
    x, _ = first.split_tensors("train")
    assert torch.allclose(x[:, :2].mean(0), torch.zeros(2), atol=1e-5)  # standardized (gaps: the mean, 0)


def test_csv_encoding_and_what_predict_needs(tmp_path):
    write_table(tmp_path / "animals.csv")
    data = CsvData(path=str(tmp_path / "animals.csv"), target="species", missing="mean", drop_columns=["id"])
    assert data.class_names == ["cat", "dog", "fox"] and data.in_shape == (6,)
    recorded = data.describe()["preprocessing"]
    assert recorded["feature_names"] == ["size", "weight", "color=blue", "color=green", "color=grey", "color=red"]
    assert recorded["columns"][2] == {"name": "color", "kind": "categorical",
                                      "categories": ["blue", "green", "grey", "red"]}
    ids, new = read_new_csv(tmp_path / "animals.csv", recorded, id_column="id")  # what predict.py does
    assert ids[:2] == ["id0", "id1"] and torch.allclose(new[data.indices["test"]], data.split_tensors("test")[0])
    assert new[4, 0] == 0 and new[7, 2:].sum() == 0  # gaps: the training mean (0 once standardized), no category
    (tmp_path / "new.csv").write_text("id,weight,color\nx,50,red\n")
    with pytest.raises(DataError, match=r"lacks the column\(s\) \['size'\]. The model expects the columns: size, "):
        read_new_csv(tmp_path / "new.csv", recorded)


def test_csv_drop_leaves_rows_out_and_says_how_many(tmp_path, capsys):
    write_table(tmp_path / "animals.csv")
    data = CsvData(path=str(tmp_path / "animals.csv"), target="species", missing="drop", drop_columns=["id"])
    assert sum(len(index) for index in data.indices.values()) == 237
    assert "their rows dropped; 3 of 240 rows dropped (data.missing=drop)" in capsys.readouterr().out


def test_csv_regression(tmp_path):
    path = tmp_path / "values.csv"
    path.write_text("a,b,price\n" + "".join(f"{i % 7},{i % 3},{1.5 * (i % 7) + 0.1}\n" for i in range(60)))
    data = CsvData(path=str(path), target="price", task="regression")
    x, y = data.split_tensors("train")
    assert data.num_outputs == 1 and y.dtype == torch.float32 and data.describe()["class_names"] is None


def test_csv_with_several_targets_trains_and_predicts_a_multi_output_regression(tmp_path):
    rng = np.random.default_rng(0)
    features = rng.normal(size=(300, 4))
    targets = np.stack([features[:, 0] * 2, features[:, 1] - features[:, 2], np.sin(features[:, 3])], 1)
    rows = ["f0,f1,f2,f3,a,b,c"] + [",".join(f"{v:.5f}" for v in row) for row in np.hstack([features, targets])]
    (tmp_path / "three.csv").write_text("\n".join(rows) + "\n")
    process, run_dir = train_on(tmp_path, "data=csv", f"data.path={tmp_path / 'three.csv'}", "data.target=[a,b,c]",
                                "data.task=regression", "model=mlp_small", *SHORT)
    assert process.returncode == 0, process.stdout[-2000:] + process.stderr[-3000:]
    metrics = read_metrics(run_dir)
    assert metrics["test/r2"] > 0.3, metrics
    out = tmp_path / "predictions.csv"
    process = run_script("predict.py", str(run_dir), str(tmp_path / "three.csv"), "--out", str(out))
    assert process.returncode == 0, process.stderr[-3000:]
    predicted = list(csv.reader(out.open()))
    assert predicted[0] == ["id", "value_0", "value_1", "value_2"] and len(predicted) == 301
    # several targets are a regression only
    with pytest.raises(ConfigError, match=r"data.target=\['a', 'b'\] is not allowed: several target columns"):
        CsvData(path=str(tmp_path / "three.csv"), target=["a", "b"])


def test_bad_target_fails_through_train_py_listing_the_columns(tmp_path):
    write_table(tmp_path / "animals.csv")
    process, run_dir = train_on(tmp_path, "data=csv", f"data.path={tmp_path / 'animals.csv'}", "data.target=label",
                                *FAST)
    assert_refused(process, run_dir, "has no column 'label'", "Its columns are: id, size, weight, color, species.")


# --- image folder -------------------------------------------------------------------------------


@pytest.mark.fast
def test_image_folder_trains_and_the_second_load_reads_the_cache(tmp_path, capsys):
    root = write_images(tmp_path / "fruit")
    process, run_dir = train_on(tmp_path, "data=image_folder", f"data.path={root}", "data.size=8", "model=tiny",
                                *SHORT)
    assert process.returncode == 0, process.stdout[-2000:] + process.stderr[-3000:]
    assert "data: converted 90 images to 8x8 rgb, cached in" in process.stdout
    metrics = read_metrics(run_dir)
    assert metrics["test/acc"] > 0.8, metrics
{%- if cookiecutter.__with_diagnostics == "yes" %}
    assert "test/slice/class_2/acc" in metrics
{%- endif %}
    (cache,) = (tmp_path / "cache" / "images").glob("fruit_*.pt")  # under paths.log_dir, not in the data folder
    assert sorted(p.name for p in root.iterdir()) == ["apple", "leaf", "sky"]
    written = cache.stat().st_mtime_ns
    data = ImageFolderData(path=str(root), size=8, cache_dir=str(cache.parent))  # the run's settings: its cache
    assert "90 images read from the cache" in capsys.readouterr().out and cache.stat().st_mtime_ns == written
    assert data.in_shape == (3, 8, 8) and data.class_names == ["apple", "leaf", "sky"]
    ids, new = read_new_images(root, data.preprocessing)  # what predict.py does with new files
    assert ids[0] == os.path.join("apple", "000.png")
    assert torch.equal(new[data.indices["test"]], data.split_tensors("test")[0])


def test_a_changed_file_makes_a_new_cache_and_removes_the_stale_one(tmp_path, capsys):
    root = write_images(tmp_path / "fruit", per_class=12)
    ImageFolderData(path=str(root), size=6, mode="grayscale", cache_dir=str(tmp_path / "cache"))
    (old,) = (tmp_path / "cache").glob("fruit_*.pt")
    write_images(root, per_class=1, seed=1)  # rewrites apple/000.png, leaf/000.png, sky/000.png
    data = ImageFolderData(path=str(root), size=6, mode="grayscale", cache_dir=str(tmp_path / "cache"))
    (new,) = (tmp_path / "cache").glob("fruit_*.pt")
    assert new != old and capsys.readouterr().out.count("converted 36 images to 6x6 grayscale") == 2
    assert data.in_shape == (1, 6, 6)


def test_image_folder_with_its_own_split(tmp_path):
    root = write_images(tmp_path / "fruit", layout={"train": 16, "val": 4, "test": 6})
    process, run_dir = train_on(tmp_path, "data=image_folder", f"data.path={root}", "data.size=8",
                                "data.mode=grayscale", "model=tiny", "data.batch_size=8", "trainer.max_epochs=6", "optimizer.lr=0.01", *FAST)
    assert process.returncode == 0, process.stdout[-2000:] + process.stderr[-3000:]
    assert "data: the folder's own split, train 48, val 12, test 18" in process.stdout
    metrics = read_metrics(run_dir)
    assert metrics["test/acc"] > 0.8, metrics
{%- if cookiecutter.__with_diagnostics == "yes" %}
    assert metrics["fit/train_examples"] == 48, metrics
{%- endif %}


def test_own_split_without_val_carves_it_from_train(tmp_path):
    root = write_images(tmp_path / "fruit", layout={"train": 20, "test": 5})
    data = ImageFolderData(path=str(root), size=4, val_fraction=0.1)
    assert {name: len(index) for name, index in data.indices.items()} == {"train": 54, "val": 6, "test": 15}


def test_image_folder_read_lazily_gives_the_same_examples(tmp_path):
    root = write_images(tmp_path / "fruit", per_class=12)
    in_memory = ImageFolderData(path=str(root), size=8)
    lazy = ImageFolderData(path=str(root), size=8, in_memory=False)
    assert lazy.splits is None and lazy.in_shape == (3, 8, 8)
    for split in ("train", "test"):
        assert torch.equal(lazy.split_tensors(split)[0], in_memory.split_tensors(split)[0])


def test_bad_images_are_skipped_with_a_warning_or_fail_naming_the_file(tmp_path, capsys):
    root = write_images(tmp_path / "fruit", per_class=12)
    png = (root / "leaf" / "003.png").read_bytes()
    (root / "leaf" / "003.png").write_bytes(png[: len(png) // 2])  # truncated
    (root / "sky" / "005.png").write_text("not an image")
    (root / "sky" / "notes.txt").write_text("ignored: not an image file name")
    with pytest.raises(DataError, match=r"leaf/003.png cannot be read as an image .*data.on_bad_image=skip"):
        ImageFolderData(path=str(root), size=6)
    data = ImageFolderData(path=str(root), size=6, on_bad_image="skip", cache_dir=str(tmp_path / "cache"))
    out = capsys.readouterr().out
    assert "skipped 2 unreadable image(s) (data.on_bad_image=skip): leaf/003.png, sky/005.png" in out
    assert "ignored 1 file(s)" in out and "images: sky/notes.txt" in out and sum(len(index) for index in data.indices.values()) == 34
    ImageFolderData(path=str(root), size=6, on_bad_image="skip", cache_dir=str(tmp_path / "cache"))
    out = capsys.readouterr().out
    assert "read from the cache" in out and "skipped 2 unreadable image(s)" in out  # from the cache: the same warning


def test_unreadable_image_fails_through_train_py_naming_it(tmp_path):
    root = write_images(tmp_path / "fruit", per_class=12)
    (root / "sky" / "005.png").write_text("not an image")
    process, run_dir = train_on(tmp_path, "data=image_folder", f"data.path={root}", *FAST)
    assert_refused(process, run_dir, f"{root / 'sky' / '005.png'} cannot be read as an image")
    assert not list(tmp_path.rglob("*.pt")) and not list(tmp_path.rglob("*.partial"))


# --- bad data: each names the file, column or value and what to do ------------------------------


def bad_table(tmp_path, text):
    (tmp_path / "t.csv").write_text(text)
    return tmp_path / "t.csv"


BAD_DATA = {
    "missing csv": (lambda p: CsvData(path=str(p / "none.csv")), r"data.path=.*none.csv: no such file"),
    "empty csv": (lambda p: CsvData(path=str(bad_table(p, ""))), r"t.csv is empty \(no header\)"),
    "header only": (lambda p: CsvData(path=str(bad_table(p, "a,target\n"))), r"a header but no rows"),
    "twice the same column": (lambda p: CsvData(path=str(bad_table(p, "a,a,target\n1,2,3\n"))),
                              r"names the column\(s\) \['a'\] more than once"),
    "ragged row": (lambda p: CsvData(path=str(bad_table(p, "a,target\n1,2\n3\n"))),
                   r"line 3: 1 fields where the header has 2"),
    "regression on names": (
        lambda p: CsvData(path=str(write_table(p / "t.csv", missing=False)), target="species", task="regression"),
        r"task=regression needs numbers in the target column 'species', but line 2 has 'cat'"),
    "gaps without a setting": (
        lambda p: CsvData(path=str(write_table(p / "t.csv")), target="species"),
        r"missing values \(column 'size' first on line 6; per column: size: 2, color: 1.*data.missing=drop"),
    "one class in the target": (
        lambda p: CsvData(path=str(write_table(p / "t.csv", labels=("cat",))), target="species", missing="drop"),
        r"'species' has a single value \('cat'\) in all 237 rows; a classifier needs at least two"),
    "numbers as classes": (
        lambda p: CsvData(path=str(write_table(p / "t.csv", missing=False)), target="weight"),
        r"'weight' holds non-whole numbers .*use data.task=regression"),
    "rare class in csv": (
        lambda p: CsvData(path=str(bad_table(p, "a,y\n" + "1,common\n" * 40 + "2,rare\n" * 3)), target="y"),
        r"Too few examples in the classes \{'rare': 3\} \(examples per class\); the split .* needs at least 10 per class"),
    "missing folder": (lambda p: ImageFolderData(path=str(p / "none")), r"data.path=.*none: no such folder"),
    "one class folder": (lambda p: ImageFolderData(path=str(one_class_folder(p))),
                         r"has 1 class folder\(s\) \['apple'\]; a classifier needs at least two"),
    "rare class folder": (lambda p: ImageFolderData(path=str(write_images(p / "f", per_class=4))),
                          r"the classes \{'apple': 4, 'leaf': 4, 'sky': 4\} \(examples per class\)"),
    "half a split": (lambda p: ImageFolderData(path=str(write_images(p / "f", layout={"train": 3}))),
                     r"has train/ but an own split needs train/ and test/"),
    "npz without the key": (lambda p: NpzData(path=str(save_npz(p, inputs=np.zeros((9, 2)), y=np.zeros(9)))),
                            r"has no array 'x' for the inputs \(data.x_key\). Its arrays are: inputs, y"),
    "npz float classes": (lambda p: NpzData(path=str(save_npz(p, x=np.zeros((9, 2)), y=np.linspace(0, 1, 9)))),
                          r"not whole numbers \(e.g. 0.125\).*data.task=regression"),
    "npz one class": (lambda p: NpzData(path=str(save_npz(p, x=np.zeros((9, 2)), y=np.ones(9)))),
                      r"every example has the same label \(1.0\)"),
    "npz with NaN": (lambda p: NpzData(path=str(save_npz(p, x=np.where(np.arange(18).reshape(9, 2) % 7, 0, np.nan),
                                                         y=np.arange(9) % 2))),
                     r"d.npz, array 'x': 3 example\(s\) have NaN or inf inputs, the first at index 0. Remove or impute"),
    "npz not a zip": (lambda p: NpzData(path=str(bad_table(p, "x,y\n"))), r"cannot be read as an .npz"),
}


def one_class_folder(tmp_path):
    root = write_images(tmp_path / "f", per_class=2)
    for name in ("leaf", "sky"):
        for file in (root / name).iterdir():
            file.unlink()
        (root / name).rmdir()
    return root


def save_npz(tmp_path, **arrays):
    np.savez(tmp_path / "d.npz", **arrays)
    return tmp_path / "d.npz"


@pytest.mark.parametrize("case", BAD_DATA)
def test_bad_data_is_refused_with_a_message_that_says_what_to_do(tmp_path, case):
    build, message = BAD_DATA[case]
    with pytest.raises(DataError, match=message):
        build(tmp_path)


def test_option_values_that_cannot_work_are_refused_before_reading(tmp_path):
    for build, message in [
        (lambda: ImageFolderData(path=str(tmp_path), mode="colour"), r"data.mode='colour' is not allowed: use one of"),
        (lambda: ImageFolderData(path=str(tmp_path), size=[8]), r"data.size=\[8\] is not allowed"),
        (lambda: ImageFolderData(path=str(tmp_path), on_bad_image="ignore"), r"use one of fail, skip"),
        (lambda: ImageFolderData(path=str(tmp_path), task="regression"), r"data=image_folder is classification"),
        (lambda: CsvData(path=str(tmp_path / "t.csv"), missing="zero"), r"data.missing='zero' is not allowed"),
    ]:
        with pytest.raises(ConfigError, match=message):
            build()
