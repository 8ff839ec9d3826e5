"""The model a browser demo serves: opened exactly as `translate convert` opens it, on every back
end it has, watched for newer checkpoints, and run on uploads through convert's own per-file path.

    session = Session("runs/h2z", workdir=Path("/tmp/translate-demo-x"))
    done = session.translate([Path("horse.jpg")], "AtoB", "torch", tile=1024)

Nothing here knows the web framework: `translate.app.page` draws the page around it. Every
file it writes goes under `workdir` (results, example photos).
"""
from __future__ import annotations

import re
import threading
import time
import uuid
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from translate.errors import ConfigError, DataError, TranslateError
from translate.files import first_line
from translate.inference.convert import ConvertOptions, convert
from translate.inference.image_io import decode, encode
from translate.inference.loading import open_model
from translate.inference.translator import Model, Translator
from translate.jobs.rundir import RunDir

SHOWN_AS_IS = {".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp"}  # inputs a browser displays itself
KEEP_RESULTS_S = 3600.0  # result folders older than this are removed on the next request


@dataclass
class Limits:
    """What one page or API request may ask for (the upload size cap and the queue are the server's)."""

    max_pixels: int = ConvertOptions.max_pixels  # convert's decompression-bomb guard
    max_files: int = 32  # photos per request
    max_file_mb: float = 50.0  # bytes per uploaded file, in MB (enforced by the server on upload)
    queue: int = 16  # requests waiting; more are turned away with a message
    concurrency: int = 1  # requests translated at once (the generator uses every core already)


