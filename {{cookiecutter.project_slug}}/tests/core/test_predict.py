"""predict.py on new files: a table, images (one file or a folder), raw digits; and what it refuses.

One short training run per data option (module-scoped fixtures), then predict.py runs on new
files as a user would run it, and the tests read the predictions.csv it writes.
"""

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

import data_files
from conftest import FAST, ROOT, run_script, when_room
from {{cookiecutter.package_name}}.core.data import load_digits_tensors
from {{cookiecutter.package_name}}.core.data_csv import read_new_csv
from {{cookiecutter.package_name}}.runs.checkpoints import load_classifier, ranked_checkpoints

QUICK = [*when_room("checks", "baselines=false"), *when_room("ensembles", "ensemble.k=0"), *FAST]  # what predict.py needs is the checkpoints


def train_run(folder, *overrides):
    run_dir = folder / "run"
    process = run_script("train.py", f"hydra.run.dir={run_dir}", f"paths.log_dir={folder}", *overrides, *QUICK)
    assert process.returncode == 0, process.stdout[-2000:] + process.stderr[-3000:]
    return run_dir


def predict(*arguments, cwd):
    return run_script("predict.py", *map(str, arguments), cwd=cwd)


def read_predictions(path) -> list[dict]:
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


def assert_refused(process, out, code, *fragments):
    """One paragraph on stderr naming what is wrong, no traceback, no predictions file."""
    assert process.returncode == code, process.stdout[-2000:] + process.stderr[-2000:]
    for fragment in fragments:
        assert fragment in process.stderr, process.stderr
    assert "Traceback" not in process.stderr and not out.exists()


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    return train_run(tmp_path_factory.mktemp("digits"), "trainer.max_epochs=3")


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("images")
    root = data_files.write_images(folder / "fruit")
    run = train_run(folder, "data=image_folder", f"data.path={root}", "data.size=8", "model=tiny",
                    "trainer.max_epochs=4", "data.batch_size=16", "optimizer.lr=0.01")
    return run, root


@pytest.fixture(scope="module")
def csv_run(tmp_path_factory):
    if not (ROOT / "configs" / "model" / "mlp_small.yaml").exists():
        pytest.skip("a table needs the MLP ladder (model=mlp_small), which this project does not have yet")
    folder = tmp_path_factory.mktemp("table")
    table = data_files.write_table(folder / "animals.csv")
    run = train_run(folder, "data=csv", f"data.path={table}", "data.target=species", "data.missing=mean",
                    "data.drop_columns=[id]", "model=mlp_small", *when_room("diagnostics", "~callbacks.worst_mistakes"),
                    "trainer.max_epochs=4", "data.batch_size=16", "optimizer.lr=0.01")
    return run, table


@pytest.mark.fast
def test_digits_from_raw_pixels_flat_or_shaped(digits_run, tmp_path):
    x, y = load_digits_tensors()  # scaled by 1/16 as core/data.py reads them: the raw 0..16 pixels are x * 16
    np.savez(tmp_path / "flat.npz", x=(x * 16).reshape(len(x), 64).numpy())
    np.savez(tmp_path / "shaped.npz", x=(x * 16).numpy().astype(np.uint8))
    process = predict(digits_run, tmp_path / "flat.npz", cwd=tmp_path)  # default: ./predictions.csv
    assert process.returncode == 0, process.stderr[-3000:]
    rows = read_predictions(tmp_path / "predictions.csv")
    assert list(rows[0]) == ["id", "predicted", "confidence", *(f"p_{k}" for k in range(10))]
    assert [r["id"] for r in rows] == [str(i) for i in range(len(y))]
    accuracy = np.mean([int(r["predicted"]) == label for r, label in zip(rows, y.tolist(), strict=True)])
    assert accuracy > 0.8, accuracy
    assert f"predicted {len(y)} rows" in process.stdout and "predicted classes: 0 " in process.stdout
    assert "written to predictions.csv" in process.stdout

    process = predict(digits_run, tmp_path / "shaped.npz", "--out", tmp_path / "shaped.csv", cwd=tmp_path)
    assert process.returncode == 0, process.stderr[-3000:]
    assert [r["predicted"] for r in read_predictions(tmp_path / "shaped.csv")] == [r["predicted"] for r in rows]


