"""Sharing on the Hub: `translate push --local-dir` files, the model card, hf:// from a Hub cache
laid out as huggingface_hub lays it out, and the upload against a loopback Hub API."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from loopback import git_blob_sha, pixels, serve, write_photos
from PIL import Image

hh = pytest.importorskip("huggingface_hub")
hc = pytest.importorskip("huggingface_hub.constants")

FIXTURE = Path(__file__).parent / "fixtures" / "v0_1" / "runs" / "cyclegan"
REPO = "me/h2z"
FILES = ["README.md", "model.json", "model.safetensors", "sample.png"]


@pytest.fixture
def run(tmp_path: Path) -> Path:
    """A finished CycleGAN run (the 0.1 fixture) with eval figures and a provenance record."""
    folder = tmp_path / "runs" / "h2z"
    shutil.copytree(FIXTURE, folder)
    cfg = folder / "config.yaml"
    cfg.write_text(cfg.read_text().replace("data: null", "data: horse2zebra"))
    (folder / "eval.json").write_text(json.dumps({"kind": "translation", "data": "horse2zebra", "figures": {
        "fid_AtoB": 120.5, "fid_AtoB_baseline": 150.25, "kid_AtoB": 3.5, "kid_AtoB_baseline": 9.0}}))
    (folder / "provenance.json").write_text(json.dumps({"sessions": [
        {"translate": "0.2.0", "torch": "2.14.1", "python": "3.11.7", "git": {"project": "abc1234"}}]}))
    return folder


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    return write_photos(tmp_path / "photos", ((30, 41), (16, 20)), seed=1)



def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def fill_hub_cache(cache: Path, repo: str, files: dict[str, bytes], commit: str) -> Path:
    """huggingface_hub's cache layout: blobs named by ETag (sha256 for LFS files, the git blob sha1
    otherwise), snapshots/COMMIT/FILE as relative symlinks to them, refs/main naming the commit."""
    root = cache / f"models--{repo.replace('/', '--')}"
    for name, data in files.items():
        lfs = name.endswith((".safetensors", ".onnx", ".png"))
        etag = hashlib.sha256(data).hexdigest() if lfs else git_blob_sha(data)
        (root / "blobs").mkdir(parents=True, exist_ok=True)
        (root / "blobs" / etag).write_bytes(data)
        link = root / "snapshots" / commit / name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(root / "blobs" / etag, link.parent))
    (root / "refs").mkdir(exist_ok=True)
    (root / "refs" / "main").write_text(commit)
    return root


def test_local_dir_holds_exactly_the_repo_files_and_twice_changes_nothing(run, tmp_path, cli) -> None:
    code, out = cli("push", str(run), REPO, "--local-dir", str(tmp_path / "a"))
    assert code == 0 and "nothing uploaded" in out, out
    code, _ = cli("push", str(run), REPO, "--local-dir", str(tmp_path / "b"))
    assert code == 0
    a, b = tree(tmp_path / "a"), tree(tmp_path / "b")
    assert sorted(a) == FILES and a == b  # byte for byte
    side = json.loads(a["model.json"])
    assert side["variant"] == "cyclegan" and sorted(side["translators"]) == ["AtoB", "BtoA"]
    sample = Image.open(tmp_path / "a" / "sample.png")  # no sample grids in this run: the demo picture | its translation
    assert sample.size == (128, 64)


def test_the_card_parses_and_names_variant_data_and_metrics(run, tmp_path) -> None:
    from translate.hub.push import push

    push(run, REPO, local_dir=tmp_path / "repo")
    card = hh.ModelCard.load(tmp_path / "repo" / "README.md")
    data = card.data.to_dict()
    assert data["library_name"] == "translate" and data["pipeline_tag"] == "image-to-image"
    assert {"cyclegan", "gan", "image-to-image"} <= set(data["tags"])
    assert data["datasets"] == ["horse2zebra"] and data["license"] == "other"
    assert {"fid", "kid"} <= set(data["metrics"])
    text = card.text
    assert "| `fid_AtoB` | 120.5 | 150.2 |" in text  # the figure next to its baseline
    assert "| `lambda_cycle` | `10.0` |" in text and "2 steps" in text
    assert "torch 2.14.1" in text and "abc1234" in text
    assert "translate convert hf://me/h2z photos/ out/" in text and 'translate.load("hf://me/h2z"' in text
    assert "![sample](sample.png)" in text


def _hub_cache_of_a_push(run: Path, tmp_path: Path) -> tuple[Path, str]:
    from translate.hub.push import push

    push(run, REPO, local_dir=tmp_path / "repo")
    commit = "1" * 40
    home = tmp_path / "hf"
    fill_hub_cache(home / "hub", REPO, tree(tmp_path / "repo"), commit)
    scanned = {r.repo_id: r for r in hh.scan_cache_dir(home / "hub").repos}  # the library agrees on the layout
    assert {f.file_name for f in next(iter(scanned[REPO].revisions)).files} == set(FILES)
    return home, commit


def test_hf_uri_from_the_hub_cache_converts_like_the_run(run, tmp_path, photos, cli, monkeypatch) -> None:
    home, commit = _hub_cache_of_a_push(run, tmp_path)
    monkeypatch.setattr(hc, "HF_HUB_OFFLINE", True)  # what HF_HUB_OFFLINE=1 HF_HOME=... set at import
    monkeypatch.setattr(hc, "HF_HUB_CACHE", str(home / "hub"))
    for uri, out in ((f"hf://{REPO}", "out_hf"), (f"hf://{REPO}@{commit}", "out_at")):
        code, text = cli("convert", uri, str(photos), str(tmp_path / out), "--direction", "BtoA", "--no-progress")
        assert code == 0, text
    code, _ = cli("convert", str(run), str(photos), str(tmp_path / "out_run"), "--direction", "BtoA", "--no-progress")
    assert code == 0
    assert pixels(tmp_path / "out_hf") == pixels(tmp_path / "out_run") == pixels(tmp_path / "out_at")
    import translate

    t = translate.load(f"hf://{REPO}", "AtoB", device="cpu")
    assert t.name == "AtoB" and t.source.endswith("model.safetensors")
    code, out = cli("convert", f"hf://{REPO}@v9", str(photos), str(tmp_path / "x"))
    assert code == 1 and "not in the Hub cache" in out and "\n" not in out.strip()
    fill_hub_cache(home / "hub", "me/pickles", {"pytorch_model.bin": b"\x80\x04pickle", "config.json": b"{}"}, commit)
    code, out = cli("convert", "hf://me/pickles", str(photos), str(tmp_path / "x"))
    assert code == 1 and "holds only pickle files (pytorch_model.bin)" in out
    code, out = cli("convert", "hf://not a repo", str(photos), str(tmp_path / "x"))
    assert code == 2 and "hf://OWNER/NAME" in out
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_hf_environment_variables_as_the_library_reads_them(run, tmp_path, photos, cli) -> None:
    home, _ = _hub_cache_of_a_push(run, tmp_path)
    env = {**os.environ, "HF_HOME": str(home), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    env.pop("HF_HUB_CACHE", None)
    done = subprocess.run([sys.executable, "-m", "translate", "convert", f"hf://{REPO}", str(photos),
                           str(tmp_path / "out_hf"), "--no-progress"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    code, _ = cli("convert", str(run), str(photos), str(tmp_path / "out_run"), "--no-progress")
    assert code == 0 and pixels(tmp_path / "out_hf") == pixels(tmp_path / "out_run")


def test_upload_to_a_loopback_hub_then_push_again_changes_nothing(run, tmp_path, photos, monkeypatch, cli) -> None:
    from translate.hub.push import push

    push(run, REPO, local_dir=tmp_path / "local")
    with serve() as (url, state, _):
        monkeypatch.setattr(hc, "ENDPOINT", url)  # what HF_ENDPOINT sets at import
        monkeypatch.setattr(hc, "HUGGINGFACE_CO_URL_TEMPLATE", url + "/{repo_id}/resolve/{revision}/{filename}")
        monkeypatch.setattr(hc, "HF_HUB_OFFLINE", False)
        monkeypatch.setenv("HF_TOKEN", "hf_loopback")
        code, out = cli("push", str(run), REPO, "--private")
        assert code == 0 and f"pushed {', '.join(FILES)} to {REPO}" in out, out
        assert state.repos[REPO] == tree(tmp_path / "local") and state.private[REPO] is True
        assert len(state.commits[REPO]) == 1
        assert all(t == "Bearer hf_loopback" for t in state.tokens)
        code, out = cli("push", str(run), REPO)  # the same run again: no new commit
        assert code == 0 and len(state.commits[REPO]) == 1
        # hf:// online: huggingface_hub lists the repo, downloads the allowed files, fills its own cache
        monkeypatch.setattr(hc, "HF_HUB_CACHE", str(tmp_path / "hf_cache"))
        code, out = cli("convert", f"hf://{REPO}", str(photos), str(tmp_path / "out_online"), "--no-progress")
        assert code == 0, out
        got = {p for m, p, _ in state.requests if "/resolve/" in p}
        assert not any("README" in p or "sample" in p for p in got)  # weights and sidecar only
        code, out = cli("convert", f"hf://{REPO}@v9", str(photos), str(tmp_path / "x"))
        assert code == 1 and "revision 'v9' does not exist" in out
        code, out = cli("convert", "hf://me/nothing", str(photos), str(tmp_path / "x"))
        assert code == 1 and "no such repo" in out
        state.repos["me/old"] = {"pytorch_model.bin": b"\x80\x04", "README.md": b"hi"}
        code, out = cli("convert", "hf://me/old", str(tmp_path), str(tmp_path / "o"))
        assert code == 1 and "holds only pickle files" in out
    paths = [p for m, p, _ in state.requests if m == "POST"]
    assert paths[:3] == ["/api/repos/create", "/api/validate-yaml", f"/api/models/{REPO}/preupload/main"]
    assert f"/api/models/{REPO}/commit/main" in paths
    monkeypatch.setattr(hc, "HF_HUB_OFFLINE", True)  # the server is gone: the cache it filled serves
    code, out = cli("convert", f"hf://{REPO}", str(photos), str(tmp_path / "out_offline"), "--no-progress")
    assert code == 0, out
    code, _ = cli("convert", str(run), str(photos), str(tmp_path / "out_run"), "--no-progress")
    assert pixels(tmp_path / "out_online") == pixels(tmp_path / "out_offline") == pixels(tmp_path / "out_run")


def test_push_without_huggingface_hub_is_one_line(run, monkeypatch, cli) -> None:
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    code, out = cli("push", str(run), REPO)
    assert code == 2 and "pip install 'translate-gan[hub]'" in out


def test_export_writes_the_same_card_beside_its_files(run, tmp_path, cli) -> None:
    out = tmp_path / "h2z-BtoA.safetensors"
    code, text = cli("export", str(run), "--format", "safetensors", "--direction", "BtoA", "-o", str(out))
    assert code == 0 and "model card" in text, text
    card = hh.ModelCard.load(tmp_path / "h2z-BtoA.md")
    assert card.data.library_name == "translate" and "cyclegan" in card.data.tags
    assert card.data.datasets == ["horse2zebra"] and "fid_AtoB" in card.text
    assert "`BtoA`" in card.text and "`AtoB`: domain" not in card.text  # the translators in the file
    assert "translate convert h2z-BtoA.safetensors photos/ out/" in card.text
