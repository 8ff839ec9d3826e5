"""An ONNX model cannot make us read files outside its folder through external data: absolute
locations, `..`, symlinks, hard links and ranges past the end are refused before onnxruntime
sees the model, with one line naming the tensor and the location."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from translate.errors import WeightsError
from translate.inference.backends import check_external_data, onnx_session
from translate.inference.sources import load_source

SECRET = np.arange(4, dtype=np.float32) + 1000.0


def _model(folder: Path, location: str, length: int = 16) -> Path:
    """y = x + w, w's 4 floats kept in the external file `location`."""
    folder.mkdir(parents=True, exist_ok=True)
    w = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[4])
    w.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", "0"), ("length", str(length))):
        entry = w.external_data.add()
        entry.key, entry.value = key, value
    graph = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.metadata_props.add(key="translate", value="{}")
    path = folder / "model.onnx"
    path.write_bytes(model.SerializeToString())
    return path


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secret.bin"
    path.write_bytes(SECRET.tobytes())
    return path


def test_external_data_inside_the_folder_loads(tmp_path: Path) -> None:
    path = _model(tmp_path / "m", "weights.bin")
    (tmp_path / "m" / "weights.bin").write_bytes(np.ones(4, np.float32).tobytes())
    check_external_data(path)
    session = onnx_session(str(path), "cpu")
    out = session.run(["y"], {"x": np.zeros(4, np.float32)})[0]
    assert out.tolist() == [1.0, 1.0, 1.0, 1.0]


@pytest.mark.parametrize("trick", ["dotdot", "absolute", "symlink", "symlinked_folder", "hardlink", "past_end", "missing"])
def test_external_data_outside_the_folder_is_refused(trick: str, tmp_path: Path, secret: Path) -> None:
    folder = tmp_path / "deep" / "m"
    location = {"dotdot": "../../secret.bin", "absolute": str(secret), "symlink": "w.bin", "symlinked_folder": "d/w.bin",
                "hardlink": "w.bin", "past_end": "w.bin", "missing": "nothing.bin"}[trick]
    path = _model(folder, location, length=1 << 20 if trick == "past_end" else 16)
    if trick == "symlink":
        (folder / "w.bin").symlink_to(secret)
    elif trick == "symlinked_folder":
        (folder / "d").symlink_to(tmp_path, target_is_directory=True)
        os.link(secret, tmp_path / "w.bin")
    elif trick == "hardlink":
        os.link(secret, folder / "w.bin")
    elif trick == "past_end":
        (folder / "w.bin").write_bytes(b"\0" * 16)
    expected = {"dotdot": "leaving the model's folder", "absolute": "an absolute path", "symlink": "a symlink",
                "symlinked_folder": "a symlink", "hardlink": "hard links", "past_end": "past the end",
                "missing": "not a file"}[trick]
    for opener in (lambda: load_source(path), lambda: onnx_session(str(path), "cpu")):
        with pytest.raises(WeightsError, match=expected) as info:
            opener()
        assert "tensor 'w'" in str(info.value) and "\n" not in str(info.value)