def test_ensemble_averages_the_runs_top_k(digits_run, tmp_path):
    x, y = load_digits_tensors()
    np.savez(tmp_path / "digits.npz", x=(x * 16).numpy())
    out = tmp_path / "ensemble.csv"
    process = predict(digits_run, tmp_path / "digits.npz", "--ensemble", "--k", "2", "--out", out, cwd=tmp_path)
    assert process.returncode == 0, process.stderr[-3000:]
    assert "with the top-2 ensemble of" in process.stdout
    rows = read_predictions(out)
    probs = np.array([[float(r[f"p_{k}"]) for k in range(10)] for r in rows])
    paths = ranked_checkpoints(digits_run, 2)
    with torch.no_grad():
        members = [torch.softmax(load_classifier(p)(x), 1).numpy() for p in paths]
    assert np.allclose(probs, np.mean(members, 0), atol=1e-5)  # the mean of the two members' probabilities


def test_normalize_uses_training_statistics_and_predict_applies_them(tmp_path):
    """data.normalize=per_channel: the training split gets mean 0 and std 1 (val/test use the training
    statistics), they are recorded in the checkpoint, and predict.py applies them to raw new inputs."""
    from {{cookiecutter.package_name}}.core.data import DigitsData

    data = DigitsData(normalize="per_channel")
    train_x = data.split_tensors("train")[0]
    assert abs(float(train_x.mean())) < 1e-4 and abs(float(train_x.std()) - 1) < 1e-3
    assert data.preprocessing["normalization"]["mode"] == "per_channel"
    with pytest.raises(Exception, match="data.normalize='pixel' is not allowed: use one of none, global, per_channel"):
        DigitsData(normalize="pixel")

    run = train_run(tmp_path, "trainer.max_epochs=2", "data.normalize=per_channel")
    raw, _ = load_digits_tensors()
    test_x, _ = data.split_tensors("test")
    np.savez(tmp_path / "test.npz", x=(raw[data.indices["test"]] * 16).numpy())
    out = tmp_path / "p.csv"
    process = predict(run, tmp_path / "test.npz", "--out", out, cwd=tmp_path)
    assert process.returncode == 0, process.stderr[-3000:]
    probs = np.array([[float(r[f"p_{k}"]) for k in range(10)] for r in read_predictions(out)])
    with torch.no_grad():
        expected = torch.softmax(load_classifier(ranked_checkpoints(run, 1)[0])(test_x), 1).numpy()
    assert np.allclose(probs, expected, atol=1e-5)  # the same inputs the model was tested on


def test_inputs_that_do_not_fit_are_refused_saying_what_the_model_expects(digits_run, tmp_path):
    x, _ = load_digits_tensors()
    np.savez(tmp_path / "cropped.npz", x=(x * 16).reshape(len(x), 64)[:, :60].numpy())
    out = tmp_path / "p.csv"
    process = predict(digits_run, tmp_path / "cropped.npz", "--out", out, cwd=tmp_path)
    assert_refused(process, out, 2, "inputs of shape (1797, 60), but this model was trained on inputs of shape "
                   "(1, 8, 8)", "shaped (N, 1, 8, 8) or (N, 64)", "input_scale=0.0625")


def test_unusable_models_and_missing_inputs_fail_in_one_paragraph(digits_run, tmp_path):
    x, _ = load_digits_tensors()
    np.savez(tmp_path / "digits.npz", x=(x * 16).numpy())
    out = tmp_path / "p.csv"
    process = predict(digits_run, tmp_path / "nothing.npz", "--out", out, cwd=tmp_path)
    assert_refused(process, out, 1, "nothing.npz: no such file or folder")
    (tmp_path / "empty_run" / "checkpoints").mkdir(parents=True)
    process = predict(tmp_path / "empty_run", tmp_path / "digits.npz", "--out", out, cwd=tmp_path)
    assert_refused(process, out, 1, "holds no readable checkpoint with finite weights")

    best = ranked_checkpoints(digits_run, 1)[0]
    checkpoint = torch.load(best, weights_only=True)
    name = next(n for n, t in checkpoint["state_dict"].items() if t.is_floating_point())
    checkpoint["state_dict"][name] = torch.full_like(checkpoint["state_dict"][name], float("nan"))
    torch.save(checkpoint, tmp_path / "diverged.ckpt")
    process = predict(tmp_path / "diverged.ckpt", tmp_path / "digits.npz", "--out", out, cwd=tmp_path)
    assert_refused(process, out, 1, "holds NaN or inf")

    checkpoint = torch.load(best, weights_only=True)
    checkpoint["hyper_parameters"]["model"]["_target_"] = "os.system"
    torch.save(checkpoint, tmp_path / "crafted.ckpt")
    process = predict(tmp_path / "crafted.ckpt", tmp_path / "digits.npz", "--out", out, cwd=tmp_path)
    assert_refused(process, out, 1, "names `_target_: 'os.system'`", "Nothing was built")


