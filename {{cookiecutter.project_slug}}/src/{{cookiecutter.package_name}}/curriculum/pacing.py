"""Curriculum learning: each epoch draws its batches from the easiest part of the training set.

At the start of every training epoch this callback sets `data.train_pool` (core/data.py) to the
easiest `fraction` of the training examples, where the fraction follows the pace
(`curriculum.fraction_at`); both the in-memory batches and the DataLoader path draw only from
that pool, and an epoch keeps its number of steps. Under label noise the hardest examples are
mostly the mislabelled ones: a pace that adds them late (or never, `end_fraction` < 1) lets
the network learn the clean signal first. Orders: `easy_to_hard`, `hard_to_easy` (the
control: does the order matter?), `self_paced` (re-ranked at each epoch start by the current
model's own per-example loss; the first epoch uses the scorer).

Scores are computed once (`curriculum_scores.pt` in the run folder, reused when the training
split's fingerprint matches) and kept in checkpoints, so `resume=` continues with the same
order at the right fraction. Logged: the score histogram (`curriculum/difficulty`), and every
epoch `curriculum/fraction` and `curriculum/mean_difficulty` (of the examples in use).
"""

import io
from pathlib import Path

import lightning as L
import torch

from ..core.data import examples_fingerprint
from ..runs.atomic_write import write_atomically
from ..runs.checkpoints import CheckpointError
from ..runs.run_files import read_run_file
from .difficulty import baseline_difficulty, checkpoint_difficulty, easiest, fraction_at, per_example_loss


class Curriculum(L.Callback):
    def __init__(self, order: str = "easy_to_hard", scorer: str = "baseline", checkpoint: str | None = None,
                 pacing: str = "linear", start_fraction: float = 0.2, full_at_epoch: int = 20,
                 end_fraction: float = 1.0, scores_file: str | None = None, seed: int = 0):
        self.order, self.scorer, self.checkpoint, self.pacing = order, scorer, checkpoint, pacing
        self.start_fraction, self.full_at_epoch, self.end_fraction = start_fraction, full_at_epoch, end_fraction
        self.scores_file, self.seed = scores_file, seed
        self.difficulty = None  # the scorer's difficulty of each training example (higher: harder)
        self.fingerprint = None  # of the training split the scores belong to

    # --- scores: computed once, cached in the run folder, kept in checkpoints ---------------------

    def setup(self, trainer, pl_module, stage):
        if stage != "fit":
            return
        data = trainer.datamodule
        x, y = data.split_tensors("train")
        fingerprint = examples_fingerprint(x, y)
        if self.fingerprint != fingerprint:  # not restored from a checkpoint (load_state_dict comes later)
            self.difficulty, self.fingerprint = self.cached(fingerprint), fingerprint
        if self.difficulty is None:
            self.difficulty = self.score(data, x, y)
            if trainer.is_global_zero:
                self.save(trainer)
        self.use_pool(trainer, pl_module, epoch=0, log=False)  # before the first batch (loader workers prefetch)

    def score(self, data, x, y) -> torch.Tensor:
        if self.scorer == "checkpoint":
            return checkpoint_difficulty(self.checkpoint, data, x, y)
        return baseline_difficulty(x, y, data.task, seed=self.seed)[0]

    def cached(self, fingerprint: str) -> torch.Tensor | None:
        """The scores of an earlier session of this run (resume=), if they belong to the same split and scorer."""
        path = Path(self.scores_file) if self.scores_file else None
        if path is None or not path.is_file():
            return None
        saved = read_run_file(path, "It is a cache of the curriculum's difficulty scores: delete it and they are "
                                    "computed again.", CheckpointError)
        same = saved.get("fingerprint") == fingerprint and saved.get("scorer") == self.scorer_name()
        return saved["difficulty"] if same and isinstance(saved.get("difficulty"), torch.Tensor) else None

    def scorer_name(self) -> str:
        return f"checkpoint {self.checkpoint}" if self.scorer == "checkpoint" else "baseline"

    def save(self, trainer) -> None:
        if self.scores_file:
            content = io.BytesIO()
            torch.save({"difficulty": self.difficulty, "fingerprint": self.fingerprint, "scorer": self.scorer_name()},
                       content)
            write_atomically(Path(self.scores_file), content.getvalue())
        for logger in trainer.loggers:
            if hasattr(logger.experiment, "add_histogram"):  # TensorBoard
                logger.experiment.add_histogram("curriculum/difficulty", self.difficulty, global_step=0)

    # --- the pool of each epoch ---------------------------------------------------------------------

    def on_train_epoch_start(self, trainer, pl_module):
        self.use_pool(trainer, pl_module, trainer.current_epoch, log=True)

    def use_pool(self, trainer, pl_module, epoch: int, log: bool) -> None:
        difficulty = self.difficulty
        if self.order == "self_paced" and epoch > 0:  # the model as it is now ranks the examples
            difficulty = per_example_loss(pl_module, *trainer.datamodule.split_tensors("train"))
        data = trainer.datamodule
        fraction = fraction_at(epoch, self.pacing, self.start_fraction, self.full_at_epoch, self.end_fraction)
        labels = data.split_tensors("train")[1] if data.task == "classification" else None  # in every class
        pool = easiest(difficulty, fraction, labels, hardest_first=self.order == "hard_to_easy")
        data.train_pool = None if len(pool) == len(difficulty) else pool
        if log:
            pl_module.log("curriculum/fraction", fraction, on_step=False, on_epoch=True, sync_dist=True)
            pl_module.log("curriculum/mean_difficulty", float(difficulty[pool].mean()), on_step=False,
                          on_epoch=True, sync_dist=True)

    def on_fit_end(self, trainer, pl_module):
        trainer.datamodule.train_pool = None  # testing, baselines and ensembles see the data as it is

    def state_dict(self):
        return {"difficulty": self.difficulty, "fingerprint": self.fingerprint}

    def load_state_dict(self, state_dict):
        self.difficulty, self.fingerprint = state_dict["difficulty"], state_dict["fingerprint"]
