"""Lightning's ModelCheckpoint, but its checkpoints follow the run folder when it moves.

A checkpoint stores the callback's state with absolute paths: its `dirpath`, the top-k
files, the best and the last one. When a run folder is moved (renamed, synced from a
cluster) and resumed, Lightning sees another `dirpath`, warns "The dirpath has changed",
and drops that state: the old top-k are never deleted nor ranked again, and `last.ckpt`
is taken for someone else's file, so it writes `last-v1.ckpt` beside it while `last.ckpt`
stays behind; the next resume then rolls back to the stale `last.ckpt`. Here the stored
paths are moved to the current folder before Lightning reads them: the checkpoints live
relative to the run folder. Everything else is Lightning's.
"""

import os

from lightning.pytorch.callbacks import ModelCheckpoint as LightningModelCheckpoint


class ModelCheckpoint(LightningModelCheckpoint):
    # The same class name as Lightning's: the state key in checkpoints stays "ModelCheckpoint{...}",
    # so checkpoints written before this class existed resume too.

    def load_state_dict(self, state_dict: dict) -> None:
        old, new = state_dict.get("dirpath"), self.dirpath
        if old and new and old != new:
            def moved(path):
                inside = path and os.path.abspath(path).startswith(os.path.abspath(old) + os.sep)
                return os.path.join(new, os.path.relpath(path, old)) if inside else path

            state_dict = dict(state_dict, dirpath=new)
            for key in ("best_model_path", "kth_best_model_path", "last_model_path"):
                if key in state_dict:
                    state_dict[key] = moved(state_dict[key])
            if "best_k_models" in state_dict:
                state_dict["best_k_models"] = {moved(path): score for path, score in state_dict["best_k_models"].items()}
        super().load_state_dict(state_dict)
