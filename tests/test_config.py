"""Config precedence (defaults < demo < file < --set), coercion, unknown keys."""
import pytest

from translate import config as C
from translate.jobs import train as T
from translate.engine import EngineConfig
from translate.errors import ConfigError


def test_precedence_defaults_file_sets(tmp_path):
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text("lambda_cycle: 5\nengine:\n  seed: 7\nmodel:\n  lr: 0.001\n")
    p = T.plan("cyclegan", data=str(tmp_path), config_file=str(cfg_file), sets={"lr": "3e-4"}, runs_dir=tmp_path / "runs")
    assert p.model.lambda_cycle == 5.0  # file over defaults
    assert p.model.lr == pytest.approx(3e-4)  # --set over file
    assert p.engine.seed == 7
    assert p.model.generator == "resnet_9blocks"  # recipe default with --data
    assert p.model.pool_size == 50 and p.model.lambda_identity == 0.5


def test_demo_preset_only_without_data(tmp_path):
    demo = T.plan("cyclegan", runs_dir=tmp_path)
    assert demo.model.image_size == 32 and demo.data is None
    assert demo.run_dir.name == "cyclegan-demo"
    over = T.plan("cyclegan", sets={"image_size": "48", "load_size": "52"}, runs_dir=tmp_path)
    assert over.model.image_size == 48
    with pytest.raises(ConfigError, match="load_size 36 is smaller than image_size 48"):  # the demo's load_size
        T.plan("cyclegan", sets={"image_size": "48"}, runs_dir=tmp_path)


def test_unknown_key_lists_valid_ones(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown config key 'lamda_cycle'; valid keys: .*lambda_cycle"):
        T.plan("cyclegan", sets={"lamda_cycle": "1"}, runs_dir=tmp_path)


def test_coercion_and_bad_values():
    e = C.apply(EngineConfig(), {"steps": "12", "channels_last": "true", "ema": "0.99"})
    assert (e.steps, e.channels_last, e.ema) == (12, True, 0.99)
    with pytest.raises(ConfigError, match="cannot read 'many' as int"):
        C.apply(EngineConfig(), {"steps": "many"})
    with pytest.raises(ConfigError, match="cannot read 1.5 as int"):
        C.apply(EngineConfig(), {"steps": 1.5})
    with pytest.raises(ConfigError, match="key=value"):
        C.parse_sets(["novalue"])


def test_sections_route_keys():
    from translate.plugins.cyclegan import CycleGANConfig

    eng, mod = C.split_sections({"seed": 1, "model.lr": 2, "engine.steps": 3, "ngf": 8}, EngineConfig, CycleGANConfig)
    assert eng == {"seed": 1, "steps": 3} and mod == {"lr": 2, "ngf": 8}
