"""Would more data help? The learning-curve plot at the end of a sweep over `data.fraction`.

A Hydra callback (not a Lightning one): `experiment=learning_curve` runs one training job per
training-set fraction, and when the sweep ends this reads every job's metrics.json and saves
`learning_curve.png` in the multirun folder: training and validation accuracy against the
number of training examples. Validation still rising at the right end: more data helps.
Train and validation converged and both low: more data will not help; the model must change.
On a regression sweep (no accuracy in metrics.json) the accuracies read as R2: fit/train_r2, val/r2.
"""

from pathlib import Path

from hydra.experimental.callback import Callback

from ..core.logged_metrics import written_metric
from ..core.writer import pyplot
from ..runs.run_status import read_metrics


class LearningCurve(Callback):
    def __init__(self, metrics: tuple = ("fit/train_acc", "val/acc"), filename: str = "learning_curve.png"):
        self.metrics = list(metrics)
        self.filename = filename

    def on_multirun_end(self, config, **kwargs) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        runs = [read_metrics(path.parent) for path in sorted(sweep_dir.glob("*/metrics.json"))]  # nulls left out
        runs = sorted((run for run in runs if "fit/train_examples" in run), key=lambda run: run["fit/train_examples"])
        if not runs:
            print(f"learning curve: no finished job with fit/train_examples in {sweep_dir}")
            return
        metrics = self.metrics
        metrics = [written_metric(metric, runs[0]) for metric in metrics]  # a regression sweep: R2 for accuracy
        plt = pyplot()
        figure, ax = plt.subplots(figsize=(6, 4))
        sizes = [run["fit/train_examples"] for run in runs]
        for metric in metrics:
            ax.plot(sizes, [run.get(metric, float("nan")) for run in runs], marker="o", label=metric)
        ax.set_xlabel("training examples")
        ax.set_ylabel("R2" if list(metrics) != list(self.metrics) else "accuracy")
        ax.set_title("learning curve")
        ax.grid(alpha=0.3)
        ax.legend()
        figure.tight_layout()
        path = sweep_dir / self.filename
        figure.savefig(path, dpi=100)
        plt.close(figure)
        rows = ", ".join(f"{int(s)}: " + "/".join(f"{run.get(m, float('nan')):.3f}" for m in metrics)
                         for s, run in zip(sizes, runs, strict=True))
        print(f"learning curve ({' / '.join(metrics)} by training examples) {rows}\nsaved {path}")
