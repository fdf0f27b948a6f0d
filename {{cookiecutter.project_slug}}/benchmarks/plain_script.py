"""The default run as a plain PyTorch script: what `python train.py` does, written by hand.

The same network (models.ResNet, width 16, blocks (1, 1), batch norm), optimizer (Adam, lr 1e-3),
schedule (cosine to 0, stepped every batch), batch size (64), epochs (30) and split sizes
(70/10/20 %, stratified) on the same digits; validation after every epoch, the weights with the
lowest validation loss kept (in memory) and scored on the test set at the end, metrics written
to a JSON file. No baselines, ensembles, diagnostics, checkpoints on disk or logging: the
extras a plain script lacks. benchmarks/wall.py runs it beside `python train.py`.

    python benchmarks/plain_script.py <metrics.json>
"""

import copy
import json
import math
import sys
import time
from pathlib import Path

START = time.perf_counter()
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from {{cookiecutter.package_name}}.core.models import ResNet  # noqa: E402  (torch only: no Lightning)
from {{cookiecutter.package_name}}.core.schedules import warmup_cosine  # noqa: E402

EPOCHS, BATCH = 30, 64


def batches(x, y, shuffle: bool):
    order = torch.randperm(len(y)) if shuffle else torch.arange(len(y))
    for i in range(0, len(y), BATCH):
        yield x[order[i : i + BATCH]], y[order[i : i + BATCH]]


def train_epoch(model, batches, optimizer, scheduler) -> None:
    """One pass over the training batches, the scheduler stepped every batch (benchmarks/scaling.py uses it too)."""
    model.train()
    for xb, yb in batches:
        loss = F.cross_entropy(model(xb), yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()


def evaluate(model, x, y) -> tuple[float, float]:
    model.eval()
    with torch.no_grad():
        outputs = torch.cat([model(xb) for xb, _ in batches(x, y, shuffle=False)])
    return float(F.cross_entropy(outputs, y)), float((outputs.argmax(1) == y).float().mean())


def main():
    torch.manual_seed(0)
    digits = load_digits()
    x = torch.tensor(digits.images, dtype=torch.float32).reshape(-1, 1, 8, 8) / 16.0
    y = torch.tensor(digits.target)
    rest, test = train_test_split(range(len(y)), test_size=0.2, stratify=y, random_state=0)
    train, val = train_test_split(rest, test_size=0.1 / 0.8, stratify=y[rest], random_state=0)
    (train_x, train_y), (val_x, val_y), (test_x, test_y) = ((x[i], y[i]) for i in (train, val, test))

    model = ResNet((1, 8, 8), 10, width=16, blocks=(1, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    scheduler = warmup_cosine(optimizer, total_steps=EPOCHS * math.ceil(len(train_y) / BATCH))
    best_loss, best_state = math.inf, None
    for epoch in range(EPOCHS):
        train_epoch(model, batches(train_x, train_y, shuffle=True), optimizer, scheduler)
        val_loss, val_acc = evaluate(model, val_x, val_y)
        print(f"epoch {epoch}: val loss {val_loss:.4f}, val acc {val_acc:.4f}", flush=True)
        if val_loss < best_loss:
            best_loss, best_state = val_loss, copy.deepcopy(model.state_dict())
    model.load_state_dict(best_state)
    test_loss, test_acc = evaluate(model, test_x, test_y)
    metrics = {"test/acc": test_acc, "test/loss": test_loss, "val/loss": best_loss,
               "seconds": time.perf_counter() - START}
    Path(sys.argv[1] if len(sys.argv) > 1 else "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(metrics)


if __name__ == "__main__":
    main()
