"""Time per photo through `translate demo` (its /translate API, as the page calls it) against
`translate convert` on the same back end (prints figures; not a test).

    python benchmarks/demo.py                           # 8 photos 256², 3 interleaved rounds, a 9-block CycleGAN G
    python benchmarks/demo.py --model runs/demo -n 16   # any MODEL `translate demo` takes
    python benchmarks/demo.py --browser                 # also through the page in headless Chromium

Rows, run round-robin so that load changes hit them alike:

  convert   `translate convert MODEL DIR OUT` in a fresh process, warm: its own "in Xs" (the
            conversion, not start-up or model loading) for 2n photos minus that for n, over n —
            decode/encode in worker threads
  api       the demo server (`translate demo MODEL`, its own process, warmed up by one request):
            gradio_client's predict(photo, api_name="/translate") one photo after another, the
            client's wall time (upload, queue, convert's single-file path, PNG, download)
  page      (--browser) headless Chromium: upload the photo, press Translate, wait for its
            download link — what a person waits for

The generator is randomly initialised unless --model is given: speed does not depend on the weights.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine_line  # noqa: E402

CONVERTED = re.compile(r"converted (\d+), .* in ([\d.]+)s")


def photos(folder: Path, n: int, size: int) -> list[Path]:
    from translate.data.demos import sr_photos

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        path = folder / f"photo_{i:02d}.png"
        Image.fromarray(sr_photos.render(sr_photos.HELD_OUT_SEED + i, size)).save(path)
        out.append(path)
    return out


def convert_seconds(model: list[str], src: Path, dst: Path, backend: str) -> float:
    shutil.rmtree(dst, ignore_errors=True)
    cmd = [sys.executable, "-m", "translate", "convert", *model, str(src), str(dst), "--ext", "png", "--no-progress",
           "--backend", backend]
    text = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return float(CONVERTED.search(text).group(2))


def convert_row(model: list[str], work: Path, n: int, backend: str) -> float:
    """Seconds per photo of a warm `translate convert`: (time for 2n photos - time for n) / n, so the
    first forward pass of a fresh process (its warm-up) cancels out, as the demo server's does."""
    return (convert_seconds(model, work / "in2", work / "out", backend)
            - convert_seconds(model, work / "in", work / "out", backend)) / n


def start_demo(model: list[str], port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "translate", "demo", *model, "--no-browser", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in proc.stdout:
        if "serving" in line:
            return proc
    raise SystemExit("translate demo did not start")


def api_row(client, files: list[Path], backend: str) -> float:
    from gradio_client import handle_file

    times = []
    for path in files:
        t0 = time.perf_counter()
        client.predict(handle_file(str(path)), backend=backend, api_name="/translate")
        times.append(time.perf_counter() - t0)
    return sum(times) / len(times)


WAIT_JS = """
const [stem, done] = [arguments[0], arguments[arguments.length - 1]];
const found = () => document.querySelector(`#downloads a[href*='${stem}-']`);
const t0 = performance.now();
new MutationObserver((_, obs) => { if (found()) { obs.disconnect(); done(performance.now() - t0); } })
    .observe(document.body, {childList: true, subtree: true, attributes: true});
document.querySelector('#go').click();
"""


def page_row(driver, url: str, files: list[Path]) -> float:
    """Press Translate and wait for the download link inside the page (a MutationObserver: no
    polling from outside, which would take CPU from the generator)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.set_script_timeout(300)
    times = []
    for path in files:
        driver.get(url)
        wait = WebDriverWait(driver, 300)
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#photo input[type=file]"))
        driver.find_element(By.CSS_SELECTOR, "#photo input[type=file]").send_keys(str(path))
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#photo img"))
        time.sleep(0.5)  # the upload has settled
        times.append(driver.execute_async_script(WAIT_JS, path.stem) / 1000)
    return sum(times) / len(times)


def browser(profile: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1280,1000", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", help="anything `translate demo` takes (default: a random 9-block CycleGAN generator)")
    ap.add_argument("--variant", help="--variant for a bare generator file")
    ap.add_argument("-n", type=int, default=8, help="photos per round")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--backend", default="torch", help="torch or onnx")
    ap.add_argument("--browser", action="store_true", help="also time the page in headless Chromium")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-demo-"))
    try:
        if args.model:
            model = [args.model] + (["--variant", args.variant] if args.variant else [])
        else:
            import torch

            from translate.nets import build_net

            torch.manual_seed(0)
            torch.save(build_net("resnet_9blocks").state_dict(), work / "G.pth")
            model = [str(work / "G.pth"), "--variant", "cyclegan"]
        files = photos(work / "in", args.n, args.size)
        (work / "in2").mkdir()
        for i in range(2):  # the same photos twice over for the 2n-photo conversion
            for f in files:
                shutil.copy(f, work / "in2" / f"{i}_{f.name}")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = start_demo(model, port)
        url = f"http://127.0.0.1:{port}/"
        from gradio_client import Client, handle_file

        client = Client(url, verbose=False, download_files=str(work / "downloads"))
        client.predict(handle_file(str(files[0])), backend=args.backend, api_name="/translate")  # warm-up
        driver = browser(work / "profile") if args.browser else None
        rows: dict[str, list[float]] = {"convert": [], "api": [], **({"page": []} if driver else {})}
        try:
            for _ in range(args.rounds):
                rows["convert"].append(convert_row(model, work, args.n, args.backend))
                rows["api"].append(api_row(client, files, args.backend))
                if driver is not None:
                    rows["page"].append(page_row(driver, url, files[: max(2, args.n // 2)]))
        finally:
            if driver is not None:
                driver.quit()
            server.terminate()
            server.wait(60)
        print(machine_line())
        print(f"{args.n} photos {args.size}², {args.rounds} rounds, back end {args.backend}, model {' '.join(model)}")
        base = statistics.median(rows["convert"])
        print(f"{'row':8} {'median s/photo':>15} {'min':>8} {'vs convert':>11}")
        for name, values in rows.items():
            med = statistics.median(values)
            print(f"{name:8} {med:15.3f} {min(values):8.3f} {med / base:10.2f}×")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        os.environ.pop("GRADIO_TEMP_DIR", None)


if __name__ == "__main__":
    main()
