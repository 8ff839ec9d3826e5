"""Example photos for the demo page, written into its temp folder: a few held-out images of the run's
own data (testA/ testB/ or A/ B/) where it has a folder, else held-out scenes of the built-in demo
(apples on grass / oranges on wood for two-domain models, procedural photos for super-resolution)."""
from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

if TYPE_CHECKING:
    from translate.app.session import Session

PER_DOMAIN = 2


def domain_of(direction: str) -> str:
    """"AtoB" -> "A" (the domain a translator reads); "" for names that say no domain ("SR")."""
    m = re.fullmatch(r"([A-Za-z0-9]+)to[A-Z][A-Za-z0-9]*", direction)
    return m.group(1) if m else ""


def write_examples(session: Session, folder: Path) -> list[tuple[Path, str]]:
    """(photo, direction) pairs: each photo is of the domain that direction translates from."""
    folder.mkdir(parents=True, exist_ok=True)
    out: list[tuple[Path, str]] = []
    for direction in session.directions:
        for i, image in enumerate(_photos(session, domain_of(direction))):
            path = folder / f"{domain_of(direction) or 'photo'}-{i + 1}.png"
            if not path.exists():
                image.save(path)
            out.append((path, direction))
    return out


def _photos(session: Session, domain: str) -> list[Image.Image]:
    run = session.run
    config = run.read_config() if run else {}
    data, model = config.get("data"), config.get("model") or {}
    if data and Path(str(data)).is_dir():
        return _from_folder(Path(str(data)), domain)
    kind = _data_kind(session)
    if kind == "sr":  # low-resolution photos to upscale
        from translate.data.demos import sr_photos

        return [Image.fromarray(sr_photos.render(sr_photos.HELD_OUT_SEED + i, 64)) for i in range(PER_DOMAIN)]
    size = min(256, max(32, int(model.get("image_size") or 128)))  # the scale the model was trained at
    if kind in ("unpaired", "paired") and domain in ("A", "B"):
        from translate.data.demos import apples

        return [Image.fromarray(apples.render(apples.scene(apples.TEST_SCENE_OFFSET + i), domain, size))
                for i in range(PER_DOMAIN)]
    return []


def _data_kind(session: Session) -> str:
    from translate.variant import VARIANTS

    spec = session.base.spec
    name = spec.variant if spec is not None else ""
    return str(getattr(VARIANTS.get(name), "data", "")) if name in VARIANTS else ""


def _from_folder(root: Path, domain: str) -> list[Image.Image]:
    from translate.data.images import list_images
    from translate.data.unpaired import find_domain_dirs

    dirs = find_domain_dirs(root, "test") or find_domain_dirs(root, "train")
    folder = (dirs[0] if domain != "B" else dirs[1]) if dirs else root
    images = []
    for path in list_images(folder)[:PER_DOMAIN]:
        try:
            with Image.open(path) as img:
                img.thumbnail((512, 512))
                images.append(img.convert("RGB"))
        except OSError:
            continue
    return images
