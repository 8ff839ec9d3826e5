"""A model file must never choose code to run.

Hostile model files name a payload `.py` — by absolute path, by a path relative to the model
(commands run from the model's folder), and the standard library's `this.py` — in every place
a model keeps metadata: the safetensors header, the JSON sidecar, ONNX metadata, a training
checkpoint, a run directory's config.yaml. Every entry point that opens a model or a run is
tried on each: the payload's marker file must never appear, the Zen of Python must never be
printed, and a failing command ends in one `error:` line (no traceback).
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
import yaml
from safetensors.torch import load_file, save_file

import translate
from translate.errors import TranslateError

FIXTURES = Path(__file__).parent / "fixtures" / "v0_1"
ZEN = "Beautiful is better than ugly"
THIS_PY = importlib.util.find_spec("this").origin  # found, never imported


class Hostile:
    """A folder holding a payload plugin, a hostile model, and a folder of photos."""

    def __init__(self, root: Path, location: str, trick: str) -> None:
        self.root, self.location, self.trick = root, location, trick
        self.marker = root / "PAYLOAD_RAN"
        self.payload = root / "payload.py"
        self.payload.write_text(
            f"open({str(self.marker)!r}, 'w').write('ran')\n"
            "from translate.plugins.cyclegan import CycleGAN\n"
            "from translate.variant import register_variant\n"
            "@register_variant\n"
            f"class Evil(CycleGAN):\n    name = 'evil_{abs(hash(str(root))) % 10**8}'\n"
        )
        self.photos = root / "photos"
        self.photos.mkdir()
        from PIL import Image

        Image.fromarray(np.full((12, 12, 3), 128, np.uint8)).save(self.photos / "a.png")
        self.model = self._make()

    # what the metadata says, by trick
    def fields(self) -> dict[str, str]:
        if self.trick == "variant-abs":
            return {"variant": str(self.payload)}
        if self.trick == "variant-rel":
            return {"variant": "payload.py"}
        if self.trick == "plugin-abs":
            return {"variant": "evilgan", "plugin_file": str(self.payload)}
        if self.trick == "plugin-rel":
            return {"variant": "evilgan", "plugin_file": "payload.py"}
        assert self.trick == "stdlib-this"
        return {"variant": "this", "plugin_file": THIS_PY}

    def _spec(self) -> dict:
        spec = json.loads((FIXTURES / "cyclegan-AtoB.json").read_text())
        return {**spec, **self.fields()}

    def _make(self) -> Path:
        loc = self.location
        if loc in ("header", "sidecar"):
            tensors = load_file(str(FIXTURES / "cyclegan-AtoB.safetensors"))
            path = self.root / "model.safetensors"
            header = {"translate": json.dumps(self._spec())} if loc == "header" else {}
            save_file(tensors, str(path), metadata=header)
            if loc == "sidecar":
                path.with_suffix(".json").write_text(json.dumps(self._spec()))
            return path
        if loc == "onnx":
            proto = onnx.load(str(FIXTURES / "cyclegan-AtoB.onnx"))
            del proto.metadata_props[:]
            onnx.helper.set_model_props(proto, {"translate": json.dumps(self._spec())})
            path = self.root / "model.onnx"
            onnx.save(proto, str(path))
            return path
        run = Path(shutil.copytree(FIXTURES / "runs" / "cyclegan", self.root / "run"))
        ckpt = next((run / "checkpoints").glob("step_*.pt"))
        fields = self.fields()
        if loc == "checkpoint":  # a checkpoint file on its own, outside any run directory
            state = torch.load(ckpt, weights_only=True)
            state["variant"] = fields["variant"]
            path = self.root / "model.pt"
            torch.save(state, path)
            shutil.rmtree(run)
            return path
        assert loc == "rundir"
        state = torch.load(ckpt, weights_only=True)
        state["variant"] = fields["variant"]
        torch.save(state, ckpt)
        saved = yaml.safe_load((run / "config.yaml").read_text())
        (run / "config.yaml").write_text(yaml.safe_dump({**saved, **fields}))
        return run

    def check(self, code: int, output: str, hint: bool = True) -> None:
        assert not self.marker.exists(), f"the payload ran ({self.location}, {self.trick})"
        assert ZEN not in output
        assert "Traceback" not in output
        if code != 0:
            errors = [line for line in output.splitlines() if line.startswith("error:")]
            assert len(errors) == 1, output
            if hint and self.location != "onnx" and self.trick.startswith("plugin"):  # ONNX runs no variant code at all
                assert "payload.py" in errors[0] and "--plugin" in errors[0], errors[0]


CASES = [(loc, trick) for loc in ("header", "sidecar", "onnx")
         for trick in ("variant-abs", "variant-rel", "plugin-abs", "plugin-rel", "stdlib-this")]
CASES += [("checkpoint", "variant-abs"), ("checkpoint", "variant-rel")]
CASES += [("rundir", t) for t in ("variant-abs", "variant-rel", "plugin-abs", "plugin-rel", "stdlib-this")]


@pytest.fixture
def in_model_dir(tmp_path: Path):
    """Commands run from the model's own folder, so a relative payload path would resolve."""
    before = Path.cwd()
    os.chdir(tmp_path)
    yield tmp_path
    os.chdir(before)


