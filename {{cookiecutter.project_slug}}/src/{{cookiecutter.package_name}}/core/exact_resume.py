"""Save the random-number streams in every checkpoint so that a resumed run is exact.

Lightning checkpoints hold the model, optimizer, schedulers, loop counters and callback
states, but not the RNG states (dropout, augmentation and anything else drawing random
numbers): without them a resumed run drifts from the run it continues. The batch order is
the training loader's `state_dict()` (`SlicedBatches`): Lightning itself restores loader
states only when resuming in the middle of an epoch, not from an end-of-epoch checkpoint,
so it is saved and restored here too. Our own code: Lightning has no callback for this.
"""

import random

import lightning as L
import numpy as np
import torch


class ExactResume(L.Callback):
    def __init__(self):
        self.saved = None
        self.trainer = None
        self.warned = False  # the note about a loader without state_dict, printed once
        self.train_loss = None  # the last logged training loss of the checkpoint resumed from

    def setup(self, trainer, pl_module, stage):
        self.trainer = trainer  # state_dict() gets no arguments, and it needs the training loader

    def state_dict(self):
        name, keys, position, has_gauss, gauss = np.random.get_state()
        # numpy's state as plain values and a tensor: checkpoints must load with weights_only=True
        numpy_state = [name, torch.from_numpy(keys.astype(np.int64)), int(position), int(has_gauss), float(gauss)]
        state = {"torch": torch.get_rng_state(), "numpy": numpy_state, "python": random.getstate()}
        if torch.cuda.is_available():
            state["cuda"] = torch.cuda.get_rng_state_all()
        loss = self.trainer.callback_metrics.get("train/loss") if self.trainer is not None else None
        if loss is not None:  # the last logged training loss: metrics.json's train/loss if no step is left to train
            state["train_loss"] = float(loss)
        loader = self.trainer.train_dataloader if self.trainer is not None else None
        if hasattr(loader, "state_dict"):
            state["batches"] = loader.state_dict()
        elif loader is not None and not self.warned:
            self.warned = True
            print(f"note: the training loader ({type(loader).__name__}) has no state_dict(): a run resumed from this "
                  "checkpoint will draw a different batch order (resume is not exact). The loaders of SplitData "
                  "(core/data.py) have one; a loader of your own needs state_dict() and load_state_dict().")
        return state

    def load_state_dict(self, state_dict):
        self.saved = state_dict  # applied at the last moment: building the loaders draws numbers too
        self.train_loss = state_dict.get("train_loss")

    def on_fit_end(self, trainer, pl_module):
        """A resumed run that logs no training loss (no logging step left): the last one before the stop."""
        if self.train_loss is not None and "train/loss" not in trainer.callback_metrics:
            trainer.callback_metrics["train/loss"] = torch.tensor(self.train_loss)

    def on_train_start(self, trainer, pl_module):
        if self.saved is None:
            return
        torch.set_rng_state(self.saved["torch"])
        name, keys, position, has_gauss, gauss = self.saved["numpy"]
        np.random.set_state((name, keys.numpy().astype(np.uint32), position, has_gauss, gauss))
        random.setstate(self.saved["python"])
        if "cuda" in self.saved and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(self.saved["cuda"])
        if "batches" in self.saved and hasattr(trainer.train_dataloader, "load_state_dict"):
            trainer.train_dataloader.load_state_dict(self.saved["batches"])
        else:
            print("note: this checkpoint holds no batch order for the training loader: the resumed run draws a "
                  "different one (not exact).")
        self.saved = None