@dataclass
class Result:
    """What one request produced: (input shown, output) pairs, failures with reasons, a zip of all."""

    pairs: list[tuple[Path, Path]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (file name, one-line reason)
    archive: Path | None = None
    seconds: float = 0.0
    served: str = ""  # what translated them: "step 1,200 · torch"

    @property
    def outputs(self) -> list[Path]:
        return [out for _, out in self.pairs]

    def message(self) -> str:
        done = len(self.pairs)
        photos = f"{done} photo{'s' if done != 1 else ''}"
        text = f"translated {photos} in {self.seconds:.2f} s ({self.served})" if done else ""
        for name, reason in self.failed:
            text += ("\n" if text else "") + f"{name}: {reason}"
        return text or "no photo given: drop, paste or upload one"


class Session:
    """One model on its back ends: "torch", "onnx" (an exported file where one is found, else
    exported on first use as `convert --backend onnx` does) and "int8" where `translate export
    --quantize int8` files are found; an ONNX MODEL runs on onnxruntime alone. A run directory
    is watched: a newer checkpoint is loaded on the next request (or `refresh`)."""

    def __init__(self, model: str, *, workdir: Path, variant: str | None = None, plugins: Sequence[str] = (),
                 device: str = "auto", precision: str = "fp32", limits: Limits | None = None) -> None:
        self.model, self.variant, self.plugins = model, variant, list(plugins)
        self.device, self.precision = device, precision
        self.limits = limits or Limits()
        self.workdir = Path(workdir)
        self.results_dir = self.workdir / "results"
        self._lock = threading.RLock()
        self._models: dict[str, Model] = {}
        self.exports: dict[tuple[str, str], Path] = {}
        self.note = ""  # the last reload problem, shown on the page
        self._open()

    # --- opening and watching ----------------------------------------------------------------------
    def _open(self) -> None:
        base = open_model(self.model, self.variant, "auto", self.device, self.precision, self.plugins)
        images = [n for n, t in base.translators.items() if t.kind == "image"]
        if not images:
            raise ConfigError(f"{self.model} generates images from noise: the demo translates photos; "
                              "use `translate sample` for it")
        self.onnx_only = base.kind == "onnx"
        self.base, self.directions = base, images
        self._models = {self._base_backend(): base}
        self.checkpoint = Path(base.source) if base.kind == "checkpoint" else None
        self.loaded_at = time.time()
        self.exports = {} if self.onnx_only else self._find_exports()

    def _base_backend(self) -> str:
        if not self.base.kind == "onnx":
            return "torch"
        return "int8" if self.base.spec is not None and "quantization" in self.base.spec.extra else "onnx"

    @property
    def run(self) -> RunDir | None:
        """The training run being served, when MODEL is a run directory."""
        path = Path(self.model)
        return RunDir(path) if path.is_dir() and RunDir(path).exists() else None

    def refresh(self) -> bool:
        """Load the run's newest checkpoint if a newer one has landed; True when it did."""
        run = self.run
        if run is None or self.checkpoint is None:
            return False
        newest = run.latest_checkpoint()
        if newest is None or newest == self.checkpoint:
            return False
        with self._lock:
            if newest == self.checkpoint:
                return False
            try:
                self._open()
            except TranslateError as err:  # e.g. a checkpoint being written by a crashing run
                self.note = f"could not load {newest.name} ({first_line(err)}); still serving {self.checkpoint.name}"
                return False
            self.note = ""
            return True

    @property
    def step(self) -> int | None:
        if self.checkpoint is None:
            return None
        try:
            return RunDir.step_of(self.checkpoint)
        except ValueError:
            return None

    def backends(self) -> list[str]:
        if self.onnx_only:
            return [self._base_backend()]
        return ["torch", "onnx"] + (["int8"] if any(b == "int8" for b, _ in self.exports) else [])

    def _find_exports(self) -> dict[tuple[str, str], Path]:
        """(back end, direction) -> an ONNX file named as `translate export` names it
        (STEM-DIRECTION.onnx, STEM-DIRECTION.int8.onnx) in the current folder, next to MODEL, or
        inside a run directory: the int8 back end, and ONNX without exporting on first use."""
        from translate.inference.sources import read_onnx_spec

        stem = Path(self.model.rstrip("/")).stem
        path = Path(self.model)
        folders = dict.fromkeys(p.resolve() for p in (Path.cwd(), path.parent, path) if p.is_dir())
        found: dict[tuple[str, str], Path] = {}
        for folder in folders:
            for file in sorted(folder.glob(f"{stem}-*.onnx")):
                try:
                    spec = read_onnx_spec(file)
                except TranslateError:
                    continue
                backend = "int8" if "quantization" in spec.extra else "onnx"
                for name in spec.translators:
                    if name in self.directions:
                        found.setdefault((backend, name), file)
        return found

    def translator(self, direction: str, backend: str) -> Translator:
        """The translator of `direction` on `backend` (opened on first use, kept)."""
        if direction not in self.directions:
            raise ConfigError(f"unknown direction '{direction}'; this model has: {', '.join(self.directions)}")
        if backend not in self.backends():
            raise ConfigError(f"back end '{backend}' is not available for this model; use {', '.join(self.backends())}")
        if backend == "int8" and not self.onnx_only and ("int8", direction) not in self.exports:
            stem = Path(self.model.rstrip("/")).stem
            raise ConfigError(f"no int8 export of {direction} found ({stem}-{direction}.int8.onnx: `translate export "
                              f"{self.model} --direction {direction} --quantize int8 --calibrate PHOTOS`)")
        with self._lock:
            file = None if self.onnx_only else self.exports.get((backend, direction))
            key = f"{backend}:{file}" if file else backend
            if key not in self._models:
                if file is not None:  # an exported file, run as `translate convert FILE` runs it
                    self._models[key] = open_model(file, None, "auto", self.device, "fp32", self.plugins)
                else:  # "onnx": convert's --backend onnx, exported from the weights being served
                    self._models[key] = open_model(self.model if self.checkpoint is None else self.checkpoint,
                                                   self.variant, "onnx", self.device, "fp32", self.plugins)
            model = self._models[key]
        return model.pick(direction if direction in model.translators else None)

    def directions_with(self, backend: str) -> list[str]:
        if backend != "int8" or self.onnx_only:
            return list(self.directions)
        return [d for d in self.directions if ("int8", d) in self.exports]

    # --- translating -------------------------------------------------------------------------------
    def translate(self, files: Sequence[Path], direction: str, backend: str = "torch", tile: int | None = None) -> Result:
        """Each file through `translate convert`'s single-file path (decode with EXIF orientation and
        the --max-pixels guard, tiling, the back end, PNG encode): the same file gives the same pixels."""
        if len(files) > self.limits.max_files:
            raise DataError(f"{len(files)} photos at once: up to {self.limits.max_files} per request")
        self.refresh()
        self._sweep()
        started = time.perf_counter()
        t = self.translator(direction, backend)
        out_dir = self.results_dir / uuid.uuid4().hex[:12]
        out_dir.mkdir(parents=True)
        options = ConvertOptions(ext="png", tile=tile or None, overwrite=True, progress=False,
                                 max_pixels=self.limits.max_pixels, workers=1)
        result = Result(served=self.describe_serving(backend))
        taken: set[str] = set()
        for src in files:
            src = Path(src)
            name = _unique(f"{_safe_stem(src)}-{direction}", taken)
            dst = out_dir / f"{name}.png"
            try:
                report = convert(t, src, dst, options)
            except TranslateError as err:  # a tile too small for this generator, ...
                result.failed.append((src.name, first_line(err)))
                continue
            if report.failed:
                result.failed.append((src.name, report.failed[0][1]))
                continue
            result.pairs.append((self._shown(src, out_dir, name), dst))
        if len(result.pairs) > 1:
            result.archive = out_dir / f"translated-{direction}.zip"
            with zipfile.ZipFile(result.archive, "w", zipfile.ZIP_STORED) as zf:  # PNGs are compressed already
                for out in result.outputs:
                    zf.write(out, out.name)
        result.seconds = time.perf_counter() - started
        return result

    def _shown(self, src: Path, out_dir: Path, name: str) -> Path:
        """The input as the page shows it: the upload itself, or a PNG where a browser cannot show it (TIFF...)."""
        if src.suffix.lower() in SHOWN_AS_IS:
            return src
        decoded = decode(src, 3, self.limits.max_pixels)
        return encode(decoded.array, out_dir / f"{name}-input.png")

    def _sweep(self) -> None:
        """Remove result folders older than KEEP_RESULTS_S: a demo left running does not fill the disk."""
        if not self.results_dir.is_dir():
            return
        import shutil

        cutoff = time.time() - KEEP_RESULTS_S
        for folder in self.results_dir.iterdir():
            try:
                if folder.stat().st_mtime < cutoff:
                    shutil.rmtree(folder, ignore_errors=True)
            except OSError:
                pass

    # --- what the page says about the model ---------------------------------------------------------
    def describe_serving(self, backend: str) -> str:
        step = self.step
        return (f"step {step:,} · " if step is not None else "") + backend

    def facts(self) -> list[tuple[str, str, str]]:
        """(what, value, explanation) rows: variant, data, steps, the checkpoint served, metrics."""
        from translate.app.facts import model_facts

        return model_facts(self)


def _safe_stem(path: Path) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", path.stem).strip("._") or "photo"
    return stem[:80]


def _unique(name: str, taken: set[str]) -> str:
    out, n = name, 2
    while out in taken:
        out, n = f"{name}_{n}", n + 1
    taken.add(out)
    return out