def _commands(h: Hostile) -> dict[str, list[str]]:
    m = str(h.model)
    out = {
        "convert": ["convert", m, str(h.photos), str(h.root / "out")],
        "export": ["export", m, "-o", str(h.root / "x.onnx"), "--exporter", "torchscript"],
        "sample": ["sample", m, str(h.root / "grid.png")],
        "eval": ["eval", m, "--data", str(h.photos)],
    }
    if h.location == "rundir":
        out["train --resume"] = ["train", "--resume", m, "--steps", "3", "--set", "progress=false"]
        out["train --config"] = ["train", "--config", str(h.model / "config.yaml"), "--steps", "1",
                                 "--runs-dir", str(h.root / "runs"), "--set", "progress=false"]
    out["init_from"] = ["train", "srgan", "--data", str(h.photos), "--set", "phase=srgan", "--set", f"pretrained={m}",
                        "--set", "image_size=8", "--steps", "1", "--runs-dir", str(h.root / "runs"),
                        "--set", "progress=false"]
    return out


@pytest.mark.parametrize("location,trick", CASES)
def test_no_entry_point_runs_code_a_model_names(location, trick, in_model_dir, cli, capsys):
    h = Hostile(in_model_dir, location, trick)
    for name, args in _commands(h).items():
        code, output = cli(*args)
        output += capsys.readouterr().out
        h.check(code, output, hint=name != "init_from")  # init_from reads weights only: no variant to name
    try:  # the Python API
        translate.load(h.model)
    except TranslateError as err:
        h.check(2, f"error: {err}")
    h.check(0, capsys.readouterr().out)


@pytest.mark.slow
def test_the_real_cli_ends_in_one_line(tmp_path: Path) -> None:
    """Out of process, as a user runs it: exit code 2, one line on stderr, nothing imported."""
    for location, trick in (("sidecar", "plugin-rel"), ("rundir", "stdlib-this")):
        root = tmp_path / f"{location}-{trick}"
        root.mkdir()
        h = Hostile(root, location, trick)
        args = ["convert", str(h.model), str(h.photos), str(root / "out")]
        proc = subprocess.run([sys.executable, "-m", "translate", *args], cwd=root, capture_output=True, text=True,
                              env={**os.environ, "PYTHONWARNINGS": "ignore"})
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: "), proc.stderr
        h.check(proc.returncode, proc.stdout + proc.stderr)


def test_a_malformed_field_gets_one_line_naming_it(tmp_path: Path) -> None:
    tensors = load_file(str(FIXTURES / "cyclegan-AtoB.safetensors"))
    spec = json.loads((FIXTURES / "cyclegan-AtoB.json").read_text())
    bad: list[tuple[Callable[[dict], None], str]] = [
        (lambda s: s["translators"]["AtoB"].update(in_channels=-3), "in_channels"),
        (lambda s: s["translators"]["AtoB"].update(size_multiple="4"), "size_multiple"),
        (lambda s: s["translators"]["AtoB"].update(in_range=[1, -1]), "in_range"),
        (lambda s: s["translators"]["AtoB"].update(scale=10**9), "scale"),
        (lambda s: s.update(translators={"../x": s["translators"]["AtoB"]}), "translators"),
        (lambda s: s.update(config=["not", "a", "mapping"]), "config"),
        (lambda s: s.update(arch={"name": "resnet", "kwargs": {"norm": {"__class__": "x"}}}), "arch"),
        (lambda s: s.update(arch={"name": "os.system", "kwargs": {}}), "(not registered)"),
    ]
    for i, (mutate, field) in enumerate(bad):
        s = json.loads(json.dumps(spec))
        mutate(s)
        path = tmp_path / f"m{i}.safetensors"
        save_file(tensors, str(path))
        path.with_suffix(".json").write_text(json.dumps(s))
        expected = "architecture 'os.system' is not registered" if field.startswith("(") else f"field '{field}'"
        with pytest.raises(TranslateError, match=expected):
            translate.load(path)
    huge = tmp_path / "huge.safetensors"
    save_file(tensors, str(huge))
    huge.with_suffix(".json").write_text(json.dumps({**spec, "pad": "x" * (2 << 20)}))
    with pytest.raises(TranslateError, match="over the .*-byte limit"):
        translate.load(huge)
