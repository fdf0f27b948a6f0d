"""The tuning knobs are real: every option trains, and each one does what its name says.

Training runs go through `python train.py` (subprocesses); what can only be seen inside a
run (the built layers, the inputs a batch hook passes on) is checked in-process on modules
built from the same composed configs.
"""

import math

import lightning as L
import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from torch import nn

from conftest import FAST, ROOT, read_metrics, run_script, when_room

SHAPE = (1, 8, 8)  # digits
# A few steps, short validation and test (the LR is logged on every step by default).
SHORT = ["trainer.max_steps=40", "trainer.limit_val_batches=2",
         "trainer.limit_test_batches=2", *FAST]

# Each run turns several knobs at once so that a handful of runs cover every option.
COMBOS = {
    "constant": ["model=tiny", "optimizer=adam", "scheduler=none", "regularization=l1", "augmentation=light",
                 "data.fraction=0.5", "trainer.accumulate_grad_batches=2", "trainer.precision=bf16-mixed"],
    "step": ["model=small", "optimizer=adamw", "scheduler=step", "regularization=l2", "augmentation=heavy",
             "model.norm=layer", "model.activation=gelu", "model.init=kaiming"],
    "exponential": ["model=medium", "optimizer=sgd", "scheduler=exponential", "regularization=label_smoothing",
                    "model.norm=none", "model.activation=leaky_relu", "model.init=xavier", "model.residual=false",
                    "trainer.gradient_clip_val=1.0", "trainer.gradient_clip_algorithm=norm"],
    "onecycle": ["model=large", "model.residual=true", "optimizer=adam", "scheduler=onecycle", "regularization=none",
                 "augmentation=none"],
    "cosine": ["model=tiny", "optimizer=sgd", "scheduler=cosine", "scheduler.warmup_steps=5",
               "scheduler.min_lr_ratio=0.1", "regularization=strong", "regularization.dropout=0.2",
               "trainer.gradient_clip_val=0.5", "trainer.gradient_clip_algorithm=value",
               "trainer.deterministic=true", "data.batch_size=32"],
    "dropout": ["model=tiny", "regularization=dropout", "data.num_workers=0", "scheduler=warm_restarts"],
    # the MLP ladder (it flattens the digits' images)
    "mlp_tiny": ["model=mlp_tiny", "model.norm=layer", "model.activation=gelu", "model.residual=false",
                 "model.init=kaiming", "augmentation=light"],
    "mlp_small": ["model=mlp_small", "model.norm=none", "model.activation=leaky_relu", "model.init=xavier",
                  "optimizer=adamw", "regularization=l2"],
    "mlp_medium": ["model=mlp_medium", "regularization=dropout", "scheduler=none"],
    "mlp_large": ["model=mlp_large", "optimizer=sgd", "scheduler=onecycle"],
}
KNOB_GROUPS = ["model", "optimizer", "scheduler", "regularization", "augmentation"]


def options(group: str) -> set[str]:
    return {p.stem for p in (ROOT / "configs" / group).glob("*.yaml")}


def config(*overrides: str):
    with initialize_config_dir(config_dir=str(ROOT / "configs"), version_base="1.3"):
        return compose("train", overrides=list(overrides))


def build_model(*overrides: str) -> nn.Module:
    """The backbone as train.py builds it (module.build_module: shape from the data, dropout from regularization)."""
    from {{cookiecutter.package_name}}.core.data import DigitsData
    from {{cookiecutter.package_name}}.core.module import build_module

    torch.manual_seed(0)
    return build_module(config(*overrides), DigitsData()).model


def scalars(run_dir, tag: str) -> list[float]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0}).Reload()
    return [e.value for e in sorted(events.Scalars(tag), key=lambda e: e.step)]


@pytest.fixture(scope="module")
def combo_runs(tmp_path_factory):
    """Train every combination once (shared by the tests below): name -> run folder."""
    runs = {}
    for name, overrides in COMBOS.items():
        run_dir = tmp_path_factory.mktemp(name)
        process = run_script("train.py", f"hydra.run.dir={run_dir}", f"paths.log_dir={run_dir}", *overrides, *SHORT)
        assert process.returncode == 0, (name, process.stdout[-2000:] + process.stderr[-3000:])
        runs[name] = run_dir
    return runs


