"""Finding and reading image files: recursive, any-case extensions, EXIF-orientation aware."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from translate.errors import DataError
from translate.files import first_line, shown

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".gif"}


def list_images(folder: str | Path) -> list[Path]:
    """Image files under `folder` (recursive), sorted; hidden files and folders skipped."""
    root = Path(folder)
    found = []
    for p in root.rglob("*"):
        rel = p.relative_to(root).parts
        if any(part.startswith(".") for part in rel):
            continue
        if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file():
            found.append(p)
    return sorted(found)


def to_mode(img: Image.Image, channels: int) -> Image.Image:
    """Apply EXIF orientation and convert any mode (L, LA, P, RGBA, CMYK, I;16...) to RGB or L."""
    img = ImageOps.exif_transpose(img)
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        peak = 65535.0 if arr.max() > 255 else 255.0
        img = Image.fromarray(np.clip(arr / peak * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        img = img.convert("RGBA")
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))  # composite onto white
        img = Image.alpha_composite(background, img)
    return img.convert("RGB" if channels == 3 else "L")


MAX_PIXELS = int(Image.MAX_IMAGE_PIXELS or 89_478_485)  # every reader's decompression-bomb limit (convert: --max-pixels)


@contextlib.contextmanager
def open_image(path: str | Path, max_pixels: int = MAX_PIXELS) -> Iterator[Image.Image]:
    """`Image.open`, refusing an image of more than `max_pixels` pixels before it is decoded (a
    small PNG can declare 9400×9400 and inflate to gigabytes); one DataError line."""
    try:
        img = Image.open(path)
    except (OSError, ValueError, Image.DecompressionBombError) as err:
        raise DataError(f"cannot read image {shown(path)}: {shown(first_line(err))}") from None
    with img:
        w, h = img.size
        if w * h > max_pixels:
            raise DataError(f"image {shown(path)} is {w}×{h} = {w * h:,} pixels, over the {max_pixels:,}-pixel "
                            "limit (decompression-bomb guard)")
        yield img


def load_image(path: str | Path, channels: int = 3, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """HxWxC uint8 array (C = channels)."""
    with open_image(path, max_pixels) as img:
        try:
            img.load()
            arr = np.array(to_mode(img, channels))  # writable: torch.from_numpy needs that
        except (OSError, ValueError, Image.DecompressionBombError) as err:
            raise DataError(f"cannot read image {shown(path)}: {shown(first_line(err))}") from None
    return arr[..., None] if arr.ndim == 2 else arr


def same_size_batches(images: list[np.ndarray], batch_size: int) -> Iterator[list[int]]:
    """Indices of `images` in batches of at most `batch_size` arrays of one shape each."""
    by_size: dict[tuple[int, ...], list[int]] = {}
    for i, im in enumerate(images):
        by_size.setdefault(im.shape, []).append(i)
    for idx in by_size.values():
        for s in range(0, len(idx), batch_size):
            yield idx[s : s + batch_size]
