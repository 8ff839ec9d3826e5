"""Every config value is checked before any work: one line naming the key, the value and what is
allowed, exit 2, no traceback, no run directory left behind."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import QUIET, TINY, flags, write_images

BAD = [  # (variant, --set values, what the one line must say)
    ("cyclegan", ["lr=-1"], "'lr': -1.0 is too small: must be > 0"),
    ("cyclegan", ["lr=0"], "'lr': 0.0 is too small"),
    ("cyclegan", ["lr=abc"], "cannot read 'abc' as float"),
    ("cyclegan", ["batch_size=0"], "'batch_size': 0 is too small: must be ≥ 1"),
    ("cyclegan", ["batch_size=-4"], "'batch_size': -4 is too small"),
    ("cyclegan", ["image_size=0"], "'image_size': 0 is too small"),
    ("cyclegan", ["image_size=-32"], "'image_size': -32 is too small"),
    ("cyclegan", ["image_size=30", "load_size=34"], "needs a multiple of 4; try image_size=32"),
    ("cut", ["nce_layers=0,4,40"], "'nce_layers': 0,4,40 does not fit generator 'resnet_6blocks'"),
    ("cyclegan", ["image_size=16", "load_size=18", "batch_size=1"], "net 'D_A' cannot take 16×16 images"),
    ("cyclegan", ["load_size=16", "image_size=32"], "load_size 16 is smaller than image_size 32"),
    ("cyclegan", ["beta1=1.5"], "'beta1': 1.5 is too large"),
    ("cyclegan", ["beta2=-0.1"], "'beta2': -0.1 is too small"),
    ("cyclegan", ["epochs=-1"], "'epochs': -1 is too small"),
    ("cyclegan", ["decay_epochs=-2"], "'decay_epochs': -2 is too small"),
    ("cyclegan", ["lr_schedule=cosine"], "'lr_schedule': 'cosine' is not one of linear, constant"),
    ("cyclegan", ["channels=2"], "'channels': 2 is not one of 1, 3"),
    ("cyclegan", ["norm=layer"], "'norm': 'layer' is not one of instance, batch, none"),
    ("cyclegan", ["lambda_cycle=-1"], "'lambda_cycle': -1.0 is too small"),
    ("cyclegan", ["pool_size=-1"], "'pool_size': -1 is too small"),
    ("cyclegan", ["flip=maybe"], "cannot read 'maybe' as bool"),
    ("cyclegan", ["lamda_cycle=1"], "did you mean 'lambda_cycle'?"),
    ("cyclegan", ["init_from=/no/such/run"], "'init_from': /no/such/run does not exist"),
    ("cyclegan", ["precision=fp8"], "'precision': 'fp8' is not one of fp32, bf16, fp16, auto"),
    ("cyclegan", ["precision=fp16"], "fp16 autocast is for GPUs"),
    ("cyclegan", ["device=tpu"], "unknown device 'tpu'"),
    ("cyclegan", ["ema=1.5"], "'ema': 1.5 is too large"),
    ("cyclegan", ["grad_clip=-1"], "'grad_clip': -1.0 is too small"),
    ("cyclegan", ["keep_last=-1"], "'keep_last': -1 is too small"),
    ("cyclegan", ["ckpt_every=-5"], "'ckpt_every': -5 is too small"),
    ("cyclegan", ["steps=-1"], "'steps': -1 is too small"),
    ("cyclegan", ["log_every=0"], "'log_every': 0 is too small: must be ≥ 1"),
    ("cyclegan", ["log_every_s=-1"], "'log_every_s': -1.0 is too small"),
    ("cyclegan", ["num_workers=-2"], "'num_workers': -2 is too small"),
    ("cyclegan", ["seed=-1"], "'seed': -1 is too small"),
    ("cyclegan", ["preview_count=0"], "'preview_count': 0 is too small"),
    ("cyclegan", ["channels_last=fast"], "'channels_last': 'fast' is not one of"),
    ("discogan", ["image_size=7", "load_size=7"], "needs a multiple of 16"),
    ("discogan", ["image_size=32", "load_size=32"], "net 'D_A' cannot take 32×32 images"),
    ("discogan", ["d_every=1"], "'d_every': 1 is too small: must be ≥ 2"),
    ("discogan", ["recon_rate=2"], "'recon_rate': 2.0 is too large"),
    ("srgan", ["scale=5"], "'scale': 5 is not one of 2, 3, 4, 8"),
    ("srgan", ["phase=esrgan"], "'phase': 'esrgan' is not one of srresnet+srgan, srresnet, srgan"),
    ("srgan", ["image_size=90"], "image_size 90 (the HR crop) must be a multiple of scale 4"),
    ("srgan", ["phase=srgan"], "phase srgan starts from a trained SRResNet: set init_from"),
    ("gan", ["image_size=30", "load_size=30"], "DCGAN image_size must be a power of two"),
    ("cgan", ["conditioning=foo"], "'conditioning': 'foo' is not one of concat, projection"),
    ("cogan", ["image_size=32", "load_size=32"], "the CoGAN digits generator is unconditional and 28×28"),
    ("cogan", ["z_dim=0"], "'z_dim': 0 is too small"),
]


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bad")
    for d in ("trainA", "trainB"):
        write_images(root / "pair" / d, 2, size=40)
    write_images(root / "flat", 2, size=40)
    for c in ("a", "b"):
        write_images(root / "classes" / c, 2, size=40)
    return {"unpaired": root / "pair", "sr": root / "flat", "single": root / "flat", "labelled": root / "classes",
            "two_folders": root / "pair"}


def test_there_are_at_least_thirty_cases() -> None:
    assert len(BAD) >= 30


@pytest.mark.parametrize("variant,sets,message", BAD, ids=[f"{v}:{' '.join(s)}" for v, s, _ in BAD])
def test_a_bad_value_is_one_line_exit_2_and_no_run_dir(variant, sets, message, datasets, tmp_path, cli):
    from translate import discovery
    from translate.variant import VARIANTS

    discovery.load_all()
    runs = tmp_path / "runs"
    data = datasets[VARIANTS.get(variant).data]
    steps = [] if any(s.startswith("steps=") for s in sets) else ["--steps", "1"]
    code, out = cli("train", variant, "--data", str(data), "--runs-dir", str(runs), *steps,
                    *flags(*TINY[variant], *QUIET, *sets))
    errors = [line for line in out.splitlines() if line.startswith("error:")]
    assert code == 2, out
    assert len(errors) == 1 and "Traceback" not in out, out
    assert message in errors[0], errors[0]
    assert not runs.exists() or not any(runs.iterdir()), list(runs.iterdir())
