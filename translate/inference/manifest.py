"""The output folder's record of which input made each output (`.translate-outputs.jsonl`): a
rerun redoes an output whose input has changed, or that another input made, and skips the rest."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MANIFEST = ".translate-outputs.jsonl"  # in the output folder: which input (path, size, mtime) made each output
MAX_MANIFEST_BYTES = 64 << 20


def relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def identity(src: Path, top: Path) -> dict[str, Any]:
    """What identifies an input: its path (relative to the input folder), size and mtime."""
    st = src.stat()
    name = src.name if top.is_file() else src.relative_to(top).as_posix()
    return {"in": name, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def read_manifest(root: Path | None) -> dict[str, dict[str, Any]]:
    """{output (relative path): the identity of the input that made it}; the newest record of an output wins."""
    out: dict[str, dict[str, Any]] = {}
    if root is None:
        return out
    try:
        with open(root / MANIFEST, "rb") as fh:
            text = fh.read(MAX_MANIFEST_BYTES)
    except OSError:
        return out
    for line in text.splitlines():
        try:
            record = json.loads(line)
            out[str(record["out"])] = {"in": str(record["in"]), "size": int(record["size"]),
                                      "mtime_ns": int(record["mtime_ns"])}
        except (ValueError, KeyError, TypeError):
            continue  # a torn last line of a killed run
    return out
