"""Our own callbacks, one per file. Lightning's own (checkpointing, early stopping, ...) are configured in configs/callbacks/."""
