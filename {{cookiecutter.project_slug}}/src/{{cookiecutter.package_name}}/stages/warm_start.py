"""Start training from another run's best checkpoint (`stages.warm_start=true` in a ladder).

Only the weights whose names and shapes match are loaded: a bigger model (the ladder's
capacity stage) keeps its own initialization where it differs, and the layers not loaded
are printed. A resumed run skips this: its own checkpoint holds its weights.
"""

import lightning as L


class WarmStart(L.Callback):
    def __init__(self, run_dir: str):
        self.run_dir = run_dir

    def on_fit_start(self, trainer, pl_module):
        from ..runs.checkpoints import ranked_checkpoints, read_finite_checkpoint

        if trainer.ckpt_path:  # resuming (after the checkpoint was restored): keep this run's own weights
            return
        best = ranked_checkpoints(self.run_dir, 1)
        if not best:
            print(f"warm start: no checkpoint in {self.run_dir}/checkpoints: training from scratch")
            return
        saved = read_finite_checkpoint(best[0])["state_dict"]
        own = pl_module.state_dict()
        matching = {name: tensor for name, tensor in saved.items()
                    if name in own and own[name].shape == tensor.shape}
        pl_module.load_state_dict(matching, strict=False)
        layers = sorted({name.rsplit(".", 1)[0] for name in own if name not in matching})
        print(f"warm start from {best[0]}: {len(matching)} of {len(own)} tensors loaded"
              + (f"; not loaded (other shape or new): {', '.join(layers)}" if layers else ""))
