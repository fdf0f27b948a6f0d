"""Batch augmentation on the device with kornia, in training only (configs/augmentation/).

kornia transforms work on whole batches (each image gets its own random parameters), so
augmenting costs one call per batch instead of one per image. The module calls the object
built here in `on_after_batch_transfer`, only while training: validation and test inputs
are never touched. kornia is imported only when an augmentation is configured.
"""


def batch_augmentation(**transforms):
    """Chain the configured kornia transforms in config order; a transform set to null is skipped.

    The transforms are named (not a list) so that one is one override away:
    `augmentation.rotation.degrees=30` or `~augmentation.flip`.
    """
    from kornia.augmentation import AugmentationSequential

    return AugmentationSequential(*[t for t in transforms.values() if t is not None])
