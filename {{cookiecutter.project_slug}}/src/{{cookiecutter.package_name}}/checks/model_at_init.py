"""Checks of the model at initialization: the loss before any step, batch independence, the gradients
(torch's gradcheck). They need only `module(x)` returning scores."""

import copy
import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.gradcheck import GradcheckError

from .verdict import FAIL, PASS, SKIP, WARN, Verdict


def loss_at_init(module, batches, class_counts: torch.Tensor) -> Verdict:
    """The loss before training should be ln C: an untrained model's outputs are near uniform, whatever the
    class frequencies (only a last bias set to their logarithms would give their entropy).

    Much higher: the initial outputs are too large or confident (e.g. a last layer scaled up), and the
    first steps only undo that. Judged by the logit scale that would cost the excess (`scale`: the std of
    random logits with that expected loss): up to 1 is what default initializations give. Much lower
    than the entropy of the class frequencies (the best any input-blind output can do): the labels
    leak into the inputs. Train mode, as in the first step, but dropout off: it scales the
    surviving units up by 1 / (1 - p), one random mask's outputs, not the initialization.
    """
    model = copy.deepcopy(module).train()  # a copy keeps BN statistics
    for layer in model.modules():
        if isinstance(layer, nn.modules.dropout._DropoutNd):
            layer.eval()
    with torch.no_grad():
        loss = sum(float(F.cross_entropy(model(x), y)) for x, y in batches) / len(batches)
    classes = max(int((class_counts > 0).sum()), 2)
    expected = math.log(classes)
    ratio = loss / expected
    scale = math.sqrt(2 * classes * max(loss - expected, 0.0) / (classes - 1))  # excess ~ scale^2 (C-1) / 2C
    frequencies = class_counts[class_counts > 0].double() / class_counts.sum()
    blind = loss / max(float(-(frequencies * frequencies.log()).sum()), 1e-12)  # vs the best input-blind loss
    if ratio >= 1:
        status = PASS if scale <= 1 else WARN if scale <= 2 else FAIL
    else:
        status = PASS if blind >= 0.95 else WARN if blind >= 0.75 else FAIL
    advice = ""
    if not math.isfinite(loss):
        status, advice = FAIL, "The loss is not finite before any training: NaN or Inf in the inputs (see data_finite) or in forward()."
    elif status != PASS and ratio > 1:
        advice = (
            f"The untrained model is {ratio:.2f}x more confident than chance (logits of scale ~{scale:.1f}): its outputs "
            "start too large (e.g. a last layer initialized too big; scale its weights down or zero them) or the "
            "loss does not get logits."
        )
    elif status != PASS:
        advice = "Lower than chance before any training: do the labels leak into the inputs, or is the loss not a mean?"
    return Verdict(
        status, f"{loss:.3f} ({ratio:.3f} x expected, logit scale {scale:.2f})",
        f"{expected:.3f} = ln {classes} (uniform outputs); logit scale <= 1", advice,
        {"loss": loss, "expected": expected, "ratio": ratio, "scale": scale},
    )


def batch_independence(module, x: torch.Tensor) -> Verdict:
    """In eval mode, example i's output must not depend on example j's input (j != i).

    A wrong view/reshape/transpose across the batch dimension mixes examples: training
    still works somewhat, the model is just silently wrong.
    """
    model = copy.deepcopy(module).eval()
    batch_statistics = [
        m for m in model.modules()
        if isinstance(m, nn.modules.batchnorm._NormBase) and (m.training or not m.track_running_stats)
    ]
    if batch_statistics:
        return Verdict(
            SKIP, f"{len(batch_statistics)} norm layers use batch statistics in eval mode", "no mixing",
            "Batch norm that normalizes with the batch's own statistics mixes examples by design, "
            "so this check cannot tell a bug from it.",
        )
    x = x[:8].detach().clone().requires_grad_(True)
    leak, own = 0.0, 0.0
    for i in range(len(x)):
        (grad,) = torch.autograd.grad(model(x)[i].sum(), x)
        own = max(own, float(grad[i].abs().max()))
        leak = max(leak, float(torch.cat([grad[:i], grad[i + 1 :]]).abs().max()))
    status = PASS if leak == 0.0 else FAIL
    advice = "" if status == PASS else (
        "An example's output depends on other examples' inputs: look for a view/reshape/transpose "
        "that moves the batch dimension, or a reduction over dim 0 in forward()."
    )
    return Verdict(
        status, f"max |d out_i / d x_j| = {leak:.2g} (own input: {own:.2g})", "0 for j != i", advice,
        {"leak": leak, "own": own},
    )


def gradient_check(module, x: torch.Tensor) -> Verdict:
    """torch.autograd.gradcheck in double precision: analytic gradients vs finite differences.

    With respect to the input and then each parameter of a double-precision copy (eval mode,
    two examples). fast_mode compares random projections of the Jacobians, so it costs a few
    forward passes whatever the model's size. One tensor at a time because on a mismatch
    torch recomputes the full Jacobian of the tensors it checks (for its message): of one
    tensor that takes a second, of all of them minutes. Catches a wrong hand-written backward.
    """
    model = copy.deepcopy(module).double().eval()
    # A little noise: inputs exactly at a ReLU's kink (e.g. zero pixels) make finite differences lie.
    x = x[:2].double() + 0.01 * torch.randn(x[:2].shape, dtype=torch.float64)
    parameters = {name: p.detach().clone() for name, p in model.named_parameters()}
    for name in ["the input", *parameters]:

        def forward(tensor, name=name):
            if name == "the input":
                return torch.func.functional_call(model, parameters, (tensor,))
            return torch.func.functional_call(model, parameters | {name: tensor}, (x,))

        tensor = (x if name == "the input" else parameters[name]).clone().requires_grad_(True)
        try:
            torch.autograd.gradcheck(forward, (tensor,), eps=1e-6, atol=1e-5, rtol=1e-3, fast_mode=True)
        except GradcheckError:
            return Verdict(
                FAIL, f"mismatch in the gradient of {name}", "analytic = numerical",
                "Autograd's gradient differs from finite differences: a custom autograd Function's "
                "backward() is wrong (or forward() is not deterministic).",
                {"where": name},
            )
    return Verdict(PASS, f"match ({len(parameters)} parameter tensors and the input)", "analytic = numerical")
