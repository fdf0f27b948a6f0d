"""A folder of images, one sub-folder per class, as data (`data=image_folder`).

    <path>/cat/1.png, <path>/cat/2.jpg, <path>/dog/1.png ...        split here (seeded, stratified)
    <path>/train/cat/1.png ... <path>/test/dog/9.png (val/ optional)  the folder's own split

Images (PNG or JPEG, read with Pillow) are converted to `mode` (grayscale or rgb), resized to
`size` (stretched, not cropped) and scaled to 0..1. Decoding thousands of files takes a while,
so the result is saved once as a tensor file in `cache_dir` (`logs/cache/images/`, never in
the user's data folder), `<folder>_<where>_<settings>_<files>.pt`, named by the folder, the
settings and every file's name, size and modification time: the next run with the same files
and settings reads it in a fraction of a second, and any change to the files makes a new one
(the stale one is removed). The cache is an optimisation: one that cannot be written (read-only
or full disk) or read back whole is a warning line, never a failed run. With `in_memory: false`
nothing is cached: a Dataset reads each image when a batch needs it.
"""

import contextlib
import hashlib
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps
from torch.utils.data import Dataset

from .data import SPLITS, DataError, Examples, SplitData, stratified_split
from .validate import ConfigError

SUFFIXES = (".png", ".jpg", ".jpeg")
MODES = {"grayscale": "L", "rgb": "RGB"}  # config value -> Pillow mode
SCALE = 1 / 255  # pixel values 0..255 -> 0..1
ON_BAD_IMAGE = ("fail", "skip")
UNREADABLE = (OSError, SyntaxError, ValueError, Image.DecompressionBombError)  # what Pillow raises on bad files


