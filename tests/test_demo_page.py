"""`translate demo` end to end: the real command serving a tiny run, driven by headless Chromium
(Debian's chromium + chromedriver through selenium: upload, translate, download, compare with
`translate convert`, a 1280-px screenshot) and by gradio_client (the /translate API), with hostile
uploads thrown at it — and nothing written outside its temp folder, which goes on Ctrl-C.

.ci/run installs chromium and chromium-driver and sets TRANSLATE_REQUIRE_BROWSER=1, so there a
missing browser fails; elsewhere these tests are skipped without one.
"""
from __future__ import annotations

import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import write_images
from test_demo_session import png_bomb, rotated_jpeg, tiny_run  # noqa: F401 - the shared run fixture

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
pytestmark = pytest.mark.slow


def _need(what: str, ok: bool) -> None:
    if ok:
        return
    if os.environ.get("TRANSLATE_REQUIRE_BROWSER"):
        pytest.fail(f"{what} is needed for the demo tests (pip install -e '.[dev]'; apt-get install chromium chromium-driver)")
    pytest.skip(f"no {what} here (CI installs it)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Served:
    url: str
    proc: subprocess.Popen
    root: Path  # holds tmp/ (the server's TMPDIR), home/ and cwd/
    run: Path  # the run it serves
    output: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def served(tiny_run, tmp_path_factory):  # noqa: F811 - the fixture imported above
    """`translate demo RUN --no-browser` in its own process, with its own TMPDIR, HOME and cwd."""
    _need("gradio", _importable("gradio") and _importable("gradio_client"))
    root = tmp_path_factory.mktemp("served")
    for sub in ("tmp", "home", "cwd"):
        (root / sub).mkdir()
    run = root / "run"  # a copy: the browser test drops a newer checkpoint into it
    shutil.copytree(tiny_run, run)
    env = {**os.environ, "TMPDIR": str(root / "tmp"), "HOME": str(root / "home"), "OMP_NUM_THREADS": "1",
           "PYTHONUNBUFFERED": "1", "NO_PROXY": "127.0.0.1,localhost"}
    env.pop("GRADIO_TEMP_DIR", None)
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "translate", "demo", str(run), "--no-browser", "--port", str(port),
                             "--max-file-mb", "1", "--max-files", "3", "--queue", "2"], cwd=root / "cwd", env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    server = Served(f"http://127.0.0.1:{port}/", proc, root, run)
    threading.Thread(target=lambda: server.output.extend(proc.stdout), daemon=True).start()
    deadline = time.monotonic() + 180
    while not any("serving" in line for line in server.output):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("translate demo did not start:\n" + "".join(server.output[-40:]))
        time.sleep(0.2)
    yield server
    if proc.poll() is None:
        proc.kill()
        proc.wait(30)


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def _client(served: Served, tmp_path: Path):
    from gradio_client import Client

    return Client(served.url, verbose=False, download_files=str(tmp_path / "downloads"))


def _pixels(source: str | Path | bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(source) if isinstance(source, bytes) else source).convert("RGB"))


def _same_or_50db(a: np.ndarray, b: np.ndarray) -> bool:
    assert a.shape == b.shape
    mse = float(((a.astype(np.float64) - b) ** 2).mean())
    return mse == 0 or 10 * np.log10(255**2 / mse) >= 50


def _convert(cli, run: Path, photo: Path, out: Path, *flags: str) -> np.ndarray:
    code, text = cli("convert", str(run), str(photo), str(out), "--no-progress", *flags)
    assert code == 0, text
    return _pixels(out)


