"""Plugin system: registries, duplicates, broken plugins, single-file plugins through the CLI."""
from __future__ import annotations

import textwrap

import pytest

from translate import discovery
from translate.errors import PluginError
from translate.registry import Registry, loading_source

PLUGIN = textwrap.dedent('''
    from dataclasses import dataclass
    import torch
    from torch import nn
    from translate.variant import Variant, VariantConfig, option, register_variant
    from translate.nets import register_net

    @register_net("tiny_{tag}_net")
    def tiny(channels=3):
        return nn.Conv2d(channels, channels, 1)

    @dataclass
    class TinyConfig(VariantConfig):
        batch_size: int = option(2, "batch")
        image_size: int = option(8, "size")
        load_size: int = option(8, "size")
        scale: float = option(1.0, "a plugin-specific knob")

    @register_variant
    class Tiny(Variant):
        name = "{tag}"
        config = TinyConfig
        data = "unpaired"
        def build(self, cfg):
            from translate.nets import build_net
            return {{"G": build_net("tiny_{tag}_net")}}
        def optimizers(self, nets, cfg):
            return {{"G": torch.optim.SGD(nets["G"].parameters(), lr=0.1)}}
        def train_step(self, nets, batch, step):
            loss = (nets["G"](batch["A"]) - batch["B"]).pow(2).mean() * self.cfg.scale
            step.update("G", loss)
            return {{"mse": loss}}
        def translators(self, nets):
            return {{"AtoB": nets["G"]}}
''')


def test_registry_duplicate_names_both_sources():
    reg = Registry("thing")
    with loading_source("file one.py"):
        reg.add("x", 1)
    with loading_source("file two.py"), pytest.raises(PluginError) as err:
        reg.add("x", 2)
    assert "file one.py" in str(err.value) and "file two.py" in str(err.value)
    Registry.all.remove(reg)


def test_builtins_come_from_entry_points():
    statuses = {s.name: s for s in discovery.load_all()}
    assert statuses["cyclegan"].ok
    assert statuses["cyclegan"].source.startswith("entry point 'cyclegan'")


@pytest.mark.slow
def test_single_file_plugin_trains_through_cli(tmp_path, unpaired_dir, cli):
    path = tmp_path / "my_gan.py"
    path.write_text(PLUGIN.format(tag="tinyfile"))
    code, out = cli("train", str(path), "--data", str(unpaired_dir), "--runs-dir", str(tmp_path / "runs"),
                    "--name", "t", "--steps", "2", "--set", "scale=0.5", "--set", "progress=false",
                    "--set", "tensorboard=false", "--set", "num_workers=0")
    assert code == 0, out
    assert "steps: 2" in out
    cfg = (tmp_path / "runs" / "t" / "config.yaml").read_text()
    assert "variant: tinyfile" in cfg and "scale: 0.5" in cfg and "plugin: file my_gan.py" in cfg
    # resuming takes the plugin from the user, never from the run's files: a fresh process says how
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "translate", "train", "--resume", str(tmp_path / "runs" / "t")],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "variant 'tinyfile', from the plugin file my_gan.py" in proc.stderr and "--plugin" in proc.stderr
    code, out = cli("train", "--resume", str(tmp_path / "runs" / "t"), "--plugin", str(path), "--steps", "3")
    assert code == 0, out
    assert "steps: 3" in out


def test_plugin_path_dir_broken_plugin_reported_not_fatal(tmp_path, monkeypatch, cli):
    folder = tmp_path / "plugs"
    folder.mkdir()
    (folder / "good.py").write_text(PLUGIN.format(tag="tinydir"))
    (folder / "broken.py").write_text("import not_a_real_module_xyz\n")
    monkeypatch.setenv("TRANSLATE_PLUGIN_PATH", str(folder))
    code, out = cli("plugins", "list")
    assert code == 0, out
    assert "broken" in out and "No module named 'not_a_real_module_xyz'" in out
    assert "variant tinydir" in out and "architecture tiny_tinydir_net" in out
    code, out = cli("variants", "show", "cyclegan")
    assert code == 0 and "lambda_cycle" in out and "10.0" in out


def test_duplicate_variant_in_file_is_reported(tmp_path, cli):
    path = tmp_path / "dup.py"
    path.write_text(PLUGIN.format(tag="cyclegan").replace("tiny_cyclegan_net", "tiny_dup_net"))
    code, out = cli("plugins", "list", "--plugin", str(path))
    assert code == 0
    assert "duplicate variant name 'cyclegan'" in out and "entry point 'cyclegan'" in out and str(path) in out
    with pytest.raises(PluginError, match="duplicate variant name 'cyclegan'"):
        discovery.user_variant(str(path))
    from translate.nets import NETS

    assert "tiny_dup_net" not in NETS  # a failed plugin's registrations are undone


def test_unknown_variant_one_line(cli):
    code, out = cli("train", "nosuchgan")
    assert code == 2 and "unknown variant 'nosuchgan'; known: " in out and "cyclegan" in out
