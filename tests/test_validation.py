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
    # the hostile sweep: malformed YAML, huge numbers, odd devices, long values, nonsense accepted before
    ("cyclegan", ["lr=[1e-4"], "'lr': cannot read '[1e-4' as float (not a plain value"),
    ("cyclegan", ["lr=!!python/name:os.system"], "'lr': cannot read '!!python/name:os.system' as float"),
    ("cyclegan", ["lr={a: [1, 2"], "'lr': cannot read"),
    ("cyclegan", ["seed=9223372036854775808"], "'seed': 9223372036854775808 is too large: must be ≤ 2.14748e+09"),
    ("cyclegan", ["batch_size=9223372036854775807"], "'batch_size': 9223372036854775807 is too large"),
    ("cyclegan", ["steps=1" + "0" * 5000], "'steps': "),
    ("cyclegan", ["load_size=1e12"], "'load_size': 1000000000000 is too large: must be ≤ 16384"),
    ("cyclegan", ["load_size=1.25e1"], "'load_size': cannot read 12.5 as int"),
    ("cyclegan", ["lr=1e308"], "'lr': 1e+308 is too large"),
    ("cyclegan", ["lr=1e309"], "'lr': inf is not a finite number"),
    ("cyclegan", ["lambda_cycle=1e308"], "'lambda_cycle': 1e+308 is too large"),
    ("cyclegan", ["lambda_identity=1e308"], "'lambda_identity': 1e+308 is too large"),
    ("cyclegan", ["grad_clip=1e308"], "'grad_clip': 1e+308 is too large"),
    ("cyclegan", ["device=meta"], "unknown device 'meta'; use auto, cpu, cuda, cuda:N or mps"),
    ("cyclegan", ["device=xpu"], "unknown device 'xpu'"),
    ("cyclegan", ["device=hpu"], "unknown device 'hpu'"),
    ("cyclegan", ["device=cpu:99"], "device 'cpu:99' does not exist: use cpu"),
    ("cyclegan", ["device=" + "x" * 3000], "unknown device 'xxxx"),
    ("cyclegan", ["lr=" + "9" * 3000], "'lr': "),
    ("cyclegan", ["init_from=/" + "a" * 3000], "'init_from': /aaaa"),
    ("cyclegan", ["init_from=/etc/passwd"], "'init_from': /etc/passwd is not"),
    ("cyclegan", ["flip=\x1b[2J"], "cannot read"),
    ("discogan", ["weight_decay=1e308"], "'weight_decay': 1e+308 is too large"),
    ("discogan", ["d_every=1e12"], "'d_every': 1000000000000 is too large"),
    ("srgan", ["init_std=1e308"], "'init_std': 1e+308 is too large"),
    ("srgan", ["n_blocks=1e12"], "'n_blocks': 1000000000000 is too large"),
    ("srgan", ["n_blocks=100000"], "'n_blocks': 100000 is too large"),
    ("srgan", ["nf=1000000"], "'nf': 1000000 is too large"),
    ("cogan", ["generator=mlp_g"], "the 'cogan' nets cannot be built with this config (check generator"),
    ("cogan", ["ngf=100000000"], "'ngf': 100000000 is too large"),
]


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bad")
    for d in ("trainA", "trainB"):
        write_images(root / "pair" / d, 2, size=40)
    write_images(root / "flat", 2, size=40)
    for c in ("a", "b"):
        write_images(root / "classes" / c, 2, size=40)
    return {"unpaired": root / "pair", "sr": root / "flat", "noise": root / "flat", "single": root / "flat", "labelled": root / "classes",
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


BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n" for p, c in zip("abcdefgh", "bcdefghi"))

BAD_FILES = [  # (--config file content, what the one line must say)
    (b"1: 2\nlr: 1e-4\n", "key 1 is not a name"),
    (b"engine:\n  2.5: 3\n", "key 2.5 is not a name"),
    (b"? [1, 2]\n: 3\n", "is not valid YAML"),
    (b"lr: \xff\xfe 1e-4\n", "is not valid YAML: not UTF-8 text"),
    (b"lr: [1e-4\n", "is not valid YAML"),
    (b"lr: !!python/object/apply:os.system [echo hi]\n", "is not valid YAML"),
    (BOMB.encode() + b"lr: *i\n", "once its aliases are expanded (an alias bomb?)"),
    (b"a: &a [x]\n" + b"".join(b"k%d: &k%d [*a, *a]\n" % (i, i) for i in range(120)), "more than 100 aliases"),
    (b"[" * 100_000, "is not valid YAML"),
    (b"# " + b"x" * (2 << 20), "is over 1 MiB"),
    (b"- just\n- a list\n", "must be a mapping"),
]


@pytest.mark.parametrize("content,message", BAD_FILES, ids=[str(i) for i in range(len(BAD_FILES))])
def test_a_bad_config_file_is_one_line_exit_2(content, message, datasets, tmp_path, cli):
    config = tmp_path / "bad.yaml"
    config.write_bytes(content)
    runs = tmp_path / "runs"
    code, out = cli("train", "cyclegan", "--data", str(datasets["unpaired"]), "--runs-dir", str(runs),
                    "--config", str(config), "--steps", "1")
    errors = [line for line in out.splitlines() if line.startswith("error:")]
    assert code == 2 and len(errors) == 1 and "Traceback" not in out, out
    assert message in errors[0] and len(errors[0]) < 400, errors[0]
    assert not runs.exists()


@pytest.mark.parametrize("flag", ["--data", "--config", "--name", "--runs-dir", "--resume"])
def test_a_3000_character_path_is_one_short_line(flag, datasets, tmp_path, cli):
    long = str(tmp_path / ("a" * 3000))
    args = {"--data": ["--data", long], "--config": ["--data", str(datasets["unpaired"]), "--config", long],
            "--name": ["--data", str(datasets["unpaired"]), "--name", "a" * 3000],
            "--runs-dir": ["--data", str(datasets["unpaired"]), "--runs-dir", long],
            "--resume": ["--resume", long]}[flag]
    if flag != "--runs-dir":
        args += ["--runs-dir", str(tmp_path / "runs")]
    code, out = cli("train", "cyclegan", "--steps", "1", *flags(*TINY["cyclegan"], *QUIET), *args)
    errors = [line for line in out.splitlines() if line.startswith("error:")]
    assert code == 2 and len(errors) == 1 and "Traceback" not in out, out[-2000:]
    assert len(errors[0]) < 600, errors[0]