# --- every option of every knob group trains -------------------------------------------

def test_the_combinations_cover_every_option():
    for group in KNOB_GROUPS:
        used = {o.split("=")[1] for combo in COMBOS.values() for o in combo if o.startswith(f"{group}=")}
        assert used == options(group), (group, options(group) - used)
    assert {"l2", "l1", "dropout", "label_smoothing", "strong", "none"} <= options("regularization")
    assert {"none", "step", "exponential", "cosine", "onecycle"} <= options("scheduler")
    assert {"none", "light", "heavy"} <= options("augmentation")


@pytest.mark.parametrize("name", COMBOS)
def test_every_option_trains_a_few_steps(combo_runs, name):
    metrics = read_metrics(combo_runs[name])
    assert math.isfinite(metrics["train/loss"]) and 0 <= metrics["test/acc"] <= 1, metrics
    assert (combo_runs[name] / "checkpoints" / "last.ckpt").exists()


def test_accumulation_takes_one_optimizer_step_per_two_batches(combo_runs):
    # data.fraction=0.5: 629 examples, 10 batches an epoch, so 5 optimizer steps an epoch:
    # 40 steps end in the 8th epoch (the 4th without accumulation).
    checkpoint = torch.load(combo_runs["constant"] / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["global_step"] == 40 and checkpoint["epoch"] == 7, (checkpoint["global_step"], checkpoint["epoch"])


def test_data_fraction_keeps_a_seeded_stratified_part_of_the_training_set():
    full = instantiate(config().data)
    part = instantiate(config("data.fraction=0.25").data)
    again = instantiate(config("data.fraction=0.25").data)
    (_, full_y), (part_x, part_y) = full.split_tensors("train"), part.split_tensors("train")
    assert len(part_y) == pytest.approx(0.25 * len(full_y), abs=10)
    assert torch.equal(part_x, again.split_tensors("train")[0])  # the same examples every time
    share = part_y.bincount() / len(part_y)
    assert share.tolist() == pytest.approx((full_y.bincount() / len(full_y)).tolist(), abs=0.01)
    for split in ("val", "test"):  # comparable runs
        assert torch.equal(part.split_tensors(split)[0], full.split_tensors(split)[0])


# --- schedules: the logged LR follows each definition, step by step -------------------

def lr_trajectory(run_dir) -> list[float]:
    lrs = scalars(run_dir, "train/lr")
    assert len(lrs) == 40, len(lrs)  # logged on every one of the 40 steps
    return lrs


def test_constant_lr_without_a_scheduler(combo_runs):
    lrs = scalars(combo_runs["constant"], "train/lr")
    assert lrs == pytest.approx([1e-3] * 40)


def test_step_schedule_multiplies_by_gamma_exactly_at_the_milestones(combo_runs):
    lrs = lr_trajectory(combo_runs["step"])  # milestones [0.5, 0.75] of 40 steps: 20 and 30
    expected = [1e-3 * 0.1 ** ((i >= 20) + (i >= 30)) for i in range(40)]
    assert lrs == pytest.approx(expected, rel=1e-5)


def test_exponential_schedule_multiplies_by_gamma_every_n_steps(combo_runs):
    lrs = lr_trajectory(combo_runs["exponential"])  # sgd lr 0.05, x0.95 every 10 steps
    assert lrs == pytest.approx([0.05 * 0.95 ** (i // 10) for i in range(40)], rel=1e-5)


def test_cosine_warms_up_linearly_then_decays_to_the_floor(combo_runs):
    lrs = lr_trajectory(combo_runs["cosine"])  # sgd lr 0.05, 5 warmup steps, floor 0.1 x lr
    warmup = [0.05 * (i + 1) / 5 for i in range(5)]
    decay = [0.05 * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * (i - 5) / 35))) for i in range(5, 40)]
    assert lrs == pytest.approx(warmup + decay, rel=1e-5)
    assert 0.005 <= lrs[-1] < 0.0051  # at the floor by the end


def test_onecycle_rises_to_the_optimizer_lr_then_anneals_far_below(combo_runs):
    lrs = lr_trajectory(combo_runs["onecycle"])  # adam lr 1e-3, peak at 30 % of 40 steps
    assert lrs[0] == pytest.approx(1e-3 / 25, rel=1e-4)
    assert max(lrs) == pytest.approx(1e-3, rel=1e-3) and abs(lrs.index(max(lrs)) - 12) <= 1
    assert lrs[-1] == pytest.approx(1e-3 / 25 / 1e4, rel=1e-2)


# --- regularization ------------------------------------------------------------------

def test_l1_penalty_is_logged_as_its_own_term(combo_runs):
    penalties = scalars(combo_runs["constant"], "train/l1_penalty")
    assert penalties and all(p > 0 for p in penalties)


def weights(run_dir) -> torch.Tensor:
    state = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    return torch.cat([w.flatten() for k, w in state.items() if k.endswith("weight") and w.ndim > 1])


@pytest.fixture(scope="module")
def regularized_weights(tmp_path_factory):
    """One epoch of the tiny model with no regularization, strong L1 and strong L2."""
    runs = {"none": [], "l1": ["regularization.l1=1e-2"], "l2": ["regularization.weight_decay=0.1"]}
    result = {}
    for name, extra in runs.items():
        run_dir = tmp_path_factory.mktemp(f"reg_{name}")
        process = run_script("train.py", f"hydra.run.dir={run_dir}", f"paths.log_dir={run_dir}", "model=tiny",
                             f"regularization={name}", *extra, "trainer.max_epochs=1", "scheduler=none", *FAST)
        assert process.returncode == 0, process.stderr[-3000:]
        result[name] = weights(run_dir)
    return result


def test_l1_makes_weights_sparser(regularized_weights):
    def near_zero(w):
        return (w.abs() < 1e-3).float().mean().item()

    assert near_zero(regularized_weights["l1"]) > 3 * near_zero(regularized_weights["none"]), {
        k: near_zero(w) for k, w in regularized_weights.items()}


def test_l2_shrinks_the_weight_norm(regularized_weights):
    norms = {k: w.norm().item() for k, w in regularized_weights.items()}
    assert norms["l2"] < 0.95 * norms["none"], norms


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd"])
def test_weight_decay_skips_biases_and_normalization_weights(optimizer):
    from {{cookiecutter.package_name}}.core.data import DigitsData
    from {{cookiecutter.package_name}}.core.module import build_module

    for model in ["small", "mlp_small"]:
        cfg = config(f"model={model}", f"optimizer={optimizer}", "regularization=l2", "scheduler=none")
        module = build_module(cfg, DigitsData())
        groups = module.configure_optimizers().param_groups
        decayed = [p for g in groups if g["weight_decay"] == 1e-3 for p in g["params"]]
        kept = [p for g in groups if g["weight_decay"] == 0.0 for p in g["params"]]
        names = {id(p): name for name, p in module.named_parameters()}
        assert sorted(names[id(p)] for p in decayed + kept) == sorted(names.values())  # every parameter, once
        assert decayed and all(p.ndim > 1 for p in decayed)  # conv kernels and linear weights
        kept_names = {names[id(p)] for p in kept}
        assert "model.head.bias" in kept_names and any(".norm1.weight" in n for n in kept_names), kept_names


def test_dropout_is_random_in_training_and_off_in_evaluation():
    model = build_model("model=small", "regularization=dropout", "regularization.dropout=0.5")
    assert model.dropout.p == 0.5
    x = torch.rand(16, *SHAPE)
    model.train()
    assert not torch.equal(model(x), model(x))
    model.eval()
    assert torch.equal(model(x), model(x))


def test_label_smoothing_puts_a_floor_under_the_loss(train):
    # A perfect prediction of smoothed targets (0.91 on the true class, 0.01 elsewhere) has
    # cross-entropy H = 0.50, not 0: memorizing 64 examples cannot get below it. (Not overfit=true:
    # the overfitting check switches every regularization off.)
    process, run_dir = train("data.subset=64", "regularization=label_smoothing", "scheduler=none", "optimizer.lr=0.01",
                             "trainer.max_epochs=-1", "trainer.max_steps=150", "trainer.check_val_every_n_epoch=50",
                             "~callbacks.early_stopping", *when_room("checks", "baselines=false"), *when_room("ensembles", "ensemble.k=0"), *FAST)
    floor = -(0.91 * math.log(0.91) + 9 * 0.01 * math.log(0.01))
    assert floor - 1e-3 < read_metrics(run_dir)["train/loss"] < floor + 0.2


# --- augmentation: training inputs only ------------------------------------------------

class RecordInputs(L.Callback):
    """Keeps the inputs each stage's step receives (after `on_after_batch_transfer`)."""

    def __init__(self):
        self.inputs = {"train": [], "val": [], "test": []}

    def on_train_batch_start(self, trainer, module, batch, batch_idx):
        self.inputs["train"].append(batch[0].clone())

    def on_validation_batch_start(self, trainer, module, batch, batch_idx, dataloader_idx=0):
        self.inputs["val"].append(batch[0].clone())

    def on_test_batch_start(self, trainer, module, batch, batch_idx, dataloader_idx=0):
        self.inputs["test"].append(batch[0].clone())


def inputs_seen(augmentation: str) -> dict[str, float]:
    """Fraction of the inputs of each stage that are untouched examples of the dataset."""
    from {{cookiecutter.package_name}}.run import build_data_and_module

    cfg = config(f"augmentation={augmentation}", "scheduler=none")
    L.seed_everything(0, verbose=False)
    data, module = build_data_and_module(cfg)
    recorder = RecordInputs()
    trainer = L.Trainer(max_steps=3, limit_val_batches=2, limit_test_batches=2, logger=False, callbacks=[recorder],
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(module, datamodule=data)
    trainer.test(module, datamodule=data, verbose=False)
    originals = {split: data.split_tensors(split)[0] for split in ("train", "val", "test")}
    untouched = {}
    for stage, batches in recorder.inputs.items():
        x = torch.cat(batches).flatten(1)
        distance = torch.cdist(x, originals[stage].flatten(1)).min(dim=1).values
        untouched[stage] = (distance == 0).float().mean().item()
    return untouched


@pytest.mark.filterwarnings("ignore:.*LeafSpec")
def test_no_augmentation_passes_inputs_through_untouched():
    assert inputs_seen("none") == {"train": 1.0, "val": 1.0, "test": 1.0}


@pytest.mark.filterwarnings("ignore:.*LeafSpec")
@pytest.mark.parametrize("augmentation", ["light", "heavy"])
def test_augmentation_changes_training_inputs_only(augmentation):
    untouched = inputs_seen(augmentation)
    assert untouched["train"] < 0.5, untouched  # each transform fires with its own probability
    assert untouched["val"] == 1.0 and untouched["test"] == 1.0, untouched


# --- model: sizes and options are applied ----------------------------------------------

def test_model_sizes_grow_at_least_threefold():
    from {{cookiecutter.package_name}}.core.models import count_parameters

    counts = [count_parameters(build_model(f"model={size}")) for size in ["tiny", "small", "medium", "large"]]
    assert all(bigger >= 3 * smaller for smaller, bigger in zip(counts, counts[1:], strict=False)), counts


def test_large_model_with_residual_connections_trains_on_digits(combo_runs):
    # 40 steps (2 epochs) of one-cycle: the 2.8M-parameter model already sorts most digits.
    assert read_metrics(combo_runs["onecycle"])["test/acc"] > 0.9


def test_mlp_sizes_grow_strictly_on_images_and_on_vectors():
    from {{cookiecutter.package_name}}.core.models import MLP, count_parameters

    sizes = ["mlp_tiny", "mlp_small", "mlp_medium", "mlp_large"]
    counts = [count_parameters(build_model(f"model={size}")) for size in sizes]
    assert all(bigger > 2 * smaller for smaller, bigger in zip(counts, counts[1:], strict=False)), counts
    vectors = [count_parameters(MLP((12,), 1, **{k: v for k, v in config(f"model={size}").model.items()
                                               if k != "_target_"})) for size in sizes]
    assert all(bigger > 2 * smaller for smaller, bigger in zip(vectors, vectors[1:], strict=False)), vectors


@pytest.mark.parametrize("shape", [(12,), (1, 8, 8), (3, 5)])
def test_mlp_flattens_any_input_shape(shape):
    from {{cookiecutter.package_name}}.core.models import MLP

    model = MLP(shape, 4, width=16, depth=1)
    assert model(torch.rand(7, *shape)).shape == (7, 4)


MLP_KNOBS = [("model.norm=batch", nn.BatchNorm1d), ("model.norm=layer", nn.LayerNorm), ("model.norm=none", None),
             ("model.activation=relu", nn.ReLU), ("model.activation=leaky_relu", nn.LeakyReLU),
             ("model.activation=gelu", nn.GELU)]


@pytest.mark.parametrize("override, layer", MLP_KNOBS, ids=[k[0] for k in MLP_KNOBS])
def test_mlp_norm_and_activation_options_are_applied(override, layer):
    model = build_model("model=mlp_small", override)
    kinds = (nn.BatchNorm1d, nn.LayerNorm, nn.BatchNorm2d, nn.GroupNorm) if "norm" in override else (
        nn.ReLU, nn.LeakyReLU, nn.GELU)
    found = [m for m in model.modules() if isinstance(m, kinds)]
    if layer is None:
        assert found == [] and all(m.bias is not None for m in model.modules() if isinstance(m, nn.Linear))
    else:
        assert found and all(type(m) is layer for m in found), found
    assert model(torch.rand(4, *SHAPE)).shape == (4, 10)


@pytest.mark.parametrize("depth", [-1, 1.5, "'two'"])
def test_mlp_depth_must_be_a_whole_number(depth):
    from {{cookiecutter.package_name}}.core.data import DigitsData
    from {{cookiecutter.package_name}}.core.module import build_module
    from {{cookiecutter.package_name}}.core.validate import ConfigError

    with pytest.raises(ConfigError, match="model.depth=.* whole number of blocks >= 0"):
        build_module(config("model=mlp_small", f"model.depth={depth}"), DigitsData())
    assert len(build_model("model=mlp_small", "model.depth=0").blocks) == 0  # stem and head only


def test_mlp_residual_dropout_and_init_options_are_applied():
    from {{cookiecutter.package_name}}.core.models import DenseBlock

    for residual in [True, False]:
        blocks = [m for m in build_model("model=mlp_medium", f"model.residual={residual}").modules()
                  if isinstance(m, DenseBlock)]
        assert len(blocks) == 4 and all(b.residual is residual for b in blocks)
    assert build_model("model=mlp_small", "regularization=dropout", "regularization.dropout=0.4").dropout.p == 0.4

    def last_linear_std(scheme):  # a 128 -> 128 hidden layer of mlp_medium
        return [m for m in build_model("model=mlp_medium", f"model.init={scheme}").modules()
                if isinstance(m, nn.Linear)][-2].weight.std().item()

    assert last_linear_std("default") == pytest.approx(1 / math.sqrt(3 * 128), rel=0.1)
    assert last_linear_std("kaiming") == pytest.approx(math.sqrt(2 / 128), rel=0.1)
    assert last_linear_std("xavier") == pytest.approx(math.sqrt(2) * math.sqrt(2 / 256), rel=0.1)


@pytest.mark.parametrize("norm, layer", [("batch", nn.BatchNorm2d), ("layer", nn.GroupNorm), ("none", None)])
def test_norm_option_is_applied(norm, layer):
    model = build_model("model=small", f"model.norm={norm}")
    norms = [m for m in model.modules() if isinstance(m, (nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm))]
    if layer is None:
        assert norms == []
    else:
        assert norms and all(type(m) is layer for m in norms)
        assert all(m.num_groups == 1 for m in norms if isinstance(m, nn.GroupNorm))  # over all channels


@pytest.mark.parametrize("activation, layer", [("relu", nn.ReLU), ("leaky_relu", nn.LeakyReLU), ("gelu", nn.GELU)])
def test_activation_option_is_applied(activation, layer):
    model = build_model("model=small", f"model.activation={activation}")
    activations = [m for m in model.modules() if isinstance(m, (nn.ReLU, nn.LeakyReLU, nn.GELU))]
    assert activations and all(type(m) is layer for m in activations)


def test_residual_option_adds_or_removes_the_skip_connections():
    from {{cookiecutter.package_name}}.core.models import ResidualBlock

    for residual in [True, False]:
        blocks = [m for m in build_model("model=medium", f"model.residual={residual}").modules()
                  if isinstance(m, ResidualBlock)]
        assert blocks and all(b.residual is residual for b in blocks)


def test_init_option_sets_the_weight_scale():
    def conv_std(scheme):  # the last conv of the medium model: 64 -> 64 channels, 3x3
        conv = [m for m in build_model("model=medium", f"model.init={scheme}").modules() if isinstance(m, nn.Conv2d)][-1]
        return conv.weight.std().item(), conv.weight.shape

    default, shape = conv_std("default")
    fan_in, fan_out = shape[1] * 9, shape[0] * 9
    assert default == pytest.approx(1 / math.sqrt(3 * fan_in), rel=0.1)  # PyTorch: kaiming_uniform(a=sqrt 5)
    assert conv_std("kaiming")[0] == pytest.approx(math.sqrt(2 / fan_in), rel=0.1)
    assert conv_std("xavier")[0] == pytest.approx(math.sqrt(2) * math.sqrt(2 / (fan_in + fan_out)), rel=0.1)


def test_validate_knows_the_same_names_as_the_model():
    from {{cookiecutter.package_name}}.core import models, validate

    assert set(validate.ACTIVATIONS) == set(models.ACTIVATIONS)
    assert set(validate.NORMS) == set(models.NORMS) and set(validate.INITS) == set(models.INITS)


# --- bad values fail at once, naming key, value and what is allowed --------------------

BAD_VALUES = [
    ("optimizer.lr=0", "optimizer.lr=0", "> 0"),
    ("optimizer.lr=-0.1", "optimizer.lr=-0.1", "> 0"),
    ("optimizer.lr='0.1'", "optimizer.lr='0.1'", "> 0"),  # a string, not a number
    ("regularization.dropout=1.0", "regularization.dropout=1.0", "[0, 1)"),
    ("regularization.dropout=-0.2", "regularization.dropout=-0.2", "[0, 1)"),
    ("regularization.weight_decay=-1e-4", "regularization.weight_decay=-0.0001", ">= 0"),
    ("regularization.l1=-1", "regularization.l1=-1", ">= 0"),
    ("model.activation=swish", "model.activation='swish'", "relu, leaky_relu, gelu"),
    ("model.norm=group", "model.norm='group'", "batch, layer, none"),
    ("model.init=orthogonal", "model.init='orthogonal'", "default, kaiming, xavier"),
    ("optimizer.betas=[0.9,1.0]", "optimizer.betas=[0.9, 1.0]", "[0, 1)"),
    ("optimizer.betas=[-0.1,0.99]", "optimizer.betas=[-0.1, 0.99]", "[0, 1)"),
    ("data.fraction=0", "data.fraction=0", "(0, 1]"),
    ("data.fraction=1.5", "data.fraction=1.5", "(0, 1]"),
    ("data.batch_size=abc", "data.batch_size='abc'", "whole number"),
    ("model.residual=maybe", "model.residual='maybe'", "true or false"),
    ("augmentation=light augmentation.rotation.p=2", "augmentation.rotation.p=2", "[0, 1]"),
    ("trainer.precision=8", "trainer.precision=8", "32-true"),
]


@pytest.mark.parametrize("override, named, allowed", BAD_VALUES, ids=[b[0] for b in BAD_VALUES])
def test_bad_value_fails_with_its_message(tmp_path, override, named, allowed):
    process = run_script("train.py", f"hydra.run.dir={tmp_path}", f"paths.log_dir={tmp_path}", *override.split())
    assert process.returncode != 0
    assert named in process.stderr and allowed in process.stderr, process.stderr[-2000:]
    assert "Nothing was trained" in process.stderr
    assert not (tmp_path / "checkpoints").exists() and not (tmp_path / "metrics.json").exists()


def test_misspelled_group_option_lists_the_available_ones(tmp_path):
    process = run_script("train.py", f"hydra.run.dir={tmp_path}", "regularization=strongg")
    assert process.returncode == 2, process.stderr  # the project's paragraph (core/command_line.py), not Hydra's text
    assert "regularization=strongg is not an option of the regularization group" in process.stderr
    assert "(the nearest: strong)" in process.stderr
    assert all(option in process.stderr for option in options("regularization")), process.stderr
