"""The run gallery and the convert gallery, opened in a real headless browser (Debian's chromium):
every image loads, rows are labelled, captions and explanations are there, the screenshot is a page.

.ci/run installs chromium when it is missing and sets TRANSLATE_REQUIRE_BROWSER=1, so there a
missing browser fails; elsewhere the test is skipped without one.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from translate.jobs import train as T
from translate.jobs.rundir import RunDir

from conftest import QUIET, TINY, plan_run

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _browser(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    if BROWSER is None:
        if os.environ.get("TRANSLATE_REQUIRE_BROWSER"):
            pytest.fail("chromium is needed for the gallery test (apt-get install -y chromium)")
        pytest.skip("no chromium here (CI installs it)")
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    return subprocess.run([BROWSER, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True,
                          timeout=120)


def test_the_gallery_in_a_real_browser(unpaired_dir, tmp_path):
    runs = tmp_path / "runs"
    plan = plan_run("cyclegan", unpaired_dir, runs, "g", [*TINY["cyclegan"], *QUIET, "steps=4", "sample_every=2",
                                                          "log_every=1"])
    T.run(plan)
    run = RunDir(plan.run_dir)
    page = run.gallery_path.as_uri()
    dom = _browser(tmp_path, "--virtual-time-budget=3000", "--dump-dom", page).stdout
    loaded = re.search(r'data-images="(\d+)/(\d+)"', dom)
    assert loaded, dom[:500]
    assert loaded.group(1) == loaded.group(2) == str(len(run.samples())) == "2"  # every image has naturalWidth > 0
    for label in ("real A", "A→B", "A→B→A", "real B", "B→A", "B→A→B"):
        assert f">{label}<" in dom
    assert "step 4 · epoch" in dom and "step 2 · epoch" in dom
    assert dom.index("step 4 · epoch") < dom.index("step 2 · epoch")  # newest first
    assert "image-rendering:pixelated" in dom.replace(" ", "")
    for link in ("config.yaml", "metrics.jsonl", "provenance.json", "checkpoints/step_00000004.pt"):
        assert f'href="{link}"' in dom  # relative to the run directory
    assert "<svg" in dom and "G_gan" in dom  # loss curves
    shot = tmp_path / "shot.png"
    _browser(tmp_path, "--window-size=1280,1600", f"--screenshot={shot}", page)
    with Image.open(shot) as img:
        pixels = np.asarray(img.convert("RGB"))
    assert pixels.shape[:2] == (1600, 1280) and pixels.std() > 10  # a page with content, not a blank one


def test_the_convert_gallery_shows_input_and_output(tmp_path, cli):
    import torch

    from translate.nets import build_net

    torch.manual_seed(0)
    weights = tmp_path / "g.pth"
    torch.save(build_net("resnet", ngf=4, n_blocks=1).state_dict(), weights)
    src = tmp_path / "in"
    src.mkdir()
    for i in range(3):
        Image.fromarray(np.random.default_rng(i).integers(0, 256, (24, 30, 3), dtype=np.uint8)).save(src / f"{i}.png")
    (src / "sub").mkdir()
    Image.fromarray(np.zeros((24, 30, 3), np.uint8)).save(src / "sub" / "0.png")  # same name, a subfolder
    code, out = cli("convert", str(weights), str(src), str(tmp_path / "out"), "--gallery", "--no-progress")
    assert code == 0, out
    dom = _browser(tmp_path, "--virtual-time-budget=3000", "--dump-dom", (tmp_path / "out" / "index.html").as_uri()).stdout
    assert 'data-images="8/8"' in dom and "0.png → 0.png" in dom and "sub/0.png → sub/0.png" in dom
