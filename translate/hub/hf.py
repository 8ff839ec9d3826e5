"""The Hugging Face Hub through `huggingface_hub`: hf:// addresses read, repos written.

    hf://OWNER/NAME            the default branch
    hf://OWNER/NAME@REVISION   a branch, tag or commit

Only safetensors (+ the JSON sidecar) and ONNX files are ever fetched from a repo; a repo of
pickles only is refused, and what the files say can name a registered variant, never code.
`HF_HOME`, `HF_ENDPOINT`, `HF_TOKEN` and `HF_HUB_OFFLINE` act as `huggingface_hub` defines them
(it reads them itself).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from translate.errors import ConfigError, WeightsError
from translate.files import first_line

ALLOWED = ("*.safetensors", "*.json", "*.onnx")
PICKLES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
_URI = re.compile(r"^hf://([A-Za-z0-9][\w.-]*)/([\w.-]+)(?:@([^\s@]+))?$")
INSTALL = "pip install 'translate-gan[hub]'"


def hub() -> Any:
    """The huggingface_hub module, or one line saying how to install it."""
    try:
        import huggingface_hub
    except ImportError:
        raise ConfigError(f"the Hugging Face Hub needs huggingface_hub, which is not installed: {INSTALL}") from None
    return huggingface_hub


def parse_uri(uri: str) -> tuple[str, str | None]:
    """``hf://OWNER/NAME[@REVISION]`` -> (repo id, revision or None)."""
    m = _URI.match(uri.strip())
    if not m:
        raise ConfigError(f"'{uri}' is not a Hub address; write hf://OWNER/NAME or hf://OWNER/NAME@REVISION")
    return f"{m.group(1)}/{m.group(2)}", m.group(3)


def check_repo_id(repo_id: str) -> str:
    """OWNER/NAME as the Hub spells repo ids (one line otherwise)."""
    if not _URI.match(f"hf://{repo_id}") or "@" in repo_id:
        raise ConfigError(f"'{repo_id}' is not a Hub repo id; write OWNER/NAME (letters, digits, '-', '_', '.')")
    return repo_id


def _offline() -> bool:
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def resolve_hf(uri: str) -> Path:
    """The local file (from huggingface_hub's cache) that hf://OWNER/NAME[@REV] loads from."""
    repo, revision = parse_uri(uri)
    hh = hub()
    from huggingface_hub import constants, errors

    where = f"hf://{repo}" + (f"@{revision}" if revision else "")
    try:
        if not _offline():  # know what the repo holds before fetching anything
            _refuse_without_translate_files(where, hh.HfApi().list_repo_files(repo, revision=revision))
        folder = Path(hh.snapshot_download(repo, revision=revision, allow_patterns=list(ALLOWED)))
    except errors.RevisionNotFoundError:
        raise WeightsError(f"{where}: revision '{revision}' does not exist in that repo") from None
    except errors.RepositoryNotFoundError:
        raise WeightsError(f"{where}: no such repo on {constants.ENDPOINT} (or it is private: set HF_TOKEN)") from None
    except errors.LocalEntryNotFoundError:
        hint = "HF_HUB_OFFLINE is set" if _offline() else f"{constants.ENDPOINT} could not be reached"
        raise WeightsError(f"{where} is not in the Hub cache ({constants.HF_HUB_CACHE}) and {hint}") from None
    except errors.HfHubHTTPError as err:
        raise WeightsError(f"{where}: the Hub answered {first_line(err)}") from None
    return pick(folder, where)


def _refuse_without_translate_files(where: str, files: list[str]) -> None:
    usable = [f for f in files if f.endswith((".safetensors", ".onnx"))]
    if usable:
        return
    pickles = [f for f in files if f.lower().endswith(PICKLES)]
    if pickles:
        raise WeightsError(f"{where} holds only pickle files ({', '.join(pickles[:3])}), which translate never loads "
                           "from the Hub (a pickle can run code); ask for safetensors or ONNX")
    raise WeightsError(f"{where} has no translate files (a .safetensors with its .json sidecar, or an .onnx)")


def pick(folder: Path, where: str) -> Path:
    """The file of a repo snapshot to load: model.safetensors, else a safetensors with its sidecar,
    else an fp32 ONNX file, else an int8 one."""
    if (folder / "model.safetensors").is_file():
        return folder / "model.safetensors"
    weights = sorted(folder.rglob("*.safetensors"))
    for w in weights:
        if w.with_suffix(".json").is_file():
            return w
    onnx = sorted(folder.rglob("*.onnx"), key=lambda p: (".int8." in p.name, str(p)))
    if weights or onnx:
        return (weights or onnx)[0]
    _refuse_without_translate_files(where, [str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()])
    raise AssertionError("unreachable")  # pragma: no cover


def upload(folder: Path, repo_id: str, private: bool, message: str) -> str:
    """Create the repo (if new) and commit ``folder``'s files in one commit; returns the commit URL.

    Files the Hub already holds byte for byte are left out, so pushing the same run twice
    makes no new commit."""
    hh = hub()
    from huggingface_hub import CommitOperationAdd, errors

    api = hh.HfApi()
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    ops = [CommitOperationAdd(path_in_repo=p.relative_to(folder).as_posix(), path_or_fileobj=str(p)) for p in files]
    try:
        api.create_repo(repo_id, private=private, exist_ok=True)
        info = api.create_commit(repo_id, ops, commit_message=message)
    except errors.HfHubHTTPError as err:
        raise WeightsError(f"upload to {repo_id} failed: {first_line(err)}") from None
    except errors.LocalTokenNotFoundError:
        raise ConfigError("pushing needs a Hub token: set HF_TOKEN or run `hf auth login`") from None
    return str(info.commit_url)
