"""Is training healthy, layer by layer? Diagnostics every N steps, with known healthy ranges.

Every `every_n_steps` optimizer steps, and never in between, this logs under `diag/<layer>/`:
- histograms of each activation module's input (`preact`) and output (`act`), of every
  layer's weights (`weight`: the matrices and kernels of conv and linear layers) and of
  their gradients (`weight_grad`);
- per activation: pre-activation mean and std, and the dead fraction (units, i.e. channels
  or features, whose pre-activation is <= 0 for every example and position of the batch);
- per layer: gradient norm, weight norm, and the update/weight ratio |w_after - w_before|
  / |w_before| measured across the optimizer step;
- `diag/grad_norm_total`, the global gradient norm before clipping.
Each quantity has a healthy range (`ranges`). The first time a value of a layer leaves its
range, or is not finite, an alert is printed (once per layer and quantity) and logged as
TensorBoard text under `diag/alerts`, at the step it happened, so you can find when it started.
During the first `grace_steps` optimizer steps `first_steps_ranges` replace them where given:
Adam's first updates are about lr per weight whatever the gradient, large next to freshly
initialised weights (update/weight ratios up to ~0.6 at step 0 with the learning rate that
the LR range test suggests; ~10-30x more with a learning rate 45x too high).

Cost tiers as in Cockpit: between logging steps this callback compares one counter and does
nothing else. Forward hooks exist only from the start of a logging step's batch to its
optimizer step; they keep a few numbers and a small random subsample for the histograms,
never the activations themselves. Our own code: Lightning gives the gradient norms (its
`grad_norm` is used below); no library offers the rest with ranges at this cost.
"""

import math
from functools import partial

import lightning as L
import torch
from lightning.pytorch.utilities import grad_norm
from torch import nn

from ..core.writer import tensorboard_writer

# Modules whose input is a "pre-activation". Add your own activation class here.
ACTIVATION_TYPES = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU,
                    nn.SiLU, nn.Mish, nn.Hardswish, nn.Softplus, nn.Tanh, nn.Sigmoid)

# Healthy [low, high] per quantity; see docs/diagnostics.md.
DEFAULT_RANGES = {
    "update_ratio": [1e-7, 0.1],
    "dead_fraction": [0.0, 0.5],
    "preact_std": [0.05, 20.0],
    "grad_norm_total": [0.0, 100.0],
}


