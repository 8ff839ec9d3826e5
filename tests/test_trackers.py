"""MLflow and W&B trackers, for real and offline: one tiny demo run logs to both (an MLflow file
store, W&B in offline mode), and what each library wrote is read back with its own tools."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from translate.jobs import train as T
from translate.errors import ConfigError

from conftest import QUIET, TINY, plan_run, write_images

pytest.importorskip("mlflow")
pytest.importorskip("wandb")


@pytest.fixture(scope="module")
def tracked(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("tracked")
    env = {"MLFLOW_TRACKING_URI": (root / "mlruns").as_uri(), "MLFLOW_ALLOW_FILE_STORE": "true", "MLFLOW_EXPERIMENT_NAME": "tiny",
           "WANDB_MODE": "offline", "WANDB_DIR": str(root), "WANDB_PROJECT": "tiny", "WANDB_SILENT": "true",
           "WANDB_CONSOLE": "off", "WANDB_DISABLE_GIT": "true"}
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        plan = plan_run("cyclegan", None, root / "runs", "tracked",
                        [*TINY["cyclegan"], *QUIET, "steps=3", "log_every=1", "sample_every=0",
                         "loggers=tensorboard,mlflow,wandb"])
        summary = T.run(plan)
    return {"root": root, "summary": summary, "run_dir": plan.run_dir, "env": env}


def test_mlflow_gets_losses_params_images_figures_tags_and_the_model(tracked, monkeypatch):
    from mlflow.tracking import MlflowClient

    for key in ("MLFLOW_TRACKING_URI", "MLFLOW_ALLOW_FILE_STORE"):
        monkeypatch.setenv(key, tracked["env"][key])
    ids = json.loads((tracked["run_dir"] / "trackers.json").read_text())
    client = MlflowClient()
    run = client.get_run(ids["mlflow"])
    assert run.info.status == "FINISHED" and run.info.run_name == "tracked"
    assert client.get_experiment(run.info.experiment_id).name == "tiny"
    history = client.get_metric_history(run.info.run_id, "cycle")  # the names of metrics.jsonl and TensorBoard
    assert [m.step for m in history] == [1, 2, 3]
    assert history[-1].value == pytest.approx(tracked["summary"]["loss/cycle"], abs=1e-4)
    assert run.data.metrics["eval/psnr_AtoB"] == pytest.approx(tracked["summary"]["psnr_AtoB"], abs=1e-4)
    assert "lr/G" in run.data.metrics
    params = run.data.params
    assert params["variant"] == "cyclegan" and params["model.ngf"] == "4" and params["engine.steps"] == "3"
    assert run.data.tags["translate.version"] and "translate.torch" in run.data.tags
    files = {a.path for a in client.list_artifacts(run.info.run_id, "model")}
    assert files == {"model/model.safetensors", "model/model.json"}
    assert [a.path for a in client.list_artifacts(run.info.run_id, "samples")] == ["samples/step_00000003.png"]
    local = client.download_artifacts(run.info.run_id, "model", str(tracked["root"] / "dl"))
    import translate

    out = translate.load(Path(local) / "model.safetensors", direction="AtoB")
    assert out is not None


def _wandb_records(path: Path) -> list:
    """The records of an offline run's .wandb file, parsed with wandb's own protobuf schema (the
    file: a 7-byte W&B header, then LevelDB log framing in 32 KiB blocks)."""
    import struct

    from wandb.proto import wandb_internal_pb2 as pb

    data, pos, out, part = path.read_bytes(), 7, [], b""
    assert data[:4] == b":W&B"
    while pos + 7 <= len(data):
        if 32768 - pos % 32768 < 7:  # a block's tail too short for a header: padding
            pos += 32768 - pos % 32768
            continue
        _, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        chunk, pos = data[pos + 7 : pos + 7 + length], pos + 7 + length
        part = chunk if kind in (1, 2) else part + chunk
        if kind in (1, 4):  # full, or the last piece of a record
            rec = pb.Record()
            rec.ParseFromString(part)
            out.append(rec)
    return out


def test_wandb_offline_run_holds_history_config_provenance_and_images(tracked):
    ids = json.loads((tracked["run_dir"] / "trackers.json").read_text())
    runs = list((tracked["root"] / "wandb").glob(f"offline-run-*-{ids['wandb']}"))
    assert len(runs) == 1, list((tracked["root"] / "wandb").iterdir())
    records = _wandb_records(runs[0] / f"run-{ids['wandb']}.wandb")
    run = next(r.run for r in records if r.WhichOneof("record_type") == "run")
    assert run.project == "tiny" and run.display_name == "tracked"
    config = {u.key: json.loads(u.value_json) for r in records if r.WhichOneof("record_type") == "config"
              for u in r.config.update}
    assert config["variant"] == "cyclegan" and config["model.ngf"] == "4" and config["provenance.translate.version"]
    history = [{i.nested_key[0]: json.loads(i.value_json) for i in r.history.item} for r in records
               if r.WhichOneof("record_type") == "history"]
    assert [h["_step"] for h in history] == [1, 2, 3]
    assert history[-1]["cycle"] == pytest.approx(tracked["summary"]["loss/cycle"], abs=1e-4)
    assert history[-1]["eval/psnr_AtoB"] == pytest.approx(tracked["summary"]["psnr_AtoB"], abs=1e-4)
    assert any(k == "samples" for k in history[-1])
    assert list((runs[0] / "files" / "media" / "images").glob("samples_3_*.png"))
    exits = [r.exit.exit_code for r in records if r.WhichOneof("record_type") == "exit"]
    assert exits == [0]


def test_unknown_or_missing_tracker_is_one_line(monkeypatch):
    import importlib.util

    from translate.engine import trackers

    with pytest.raises(ConfigError, match="unknown logger 'neptune'; known: tensorboard, mlflow, wandb"):
        trackers.parse("tensorboard,neptune")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "wandb" else real(n, *a))
    with pytest.raises(ConfigError, match=r"wandb is not installed: pip install 'translate\[wandb\]'"):
        plan_run("cyclegan", None, Path("/nonexistent"), "x", ["loggers=wandb"])
    assert trackers.parse("") == [] and trackers.parse("mlflow, tensorboard") == ["mlflow", "tensorboard"]


def test_a_resumed_run_continues_its_mlflow_run(tmp_path, monkeypatch):
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_TRACKING_URI", (tmp_path / "mlruns").as_uri())
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    sets = [*TINY["toy"], *QUIET, "log_every=1", "sample_every=0", "loggers=mlflow"]
    data = tmp_path / "data"
    write_images(data / "trainA", 4, seed=1)
    write_images(data / "trainB", 4, seed=2)
    first = plan_run("toy", data, tmp_path / "runs", "r", [*sets, "steps=2"])
    T.run(first)
    run_id = json.loads((first.run_dir / "trackers.json").read_text())["mlflow"]
    T.run(plan_run(None, None, tmp_path / "runs", None, ["steps=4"], resume=first.run_dir))
    assert json.loads((first.run_dir / "trackers.json").read_text())["mlflow"] == run_id
    client = MlflowClient()
    assert client.get_run(run_id).info.status == "FINISHED"
    assert len(client.search_runs([client.get_run(run_id).info.experiment_id])) == 1
    key = next(k for k in client.get_run(run_id).data.metrics if not k.startswith("lr/"))
    assert [m.step for m in client.get_metric_history(run_id, key)] == [1, 2, 3, 4]
