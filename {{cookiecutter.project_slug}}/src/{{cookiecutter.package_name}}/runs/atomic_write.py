"""Files that are complete or absent: checkpoints, metrics.json, split.json.

A write that fails half-way (disk full, quota, a crash) must not leave a truncated file
that a reader later takes for a result. Each file is written to a temporary file in the
SAME folder, flushed to the disk (fsync), then renamed over its name (os.replace: atomic
on one filesystem). On a write error the temporary file is removed and the run stops with
a message naming the file and the free space.

Our own code because Lightning 2.6's checkpoint writer (`_atomic_save`, through fsspec)
writes to a temporary file in the system's temp folder, without fsync, and then MOVES it:
when the run folder is on another disk the move is a copy, and a full disk leaves a
truncated `epochNNN.ckpt` behind (measured on a 500 kB tmpfs). Local paths only.
"""

import io
import os
import shutil
from pathlib import Path

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from .checkpoints import CheckpointError


def write_atomically(path, data: bytes) -> None:
    """`path` holds `data` afterwards, or is unchanged and CheckpointError says why."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # no reader globs it (*.ckpt, *.json)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(temporary, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except OSError as error:
        try:
            temporary.unlink(missing_ok=True)
        except OSError:
            pass
        raise CheckpointError(
            f"Cannot write {path} ({len(data) / 1e6:.1f} MB): {error.strerror or error}; "
            f"{free_space(path.parent)} free on that disk. Nothing half-written was left behind. Free some "
            "space (or point paths.log_dir at a larger disk), then continue a stopped training with "
            "resume= and its run folder (the command it printed when it stopped)."
        ) from None
    if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable (POSIX)
        folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def free_space(folder: Path) -> str:
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    free = shutil.disk_usage(folder).free
    return next(f"{free / scale:.1f} {unit}" for scale, unit in ((1e9, "GB"), (1e6, "MB"), (1e3, "kB"), (1, "B"))
                if free >= scale or unit == "B")


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint format (torch.save), written with write_atomically (Trainer plugin)."""

    def save_checkpoint(self, checkpoint: dict, path, storage_options=None) -> None:
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)  # serialization errors surface here, before any file is touched
        write_atomically(path, buffer.getvalue())