class Diagnostics(L.Callback):
    def __init__(self, every_n_steps: int = 100, histograms: bool = True, max_histogram_values: int = 2048,
                 histogram_bins: int = 64, ranges: dict | None = None, grace_steps: int = 50,
                 first_steps_ranges: dict | None = None):
        self.every_n_steps = every_n_steps  # 0: off
        self.histograms = histograms
        self.max_histogram_values = max_histogram_values  # add_histogram costs ~87 ms per 1M values
        self.histogram_bins = histogram_bins
        self.ranges = DEFAULT_RANGES | dict(ranges or {})
        self.grace_steps = grace_steps  # the expected transient of the first steps: first_steps_ranges
        self.first_steps_ranges = {"update_ratio": [1e-7, 1.0]} if first_steps_ranges is None else dict(first_steps_ranges)
        self.alerted: set[str] = set()  # "<layer>/<quantity>" already reported (kept on resume)
        self._hooks = []  # only during a logging step
        self._step = {}   # numbers and subsamples of the current logging step, cleared at its end
        self._generator = torch.Generator().manual_seed(0)  # subsamples, independent of training

    # -- when -------------------------------------------------------------------------------

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if not self.every_n_steps or trainer.global_step % self.every_n_steps or not trainer.is_global_zero:
            return
        self._remove_hooks()
        self._step = {"step": trainer.global_step, "scalars": {}, "samples": {}, "checked_only": {}}
        for name, module in pl_module.named_modules():
            if isinstance(module, ACTIVATION_TYPES):
                self._hooks.append(module.register_forward_pre_hook(partial(self._record_input, name)))
                self._hooks.append(module.register_forward_hook(partial(self._record_output, name)))

    def on_before_optimizer_step(self, trainer, pl_module, optimizer):
        """Gradients are complete here (and not yet clipped); the forward pass is over."""
        if not self._step:
            return
        self._remove_hooks()
        scalars, samples = self._step["scalars"], self._step["samples"]
        norms = grad_norm(pl_module, 2, group_separator="|")  # Lightning's: per parameter and total
        scalars["grad_norm_total"] = norms.pop("grad_2.0_norm_total", torch.tensor(0.0))
        weights = dict(layer_weights(pl_module))
        for key, value in norms.items():  # the other parameters' gradients: checked, not logged
            layer, kind = split_name(key.split("|", 1)[1])
            self._step["checked_only"][f"{layer}/{kind}_grad_norm"] = value
        for name, p in weights.items():
            layer, kind = split_name(name)
            if p.grad is not None:
                scalars[f"{layer}/{kind}_grad_norm"] = norms[f"grad_2.0_norm|{name}"]
                if self.histograms:
                    samples[f"{layer}/{kind}_grad"] = self._subsample(p.grad)
        # A copy of the weights, to measure the update the optimizer is about to make.
        self._step["before"] = {name: p.detach().clone() for name, p in weights.items()}

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if "before" not in self._step:  # no optimizer step yet (gradient accumulation): wait for it
            return
        self._remove_hooks()
        step, self._step = self._step, {}  # nothing of this step outlives it
        scalars, samples, before = step["scalars"], step["samples"], step.get("before", {})
        with torch.no_grad():
            for name, p in layer_weights(pl_module):
                layer, kind = split_name(name)
                scalars[f"{layer}/{kind}_norm"] = p.norm()
                if name in before:
                    old = before[name]
                    scalars[f"{layer}/{kind}_update_ratio"] = (p - old).norm() / (old.norm() + 1e-12)
                if self.histograms:
                    samples[f"{layer}/{kind}"] = self._subsample(p)
        checked = step["checked_only"] | scalars
        values = torch.stack([torch.as_tensor(v, dtype=torch.float32).cpu() for v in checked.values()]).tolist()
        checked = dict(zip(checked, values, strict=True))  # one transfer to the CPU for all numbers
        self._write(trainer, step["step"], checked, logged=scalars.keys(), samples=samples)

    def on_train_end(self, trainer, pl_module):
        self._remove_hooks()
        self._step = {}

    def teardown(self, trainer, pl_module, stage):
        self._remove_hooks()
        self._step = {}

    # -- what -------------------------------------------------------------------------------

    def _record_input(self, name, module, args):
        with torch.no_grad():
            x = args[0].detach()
            scalars = self._step["scalars"]
            scalars[f"{name}/preact_mean"] = x.mean()
            scalars[f"{name}/preact_std"] = x.std() if x.numel() > 1 else torch.tensor(0.0)
            if x.ndim >= 2:  # a unit is a feature (dim 1), over all examples and positions
                alive = (x > 0).any(dim=0).reshape(x.shape[1], -1).any(dim=1)
                scalars[f"{name}/dead_fraction"] = 1.0 - alive.float().mean()
            if self.histograms:
                self._step["samples"][f"{name}/preact"] = self._subsample(x)

    def _record_output(self, name, module, args, output):
        if self.histograms and isinstance(output, torch.Tensor):
            self._step["samples"][f"{name}/act"] = self._subsample(output.detach())

    def _subsample(self, x: torch.Tensor) -> torch.Tensor:
        """At most `max_histogram_values` random values of x, as a small copy on the CPU."""
        flat = x.detach().flatten()
        if flat.numel() > self.max_histogram_values:
            index = torch.randint(flat.numel(), (self.max_histogram_values,), generator=self._generator)
            flat = flat[index.to(flat.device)]
        return flat.float().cpu().clone()

    def _write(self, trainer, step: int, values: dict, logged, samples: dict):
        for logger in trainer.loggers:
            logger.log_metrics({f"diag/{key}": values[key] for key in logged}, step=step)
        writer = tensorboard_writer(trainer)
        if writer is not None:
            for tag, sample in samples.items():
                sample = sample[torch.isfinite(sample)]
                if sample.numel():
                    writer.add_histogram(f"diag/{tag}", sample, step, bins=self.histogram_bins)
        for key, value in values.items():
            self._check(key, value, step, writer)

    def _check(self, key: str, value: float, step: int, writer):
        layer, _, quantity = key.rpartition("/")
        kind = next((q for q in self.ranges if quantity == q or quantity.endswith("_" + q)), None)
        ranges = self.first_steps_ranges if step < self.grace_steps else {}
        low, high = (ranges.get(kind) or self.ranges[kind]) if kind else (-math.inf, math.inf)
        if math.isfinite(value) and low <= value <= high:
            return
        if key in self.alerted:
            return
        self.alerted.add(key)
        problem = "non-finite" if not math.isfinite(value) else f"outside the healthy range [{low:g}, {high:g}]"
        problem += f" of the first {self.grace_steps} steps" if kind in ranges and math.isfinite(value) else ""
        message = f"step {step}: {layer or 'model'} {quantity} = {value:.4g}, {problem}"
        print(f"diagnostics alert: {message}")
        if writer is not None:
            writer.add_text("diag/alerts", message, step)

    def _remove_hooks(self):
        for hook in self._hooks:
            hook.remove()
        self._hooks = []

    # -- resume -----------------------------------------------------------------------------

    def state_dict(self):
        return {"alerted": sorted(self.alerted)}

    def load_state_dict(self, state_dict):
        self.alerted = set(state_dict.get("alerted", []))


def layer_weights(pl_module):
    """(name, parameter) of the weight matrices and kernels: the layers. Biases and norm scales
    (1-d, starting at 0 or 1) are left out: their ratios say little and would double the cost."""
    return [(name, p) for name, p in pl_module.named_parameters() if p.ndim > 1 and p.requires_grad]


def split_name(parameter_name: str) -> tuple[str, str]:
    """'model.head.weight' -> ('model.head', 'weight'): the layer and which of its tensors."""
    layer, _, kind = parameter_name.rpartition(".")
    return layer or "model", kind