def test_the_page_in_a_real_browser(served, tiny_run, tmp_path, cli):  # noqa: F811
    _need("chromium and chromedriver", BROWSER is not None and DRIVER is not None)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = BROWSER
    for flag in [*FLAGS, "--window-size=1280,1000", f"--user-data-dir={tmp_path / 'profile'}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        wait = WebDriverWait(driver, 120)
        driver.get(served.url)
        upload = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#photo input[type=file]"))
        photo = rotated_jpeg(tmp_path / "photo.jpg")
        upload.send_keys(str(photo))
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#photo img"))  # uploaded and shown
        driver.find_element(By.CSS_SELECTOR, "#go").click()
        link = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#downloads a[href*='photo-AtoB.png']"))[0]
        page_pixels = _pixels(urllib.request.urlopen(link.get_attribute("href"), timeout=30).read())
        assert page_pixels.shape == (41, 30, 3)  # EXIF orientation applied
        assert _same_or_50db(page_pixels, _convert(cli, tiny_run, photo, tmp_path / "convert.png"))
        status = driver.find_element(By.CSS_SELECTOR, "#status").text
        assert status.startswith("translated 1 photo in") and "(step 2 · torch)" in status
        shown = driver.execute_script("return Array.from(document.querySelectorAll('#slider img'))"
                                      ".filter(i => i.complete && i.naturalWidth > 0).length")
        assert shown == 2  # input and output under the comparison slider
        facts = driver.find_element(By.CSS_SELECTOR, "#facts").text
        assert "cyclegan" in facts and "step_00000002.pt (step 2)" in facts and "steps trained 2 of 2" in facts
        shot = tmp_path / "demo.png"
        driver.save_screenshot(str(shot))
        if os.environ.get("TRANSLATE_DEMO_SCREENSHOT"):
            shutil.copy(shot, os.environ["TRANSLATE_DEMO_SCREENSHOT"])
        pixels = _pixels(shot)
        assert pixels.shape[1] == 1280 and pixels.std() > 10
        # a newer checkpoint lands in the run: the next photo is translated by it
        import torch

        state = torch.load(served.run / "checkpoints" / "step_00000002.pt", weights_only=True)
        state["nets"]["G_AB"] = {k: v * 0.5 if v.is_floating_point() else v for k, v in state["nets"]["G_AB"].items()}
        state["ema"] = None
        torch.save(state, served.run / "checkpoints" / "step_00000006.pt")
        driver.find_element(By.CSS_SELECTOR, "#go").click()
        wait.until(lambda d: "(step 6 · torch)" in d.find_element(By.CSS_SELECTOR, "#status").text)
        assert "step_00000006.pt (step 6)" in driver.find_element(By.CSS_SELECTOR, "#facts").text
        # an example photo: picked, translated in its own direction
        driver.find_elements(By.CSS_SELECTOR, "#examples button.thumbnail-item")[2].click()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#downloads a[href*='-BtoA.png']"))
        # a hostile upload: one line on the page, and the page keeps working
        notes = tmp_path / "notes.png"
        notes.write_text("not an image")
        driver.find_element(By.CSS_SELECTOR, "#photo button[aria-label='Remove Image']").click()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#photo input[type=file]"))
        driver.find_element(By.CSS_SELECTOR, "#photo input[type=file]").send_keys(str(notes))
        time.sleep(0.5)
        driver.find_element(By.CSS_SELECTOR, "#go").click()
        wait.until(lambda d: "notes.png" in d.find_element(By.CSS_SELECTOR, "#status").text)
        assert driver.find_element(By.CSS_SELECTOR, "#status").text == "notes.png: not an image, or an unsupported image format"
    finally:
        driver.quit()


def test_the_api_with_gradio_client(served, tmp_path, cli):
    from gradio_client import handle_file

    client = _client(served, tmp_path)
    assert "/translate" in client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    photo = write_images(tmp_path / "in", 1, size=24)[0]
    out = client.predict(handle_file(str(photo)), api_name="/translate")
    assert _same_or_50db(_pixels(out), _convert(cli, served.run, photo, tmp_path / "a.png"))  # its newest checkpoint
    out = client.predict(handle_file(str(photo)), direction="BtoA", api_name="/translate")
    assert _same_or_50db(_pixels(out), _convert(cli, served.run, photo, tmp_path / "b.png", "--direction", "BtoA"))
    # several photos through the page's own endpoint: every result, and a zip of them all
    two = write_images(tmp_path / "two", 2, size=24, seed=3)
    slider, strip, files, status, *_ = client.predict(None, [handle_file(str(p)) for p in two], "AtoB", "torch", 1024,
                                                      api_name="/translate_page")
    names = sorted(Path(f).name for f in files)
    assert names == ["img_000-AtoB.png", "img_001-AtoB.png", "translated-AtoB.zip"], status


def test_hostile_uploads_get_one_message_and_the_server_stays_up(served, tmp_path):
    import httpx
    from gradio_client import handle_file

    client = _client(served, tmp_path)
    notes = tmp_path / "notes.png"
    notes.write_text("not an image")
    with pytest.raises(Exception, match="notes.png: not an image, or an unsupported image format"):
        client.predict(handle_file(str(notes)), api_name="/translate")
    with pytest.raises(Exception, match=r"bomb.png: too large: 12000×12000 = 144,000,000 pixels exceeds the 89,478,485"):
        client.predict(handle_file(str(png_bomb(tmp_path / "bomb.png"))), api_name="/translate")
    big = tmp_path / "big.png"
    big.write_bytes(os.urandom(1_500_000))  # over --max-file-mb 1: refused on upload, never stored
    with open(big, "rb") as fh:
        response = httpx.post(served.url + "gradio_api/upload", files={"files": ("big.png", fh)}, timeout=60)
    assert response.status_code == 413 and "maximum" in response.text.lower()
    four = write_images(tmp_path / "four", 4, size=16)
    status = client.predict(None, [handle_file(str(p)) for p in four], "AtoB", "torch", 1024,
                            api_name="/translate_page")[3]
    assert "4 photos at once: up to 3 per request" in str(status)
    # many at once: a queue of 2 behind 1 running; the rest are turned away with a message, none is lost
    photo = write_images(tmp_path / "many", 1, size=64)[0]
    jobs = [client.submit(handle_file(str(photo)), api_name="/translate") for _ in range(10)]
    outcomes = []
    for job in jobs:
        try:
            outcomes.append(("ok", _pixels(job.result(timeout=120)).shape))
        except Exception as err:  # noqa: BLE001 - what the client raises for a full queue
            outcomes.append(("refused", str(err)))
    assert {o for o, _ in outcomes} <= {"ok", "refused"} and any(o == "ok" for o, _ in outcomes)
    assert all(v == (64, 66, 3) for o, v in outcomes if o == "ok")
    assert all("queue" in str(v).lower() for o, v in outcomes if o == "refused"), outcomes
    assert _pixels(client.predict(handle_file(str(photo)), api_name="/translate")).shape == (64, 66, 3)  # still up
    assert served.proc.poll() is None
    assert not any("Traceback" in line for line in served.output), "".join(served.output)


def test_nothing_outside_its_temp_folder_which_ctrl_c_removes(served):
    tmp, home, cwd = (served.root / sub for sub in ("tmp", "home", "cwd"))
    assert [str(p) for p in home.rglob("*")] == [] and [str(p) for p in cwd.rglob("*")] == []
    folders = list(tmp.iterdir())
    assert len(folders) == 1 and folders[0].name.startswith("translate-demo-")
    assert any((folders[0] / "results").iterdir())
    served.proc.send_signal(signal.SIGINT)
    assert served.proc.wait(60) == 0
    assert list(tmp.iterdir()) == [] and [p.name for p in home.rglob("*")] == []