class ImageFolderData(SplitData):
    """Images of `path`: `size` (pixels, or [height, width]), `mode`, and what an unreadable file does."""

    def __init__(self, path: str, size: int | list = 32, mode: str = "rgb", on_bad_image: str = "fail",
                 cache_dir: str | None = None, **split_settings):
        size = [size, size] if isinstance(size, int) else list(size)
        if len(size) != 2 or not all(isinstance(s, int) and s > 0 for s in size):
            raise ConfigError(f"data.size={size} is not allowed: a number of pixels > 0, or [height, width].")
        if mode not in MODES:
            raise ConfigError(f"data.mode={mode!r} is not allowed: use one of {', '.join(MODES)}.")
        if on_bad_image not in ON_BAD_IMAGE:
            raise ConfigError(f"data.on_bad_image={on_bad_image!r} is not allowed: use one of {', '.join(ON_BAD_IMAGE)}.")
        if split_settings.get("task") not in (None, "classification"):
            raise ConfigError("data=image_folder is classification (one folder per class); for numeric targets "
                              "save the images and targets in an .npz: data=npz data.task=regression.")
        self.path, self.size, self.mode, self.on_bad_image = Path(path), size, mode, on_bad_image
        self.cache_dir = Path(cache_dir) if cache_dir else None  # None: no cache, the files are read every time
        super().__init__(**split_settings)

    def load(self) -> Examples:
        files, labels, split_of, class_names = find_images(self.path)
        if self.in_memory:
            images, keep = self.cached_images(files)
        else:  # only the headers now (fast); a file truncated further down fails when a batch reads it
            keep = torch.tensor([self.attempt(file, read_header) is not None for file in files], dtype=torch.bool)
        if not keep.all():
            skipped = [str(f.relative_to(self.path)) for f, k in zip(files, keep.tolist(), strict=True) if not k]
            print(f"data: skipped {len(skipped)} unreadable image(s) (data.on_bad_image=skip): "
                  + ", ".join(skipped[:5]) + (" ..." if len(skipped) > 5 else ""))
        if not keep.any():
            raise DataError(f"None of the {len(files)} images in {self.path} can be read: are they PNG or JPEG files?")
        index = torch.nonzero(keep).flatten()
        files = [files[i] for i in index.tolist()]
        y = torch.tensor(labels)[index]
        x = images.float() * SCALE if self.in_memory else ImageFiles(files, self.size, self.mode)
        split = self.own_split(torch.tensor(split_of)[index], y) if split_of is not None else None
        self.files = files  # which file each example is (load()'s order), for worst-mistake tables and slices
        preprocessing = {"kind": "image_folder", "size": list(self.size), "mode": self.mode, "input_scale": SCALE}
        return Examples(x, y, split=split, class_names=class_names, preprocessing=preprocessing)

    def read_unlabeled(self, path) -> torch.Tensor:
        """data.unlabeled_path: a folder of images without class folders (or one image), as predict.py reads them."""
        return read_new_images(path, self.preprocessing)[1]

    def cached_images(self, files: list) -> tuple[torch.Tensor, torch.Tensor]:
        """(the readable images as uint8 (N, C, H, W), which files were readable), from the cache if it fits."""
        cache, stale = self.cache_file(files)
        saved = read_cache(cache, len(files), (len(MODES[self.mode]), *self.size)) if cache else None
        if saved is not None:
            print(f"data: {len(saved[0])} images read from the cache {cache}")
            return saved
        height, width = self.size
        decoded = [self.attempt(file, lambda f: read_image(f, self.size, self.mode)) for file in files]
        keep = torch.tensor([image is not None for image in decoded], dtype=torch.bool)
        images = torch.stack([image for image in decoded if image is not None]) if keep.any() else \
            torch.zeros(0, len(MODES[self.mode]), height, width, dtype=torch.uint8)
        if cache and write_cache(cache, images, keep):
            for old in cache.parent.glob(stale):  # made from files that have changed since
                if old != cache:
                    old.unlink(missing_ok=True)
            print(f"data: converted {len(images)} images to {height}x{width} {self.mode}, cached in {cache}")
        return images, keep

    def cache_file(self, files: list) -> tuple[Path | None, str]:
        """(the cache file for these files and settings, a glob of its stale versions); (None, "") without cache_dir."""
        if self.cache_dir is None:
            return None, ""
        where = short_hash(str(self.path.resolve()), 8)  # two folders named alike never share a cache
        settings = short_hash(repr((self.size, self.mode, self.on_bad_image)), 8)
        listing = "".join(f"{f.relative_to(self.path)}\0{s.st_mtime_ns}\0{s.st_size}\n"
                          for f, s in ((f, f.stat()) for f in files))
        prefix = f"{self.path.resolve().name}_{where}_{settings}_"
        return self.cache_dir / f"{prefix}{short_hash(listing, 12)}.pt", f"{prefix}*.pt"

    def attempt(self, file: Path, read):
        """read(file), or for a file Pillow cannot read: None (on_bad_image=skip) or a DataError naming it."""
        try:
            return read(file)
        except UNREADABLE as error:
            if self.on_bad_image == "skip":
                return None
            raise DataError(f"{file} cannot be read as an image ({error}). Replace or delete it, or set "
                            "data.on_bad_image=skip to leave unreadable images out (with a warning).") from None

    def own_split(self, split_of: torch.Tensor, y: torch.Tensor) -> dict:
        """The folder's train/ val/ test/; without val/, `val_fraction` of train/ (stratified, seeded)."""
        parts = {name: torch.nonzero(split_of == code).flatten() for code, name in enumerate(SPLITS)}
        carved = ""
        if len(parts["val"]) == 0 and self.val_fraction > 0:
            train = parts["train"]
            rest, val = stratified_split(y[train], [1 - self.val_fraction, self.val_fraction], self.split_seed)
            parts["train"], parts["val"] = train[rest], train[val]
            carved = f" (val: data.val_fraction={self.val_fraction} of train/, no val/ folder)"
        print("data: the folder's own split, " + ", ".join(f"{n} {len(i)}" for n, i in parts.items()) + carved)
        return parts


def find_images(root: Path) -> tuple[list, list, list | None, list]:
    """(image files, class index of each, split code 0/1/2 of each or None, class names) of a folder."""
    if not root.is_dir():
        raise DataError(f"data.path={root}: no such folder ({root.resolve()}). Give a folder with one sub-folder "
                        "of images per class, e.g. `python train.py data=image_folder data.path=data/pets`.")
    own = [name for name in SPLITS if (root / name).is_dir()]
    if own and not {"train", "test"} <= set(own):
        raise DataError(f"{root} has {', '.join(n + '/' for n in own)} but an own split needs train/ and test/ "
                        "(val/ is optional). Add the missing folder, or put the class folders directly in "
                        f"{root} to have it split here.")
    tops = [root / name for name in own] if own else [root]
    class_names = sorted(d.name for d in folders(tops[0]))
    if len(class_names) < 2:
        raise DataError(
            f"{tops[0]} has {len(class_names)} class folder(s) {class_names}; a classifier needs at least two. "
            f"Put each class's images in a sub-folder named after it: {tops[0]}/<class>/<image>.png"
        )
    files, labels, split_of, ignored = [], [], [], []
    for top in tops:
        strays = sorted(set(d.name for d in folders(top)) - set(class_names))
        if strays:
            raise DataError(f"{top / strays[0]} is a class without a folder in {tops[0]}: every class needs "
                            "training images.")
        for label, name in enumerate(class_names):
            found = sorted(p for p in (top / name).rglob("*") if p.is_file() and not p.name.startswith("."))
            images = [p for p in found if p.suffix.lower() in SUFFIXES]
            ignored += [p for p in found if p.suffix.lower() not in SUFFIXES]
            if not images and top == tops[0]:
                raise DataError(f"{top / name} holds no image ({', '.join(SUFFIXES)}): add images or remove "
                                "the folder.")
            files += images
            labels += [label] * len(images)
            split_of += [SPLITS.index(top.name) if own else 0] * len(images)
    if ignored:  # named, so that a mistyped suffix (`.PNG ` or `.jpeg2`) is seen
        names = ", ".join(str(p.relative_to(root)) for p in ignored[:5]) + (" ..." if len(ignored) > 5 else "")
        print(f"data: ignored {len(ignored)} file(s) in {root} that are not {'/'.join(SUFFIXES)} images: {names}")
    return files, labels, split_of if own else None, class_names


