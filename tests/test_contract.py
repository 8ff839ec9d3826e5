"""The Variant contract: objectives own their regulariser, and the engine's hooks (nets handed
in, init_from, declared schedules, auxiliary modules, the 0.1 signature refused)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from torch import nn

import translate.kit.losses as losses
from translate import config as C
from translate.jobs import train as T
from translate.data import open_data
from translate.engine import checkpoint as ckpt
from translate.engine.step import Step
from translate.engine.trainer import Trainer
from translate.errors import ConfigError, PluginError, WeightsError
from translate.kit.losses import OBJECTIVES
from translate.nets import build_net
from translate.jobs.rundir import RunDir
from translate.kit.schedules import step_drop
from translate.variant import VARIANTS, register_variant

from conftest import QUIET, TINY, Toy, tiny_batch, tiny_config, write_images

BUILT_INS = ["cyclegan", "discogan", "srgan", "gan", "cgan", "cogan", "pix2pix", "cut", "fastcut"]
DISCRIMINATORS = {"cyclegan": 2, "discogan": 2, "srgan": 1, "gan": 1, "cgan": 1, "cogan": 2, "pix2pix": 1,
                  "cut": 1, "fastcut": 1}


def _vgg_standin(layer: str, weights: object) -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU())


@pytest.mark.parametrize("objective", sorted(OBJECTIVES.names()))
@pytest.mark.parametrize("variant", BUILT_INS)
def test_the_penalty_is_there_exactly_when_the_objective_has_one(variant, objective, monkeypatch):
    calls: list[int] = []

    def spy(disc, real, fake):  # noqa: ANN001, ANN202 - a huge, recognisable penalty
        calls.append(1)
        disc(real)  # the penalty sees the discriminator it regularises
        return real.new_tensor(100.0)

    monkeypatch.setattr(losses, "gradient_penalty", spy)
    monkeypatch.setattr("translate.plugins.srgan.load_vgg19", _vgg_standin)
    extra = {"adversarial": objective}
    if variant == "srgan":
        extra.update(phase="srresnet+srgan", pretrain_epochs=0)  # the GAN phase from the first step
    cfg = tiny_config(variant, **extra)
    v = VARIANTS.get(variant)(cfg)
    nets = {**v.build(cfg), **v.auxiliary(cfg)}
    batch = tiny_batch(variant, cfg)
    with torch.no_grad():
        nets.update(v.data_dependent_initialize(nets, batch))  # CUT's heads
    step = Step(v.optimizers(nets, cfg), {})
    torch.manual_seed(0)
    out = v.train_step(nets, batch, step)  # discogan: iteration 0 updates D
    has = OBJECTIVES.get(objective).has_penalty
    assert len(calls) == (DISCRIMINATORS[variant] if has else 0)
    d_losses = [float(t.detach()) for k, t in out.items() if k.startswith("D")]
    assert len(d_losses) == DISCRIMINATORS[variant]
    assert all((d > 999) == has for d in d_losses), d_losses  # gp_weight 10 × 100 is in every D loss


def _trainer(variant: str, data: Path, tmp: Path, name: str, *sets: str) -> Trainer:
    """A Trainer as `translate train` builds it (nothing trained yet)."""
    plan = T.plan(variant, data=str(data), name=name, sets=C.parse_sets([*TINY[variant], *QUIET, *sets]),
                  runs_dir=tmp / "runs")
    bundle = open_data(plan.variant.data, plan.data, plan.model)
    return Trainer(plan.variant, plan.variant.settle(plan.model, bundle.info), plan.engine, bundle, plan.run_dir)


def test_nets_are_handed_in_read_only_and_never_assigned(unpaired_dir, tmp_path):
    tr = _trainer("toy", unpaired_dir, tmp_path, "n")
    assert not hasattr(tr.variant, "nets")
    with pytest.raises(TypeError):
        tr.train_view["G"] = nn.Identity()  # type: ignore[index]
    losses_ = tr.train_step(next(iter(tr._loader())))
    assert set(losses_) == {"mse"} and not hasattr(tr.variant, "nets")


def test_init_from_a_run_a_checkpoint_and_only_on_fresh_starts(unpaired_dir, tmp_path):
    source = T.plan("toy", data=str(unpaired_dir), name="src", runs_dir=tmp_path / "runs",
                    sets=C.parse_sets([*TINY["toy"], *QUIET, "steps=2"]))
    T.run(source)
    trained = ckpt.load_checkpoint(RunDir(source.run_dir).latest_checkpoint())["nets"]["G"]
    for spec in (str(source.run_dir), str(RunDir(source.run_dir).latest_checkpoint()), f"G={source.run_dir}"):
        tr = _trainer("toy", unpaired_dir, tmp_path, f"init{len(spec)}", f"init_from={spec}")
        assert all(torch.equal(tr.plain_nets["G"].state_dict()[k], trained[k]) for k in trained), spec
        assert tr.started_from == [f"G from {spec.partition('=')[2] or spec}"]
    run = T.plan("toy", data=str(unpaired_dir), name="fine", runs_dir=tmp_path / "runs",
                 sets=C.parse_sets([*TINY["toy"], *QUIET, "steps=1", f"init_from={source.run_dir}"]))
    assert "init_from" in T.run(run)
    shutil.rmtree(source.run_dir)  # a resumed run does not need its source any more
    summary = T.run(T.plan(resume=str(run.run_dir), sets=C.parse_sets(["steps=2"])))
    assert summary["steps"] == 2 and "init_from" not in summary
    with pytest.raises(ConfigError, match="'init_from': .* does not exist"):  # checked before any work
        _trainer("toy", unpaired_dir, tmp_path, "gone", f"init_from={source.run_dir}")


def test_init_from_official_cyclegan_generators_by_translator(unpaired_dir, tmp_path):
    """Fine-tuning CycleGAN from the released per-direction .pth files (legacy norm buffers and all)."""
    files = {}
    for i, direction in enumerate(("AtoB", "BtoA")):
        torch.manual_seed(10 + i)
        sd = build_net("resnet", ngf=4, n_blocks=9).state_dict()
        sd["model.2.running_mean"] = torch.zeros(4)  # what the released files still carry
        files[direction] = tmp_path / f"{direction}.pth"
        torch.save(sd, files[direction])
    spec = ",".join(f"{d}={p}" for d, p in files.items())
    tr = _trainer("cyclegan", unpaired_dir, tmp_path, "ft", f"init_from={spec}")
    for net, direction in (("G_AB", "AtoB"), ("G_BA", "BtoA")):
        want = torch.load(files[direction], weights_only=True)
        got = tr.plain_nets[net].state_dict()
        assert all(torch.equal(got[k], want[k]) for k in got), net
    with pytest.raises(WeightsError, match=r"\[AtoB\]: key 'model.1.weight' has shape"):
        torch.save(build_net("resnet", ngf=8, n_blocks=9).state_dict(), tmp_path / "wide.pth")
        _trainer("cyclegan", unpaired_dir, tmp_path, "bad", f"init_from=AtoB={tmp_path / 'wide.pth'}")


class _Scheduled(Toy):
    name = "toy_scheduled"

    def lr_lambda(self, cfg):  # noqa: ANN001, ANN201
        return {"G": step_drop(1, 0.5)}

    def auxiliary(self, cfg):  # noqa: ANN001, ANN201
        return {"judge": nn.Linear(2, 2)}


def test_declared_schedule_and_auxiliary_modules(unpaired_dir, tmp_path):
    if "toy_scheduled" not in VARIANTS:
        register_variant(_Scheduled)
    TINY["toy_scheduled"] = TINY["toy"]
    tr = _trainer("toy_scheduled", unpaired_dir, tmp_path, "s")
    lr = tr.optimizers["G"].param_groups[0]["lr"]
    tr._end_epoch()
    assert tr.optimizers["G"].param_groups[0]["lr"] == pytest.approx(lr * 0.5)
    judge = tr.train_view["judge"]
    assert not judge.training and not any(p.requires_grad for p in judge.parameters())
    assert set(tr.state_dict()["nets"]) == {"G"}  # auxiliary modules stay out of checkpoints


def test_a_variant_written_for_0_1_gets_one_line(unpaired_dir, tmp_path):
    class Old(Toy):
        name = "toy_v01"

        def train_step(self, batch, step):  # noqa: ANN001, ANN201 - the 0.1 signature
            return {}

    if "toy_v01" not in VARIANTS:
        register_variant(Old)
    TINY["toy_v01"] = TINY["toy"]
    with pytest.raises(PluginError, match=r"0\.1 train_step\(batch, step\).*train_step\(self, nets, batch, step\)"):
        _trainer("toy_v01", unpaired_dir, tmp_path, "old")


def test_srgan_phase_srgan_resumes_without_its_pretrained_run(tmp_path):
    """The SRResNet run a SRGAN run started from can be deleted: resume reads its own checkpoint."""
    from translate.kit.perceptual import vgg19_features

    photos = tmp_path / "photos"
    write_images(photos, 3, size=24)
    vgg = tmp_path / "vgg22.pth"
    torch.save({f"features.{k}": v for k, v in vgg19_features("22").state_dict().items()}, vgg)
    base = [*TINY["srgan"], *QUIET, "vgg_layer=22", f"vgg_weights={vgg}"]
    pre = T.plan("srgan", data=str(photos), name="pre", runs_dir=tmp_path / "runs",
                 sets=C.parse_sets([*base, "phase=srresnet", "steps=1"]))
    T.run(pre)
    gan = T.plan("srgan", data=str(photos), name="gan", runs_dir=tmp_path / "runs",
                 sets=C.parse_sets([*base, "phase=srgan", f"init_from={pre.run_dir}", "steps=1"]))
    assert T.run(gan)["init_from"] == f"G from {pre.run_dir}"
    shutil.rmtree(pre.run_dir)
    summary = T.run(T.plan(resume=str(gan.run_dir), sets=C.parse_sets(["steps=2"])))
    assert summary["steps"] == 2 and "loss/content" in summary


# --- contract v3: declare, don't guess -----------------------------------------------------------------
def test_a_config_changes_base_defaults_in_one_line_ranges_kept():
    from dataclasses import dataclass, fields

    from translate.variant import VariantConfig, option

    @dataclass
    class Mine(VariantConfig):
        defaults = {"batch_size": 16, "decay_epochs": 100}
        extra: int = option(3, "mine")

    c = Mine()
    assert (c.batch_size, c.decay_epochs, c.lr) == (16, 100, 2e-4)
    by_name = {f.name: f for f in fields(Mine)}
    assert by_name["batch_size"].metadata["help"] == "images per step (per process)"
    assert [f.name for f in fields(Mine)][:2] == ["batch_size", "lr"]  # the base's order
    with pytest.raises(ConfigError, match="'batch_size': 0 is too small: must be ≥ 1"):
        C.apply(c, {"batch_size": 0})
    with pytest.raises(ConfigError, match="'batch_size': 0 is too small"):
        @dataclass
        class Bad(VariantConfig):
            defaults = {"batch_size": 0}
    with pytest.raises(TypeError, match="'nope' is not a field"):
        @dataclass
        class Unknown(VariantConfig):
            defaults = {"nope": 1}


def test_the_noise_kind_answers_to_its_earlier_name():
    from translate.data import data_kind

    assert data_kind("single") is data_kind("noise")  # plugins written against 0.1 keep `data = "single"`


@pytest.mark.parametrize("kind", ["unpaired", "paired", "sr", "noise", "labelled", "two_folders"])
def test_every_kind_delivers_the_keys_and_ranges_it_declares(kind):
    from types import SimpleNamespace

    from translate.data import data_kind

    dk = data_kind(kind)
    assert dk.keys and all(r in (None, (-1.0, 1.0)) for r in dk.keys.values())
    cfg = SimpleNamespace(image_size=16 if kind in ("unpaired", "paired", "sr") else 28, load_size=18, flip=True,
                          channels=3 if kind in ("unpaired", "paired", "sr") else 1, scale=4, epoch_size=4,
                          num_classes=10)
    bundle = open_data(kind, None, cfg, demo_size=4, eval_size=4)
    for item in (bundle.train[0], bundle.preview[0]):
        dk.check_item(item, "demo")
        assert set(dk.keys) <= set(item)  # what is declared is there (a demo may give more: its labels)
    with pytest.raises(Exception, match=r"outside its declared range \[-1, 1\]"):
        dk.check_item({k: (v + 5 if dk.keys.get(k) else v) for k, v in bundle.train[0].items()})


def test_net_attributes_are_a_checked_protocol():
    from translate.jobs.sizes import check_sizes
    from translate.variant import NetAttributes, net_attributes

    G = build_net("unet_32", ngf=4)
    assert isinstance(G, NetAttributes) and net_attributes(G, 3) == (3, 3, 32, 1)
    assert net_attributes(nn.Conv2d(3, 3, 1), 3) == (3, 3, 1, 1)  # a net stating nothing: the defaults

    class Liar(Toy):
        name = "toy_liar"

        def build(self, cfg):  # noqa: ANN001, ANN201
            net = nn.Conv2d(cfg.channels, cfg.channels, 1)
            net.size_multiple = "4"  # a string, not an int
            return {"G": net}

    with pytest.raises(ConfigError) as err:
        check_sizes(Liar, tiny_config("toy"))
    assert "size_multiple must be a positive int" in str(err.value) and "\n" not in str(err.value)


def test_declared_figures_reach_the_summary_and_the_gallery(tmp_path):
    from translate.kit.figures import Figure

    class Scored(Toy):
        name = "toy_scored"
        figures = {"wobble": Figure("how much the toy wobbles (lower is better)")}

        def evaluate(self, nets, truth):  # noqa: ANN001, ANN201
            return {"wobble": 0.25, "psnr_AtoB": 12.0}

    if "toy_scored" not in VARIANTS:
        register_variant(Scored)
    TINY["toy_scored"] = TINY["toy"]
    plan = T.plan("toy_scored", data=None, name="f", runs_dir=tmp_path / "runs",
                  sets=C.parse_sets([*TINY["toy"], *QUIET, "steps=1"]))
    summary = T.run(plan)
    assert summary["explanations"]["wobble"] == "how much the toy wobbles (lower is better)"
    assert summary["explanations"]["psnr_AtoB"].startswith("PSNR (dB) of A→B")
    page = (plan.run_dir / "index.html").read_text()
    assert "how much the toy wobbles" in page and ">wobble<" in page


class _Headed(Toy):
    """A head whose width comes from the first batch (as CUT's MLPs come from G's features)."""

    name = "toy_headed"
    ema_nets = ("G", "H")
    first_batches: list[torch.Tensor] = []

    def data_dependent_initialize(self, nets, batch):  # noqa: ANN001, ANN201
        assert not torch.is_grad_enabled() and not nets["G"].training
        _Headed.first_batches.append(batch["A"].clone())
        return {"H": nn.Conv2d(nets["G"](batch["A"]).shape[1], 3, 1)}

    def optimizers(self, nets, cfg):  # noqa: ANN001, ANN201
        return {**super().optimizers(nets, cfg), "H": torch.optim.Adam(nets["H"].parameters(), cfg.lr)}

    def train_step(self, nets, batch, step):  # noqa: ANN001, ANN201
        out = super().train_step(nets, batch, step)
        head = losses.mse(nets["H"](nets["G"](batch["A"]).detach() + 0.01 * torch.randn_like(batch["A"])), batch["B"])
        step.update("H", head)
        return {**out, "head": head}


def test_data_dependent_nets_are_nets_like_the_others(unpaired_dir, tmp_path):
    """Built from the run's first batch, before the optimizers; checkpointed with their Adam state
    and EMA; a resumed run builds them again (from the same batch) before loading their state."""
    from conftest import straight_and_resumed

    if "toy_headed" not in VARIANTS:
        register_variant(_Headed)
    TINY["toy_headed"] = TINY["toy"]
    _Headed.first_batches.clear()
    sets = [*TINY["toy"], *QUIET, "epochs=1", "decay_epochs=2", "ema=0.5"]

    def plan(name, steps, resume):  # noqa: ANN001, ANN202
        if resume is not None:
            return T.plan(resume=str(resume), sets=C.parse_sets([f"steps={steps}"]))
        return T.plan("toy_headed", data=str(unpaired_dir), name=name, runs_dir=tmp_path / "runs",
                      sets=C.parse_sets([*sets, f"steps={steps}"]))

    a, b = straight_and_resumed(plan)  # bit-identical nets (H included) and Adam states
    assert set(a["nets"]) == {"G", "H"} and set(a["optimizers"]) == {"G", "H"} and set(a["ema"]) == {"G", "H"}
    assert a["optimizers"]["H"]["state"], "H was never stepped"
    assert all(torch.equal(a["ema"]["H"][k], b["ema"]["H"][k]) for k in a["ema"]["H"])
    assert len(_Headed.first_batches) == 3  # straight, split, resumed: one call each, on one batch
    assert all(torch.equal(x, _Headed.first_batches[0]) for x in _Headed.first_batches)
    tr = _trainer("toy_headed", unpaired_dir, tmp_path, "h")
    assert tr.train_view["H"] is tr.plain_nets["H"] and "H" not in tr.variant.translators(tr.plain_nets)


def test_a_data_dependent_net_may_not_shadow_a_built_one(unpaired_dir, tmp_path):
    class Shadow(Toy):
        name = "toy_shadow"

        def data_dependent_initialize(self, nets, batch):  # noqa: ANN001, ANN201
            return {"G": nn.Identity()}

    if "toy_shadow" not in VARIANTS:
        register_variant(Shadow)
    TINY["toy_shadow"] = TINY["toy"]
    with pytest.raises(PluginError, match="data-dependent net 'G' has the name of a net from build"):
        _trainer("toy_shadow", unpaired_dir, tmp_path, "sh")