def test_image_model_predicts_one_file_and_a_folder(image_run, tmp_path):
    run, root = image_run
    shutil.copy(root / "apple" / "003.png", tmp_path / "an_apple.png")
    process = predict(run, tmp_path / "an_apple.png", "--out", tmp_path / "one.csv", cwd=tmp_path)
    assert process.returncode == 0, process.stderr[-3000:]
    (row,) = read_predictions(tmp_path / "one.csv")
    assert row["id"] == "an_apple.png" and row["predicted"] == "apple"
    assert list(row)[3:] == ["p_apple", "p_leaf", "p_sky"]

    process = predict(run, root, "--out", tmp_path / "all.csv", cwd=tmp_path)  # a folder, searched recursively
    assert process.returncode == 0, process.stderr[-3000:]
    rows = read_predictions(tmp_path / "all.csv")
    assert len(rows) == 90 and "predicted 90 rows" in process.stdout
    assert np.mean([Path(r["id"]).parts[0] == r["predicted"] for r in rows]) > 0.8  # ids: apple/000.png ...
    for r in rows:
        assert sum(float(r[c]) for c in ("p_apple", "p_leaf", "p_sky")) == pytest.approx(1, abs=1e-4)
        assert float(r["confidence"]) == max(float(r[c]) for c in ("p_apple", "p_leaf", "p_sky"))

    (tmp_path / "table.csv").write_text("a,b\n1,2\n")
    process = predict(run, tmp_path / "table.csv", "--out", tmp_path / "p.csv", cwd=tmp_path)
    assert_refused(process, tmp_path / "p.csv", 2, "this model was trained on images of size 8x8 (rgb) "
                   "(data=image_folder): give an image file or a folder of images")


def test_table_model_predicts_new_rows_with_the_recorded_encoding(csv_run, tmp_path):
    run, table = csv_run
    out = tmp_path / "table_predictions.csv"
    process = predict(run, table, "--id-column", "id", "--out", out, cwd=tmp_path)  # the target column is ignored
    assert process.returncode == 0, process.stderr[-3000:]
    rows = read_predictions(out)
    assert len(rows) == 240 and rows[0]["id"] == "id0"
    assert list(rows[0]) == ["id", "predicted", "confidence", "p_cat", "p_dog", "p_fox"]
    for r in rows:
        assert sum(float(r[f"p_{name}"]) for name in ("cat", "dog", "fox")) == pytest.approx(1, abs=1e-4)
    with open(table, newline="") as file:
        labels = [r["species"] for r in csv.DictReader(file)]
    assert np.mean([r["predicted"] == label for r, label in zip(rows, labels, strict=True)]) > 0.8
    # the same as the model's own forward pass on the inputs the recorded preprocessing gives
    module = load_classifier(ranked_checkpoints(run, 1)[0])
    _, x = read_new_csv(table, module.hparams["data"]["preprocessing"])
    with torch.no_grad():
        predicted = module(x).argmax(1).tolist()
    assert [r["predicted"] for r in rows] == [["cat", "dog", "fox"][k] for k in predicted]

    (tmp_path / "no_weight.csv").write_text("id,size,color\nx,1.0,red\n")
    process = predict(run, tmp_path / "no_weight.csv", "--out", out.with_name("p.csv"), cwd=tmp_path)
    assert_refused(process, out.with_name("p.csv"), 2, "lacks the column(s) ['weight']",
                   "The model expects the columns: size, weight, color")