def read_cache(cache: Path, count: int, shape: tuple) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(images, keep) saved for `count` files of `shape`, or None (absent, or damaged: said, then read again)."""
    if not cache.exists():
        return None
    try:
        saved = torch.load(cache, map_location="cpu", weights_only=True)
        images, keep = saved["images"], saved["keep"]
        whole = (keep.dtype == torch.bool and keep.shape == (count,) and images.dtype == torch.uint8
                 and tuple(images.shape) == (int(keep.sum()), *shape))
    except Exception:  # cut short, not a dict of tensors, ...
        whole = False
    if whole:
        return images, keep
    print(f"data: the cache {cache} is damaged (not the {count} images it should hold); reading the images again")
    return None


def write_cache(cache: Path, images: torch.Tensor, keep: torch.Tensor) -> bool:
    """Save the cache whole (a temporary file, then renamed); a failure (read-only or full disk) is one warning."""
    partial = cache.with_name(f"{cache.name}.{os.getpid()}.partial")
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"images": images, "keep": keep}, partial)
        os.replace(partial, cache)
        return True
    except (OSError, RuntimeError) as error:  # torch.save raises RuntimeError on a full disk
        with contextlib.suppress(OSError):  # no half file left behind
            partial.unlink(missing_ok=True)
        reason = " ".join(str(error).split())[:160]
        print(f"warning: could not write the image cache {cache} ({reason}); training goes on, and the next run "
              "reads the images again. Free space or set paths.log_dir to a writable folder to cache them.")
        return False


def folders(path: Path) -> list:
    return [d for d in path.iterdir() if d.is_dir() and not d.name.startswith(".")]


def short_hash(text: str, length: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def read_header(path: Path) -> tuple:
    with Image.open(path) as image:  # Pillow reads the header only until the pixels are asked for
        return image.size


def read_image(path: Path, size: list, mode: str) -> torch.Tensor:
    """One image file -> uint8 tensor (C, H, W): upright (EXIF), converted to `mode`, resized to `size`."""
    height, width = size
    with Image.open(path) as image:
        image = ImageOps.exif_transpose(image).convert(MODES[mode]).resize((width, height), Image.Resampling.BILINEAR)
        array = np.array(image, dtype=np.uint8).reshape(height, width, -1)
    return torch.from_numpy(array).permute(2, 0, 1).contiguous()


class ImageFiles(Dataset):
    """Images read from disk when a batch needs them (`in_memory: false`): item i -> (C, H, W) in 0..1."""

    def __init__(self, files: list, size: list, mode: str):
        self.files, self.size, self.mode = files, size, mode

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        try:
            return read_image(self.files[i], self.size, self.mode).float() * SCALE
        except UNREADABLE as error:
            raise DataError(f"{self.files[i]} cannot be read as an image ({error}). Replace or delete it.") from None


def read_new_images(path, preprocessing: dict) -> tuple[list, torch.Tensor]:
    """An image file or a folder of them (searched recursively) -> (file names, model inputs).

    Each image gets the training run's recorded preprocessing: converted to its mode, resized to
    its size, scaled to 0..1, whatever its own mode and size.
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in SUFFIXES and not p.name.startswith("."))
        if not files:
            raise DataError(f"{path} holds no image ({', '.join(SUFFIXES)}).")
    elif path.is_file():
        files = [path]
    else:
        raise DataError(f"{path}: no such file or folder ({path.resolve()}).")
    images = []
    for file in files:
        try:
            images.append(read_image(file, preprocessing["size"], preprocessing["mode"]))
        except UNREADABLE as error:
            raise DataError(f"{file} cannot be read as an image ({error}).") from None
    ids = [str(f.relative_to(path)) if path.is_dir() else f.name for f in files]
    return ids, torch.stack(images).float() * preprocessing["input_scale"]
