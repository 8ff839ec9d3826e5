"""Folder -> folder conversion with a translator.

    report = convert(translator, "photos/", "out/")

The output mirrors the input tree at full resolution. Files are decoded and encoded in
worker threads while the generator runs; consecutive same-size images are batched; large
images go through overlapping tiles. Bad files are reported and skipped, inputs are only
ever read, finished outputs are skipped on a rerun (`overwrite` redoes them), and outputs
are written atomically (temp file + rename).
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


from translate.data.images import MAX_PIXELS
from translate.inference.image_io import CHOICES, FORMATS, IMAGE_EXTENSIONS, BadImage, Decoded, decode, encode, output_suffix
from translate.errors import ConfigError, DataError, TranslateError
from translate.inference.manifest import MANIFEST, identity, read_manifest, relative
from translate.files import FileId, OutputTree, atomic_write, clean_stale_temps, file_id, first_line, shown
from translate.jobs.progress import Progress
from translate.inference.translator import Translator

Log = Callable[[str], None]


@dataclass
class ConvertOptions:
    ext: str | None = None  # png, jpg or webp; None: the input's own format
    quality: int = 95  # JPEG/WebP quality
    tile: int | None = None  # images above this many pixels per side are tiled (None: translator default)
    overlap: int | None = None  # tile overlap in pixels (None: tile/8)
    batch_size: int = 0  # same-size images per forward pass; 0: 4 on a GPU, 1 on the CPU (where batching
    # measured slower: CycleGAN 256², 2 cores, batch 4 0.66 s/img against 0.57-0.60 at batch 1, and more memory)
    workers: int = 2  # decode threads and encode threads (each)
    overwrite: bool = False  # redo outputs that already exist
    max_pixels: int = MAX_PIXELS  # decompression-bomb limit
    progress: bool = True  # a bar in a terminal, a plain line every log_every_s seconds elsewhere (stderr)
    log_every_s: float = 30.0


@dataclass
class ConvertReport:
    converted: list[Path] = field(default_factory=list)  # outputs written
    pairs: list[tuple[Path, Path]] = field(default_factory=list)  # (input, output) of each converted file
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # (input, reason)
    failed: list[tuple[Path, str]] = field(default_factory=list)  # (input, reason)
    seconds: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)  # seconds: decode, encode (summed over threads), forward

    @property
    def images_per_second(self) -> float:
        return len(self.converted) / self.seconds if self.seconds > 0 else 0.0

    @property
    def ok(self) -> bool:
        return not self.failed

    @classmethod
    def merge(cls, reports: list[ConvertReport]) -> ConvertReport:
        """The combined report of several processes (time: the slowest one's)."""
        out = cls(seconds=max((r.seconds for r in reports), default=0.0))
        for r in reports:
            for k, v in r.stages.items():
                out.stages[k] = out.stages.get(k, 0.0) + v
            out.converted += r.converted
            out.pairs += r.pairs
            out.skipped += r.skipped
            out.failed += r.failed
        return out

    def summary(self) -> str:
        done = sum(1 for _, r in self.skipped if r == EXISTS)
        extra = f" ({done} already done)" if done else ""
        return (f"converted {len(self.converted)}, skipped {len(self.skipped)}{extra}, failed {len(self.failed)} "
                f"in {self.seconds:.1f}s ({self.images_per_second:.2f} images/s)")


EXISTS = "output exists (use --overwrite to redo)"


@dataclass
class Job:
    src: Path
    dst: Path


@dataclass
class Plan:
    """What a conversion will do, decided before anything is written."""

    jobs: list[Job]
    skipped: list[tuple[Path, str]]  # (input, reason): not images, outputs already there
    refused: list[tuple[Path, str]]  # (input, reason): outputs that would be unsafe to write
    renamed: list[tuple[Path, Path]]  # (input, output) whose natural output name another input takes
    root: Path | None = None  # the folder the outputs are written below
    input_dirs: set[FileId] = field(default_factory=set)  # (device, inode) of every input folder
    input_files: set[FileId] = field(default_factory=set)  # ... and of every input file
    redo: list[tuple[Path, Path]] = field(default_factory=list)  # (input, output) made from another input


def scan(folder: Path, dirs: set[FileId] | None = None) -> tuple[list[Path], list[tuple[Path, str]]]:
    """(image files, skipped (file, reason)) under `folder`, sorted; hidden files and folders ignored.
    `dirs` collects the (device, inode) of every folder below it, hidden ones too."""
    images: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    for path in sorted(folder.rglob("*")):
        if dirs is not None and path.is_dir():
            dirs |= {i for i in [file_id(path)] if i}
        if any(part.startswith(".") for part in path.relative_to(folder).parts) or not path.is_file():
            continue
        if path.suffix.lower() not in IMAGE_EXTENSIONS:
            skipped.append((path, f"not an image file (unsupported extension '{path.suffix or '(none)'}')"))
        else:
            images.append(path)
    return images, skipped


def plan(src: str | Path, dst: str | Path, ext: str | None = None, overwrite: bool = False) -> Plan:
    """Jobs (input -> output), skipped files and refused outputs; never writes anything.

    Outputs are compared with the inputs by device and inode (symlinks followed), so a link, a
    bind mount or a second mount of the same volume cannot make an output land in the input
    tree or on an input file: such outputs are refused, as is one that exists as a directory.
    Outputs are distinct: `photo.png` keeps `photo.png`, `photo.gif` becomes `photo_gif.png`,
    and so on until free."""
    src, dst = Path(src), Path(dst)
    if ext is not None and ext.lower().lstrip(".") not in CHOICES:
        raise ConfigError(f"unknown output format '{ext}'; use png, jpg or webp")
    if not src.exists():
        raise DataError(f"input not found: {shown(src)}")
    skipped: list[tuple[Path, str]] = []
    dirs: set[FileId] = set()
    if src.is_file():
        to_file = dst.suffix.lower() in FORMATS and not dst.is_dir()  # photo.jpg -> out.png: a file
        out = dst if to_file else dst / (src.stem + output_suffix(src.suffix, ext))
        if out.resolve() == src.resolve() or file_id(out) == file_id(src):
            raise DataError(f"output {shown(out)} is the input file itself; choose another output path")
        jobs, root = [Job(src, out)], out.parent
        files = {i for i in [file_id(src)] if i}
        renamed: list[tuple[Path, Path]] = []
    else:
        dirs = {i for i in [file_id(src)] if i}
        found, skipped = scan(src, dirs)
        images = [(path.relative_to(src), output_suffix(path.suffix, ext)) for path in found]
        d = dst.resolve()
        if d == src.resolve() or src.resolve() in d.parents or any(file_id(a) in dirs for a in (d, *d.parents)):
            raise DataError(f"output folder {shown(dst)} is inside the input folder {shown(src)} (or is it, under "
                            "another path or mount): choose an output folder outside it")
        jobs, renamed = _distinct(src, dst, images)
        files = {i for rel, _ in images if (i := file_id(src / rel))}
        root = dst
    refused = []
    seen: dict[Path, bool] = {}
    for job in jobs:
        reason = _unsafe(job.dst, root, dirs, files, seen)
        if reason:
            refused.append((job.src, reason))
    refused_src = {s for s, _ in refused}
    jobs = [j for j in jobs if j.src not in refused_src]
    redo: list[tuple[Path, Path]] = []
    if not overwrite:
        made = read_manifest(root)
        todo = []
        for j in jobs:
            if not j.dst.is_file():
                todo.append(j)
                continue
            record = made.get(relative(j.dst, root))
            if record is None or record == identity(j.src, src):  # no record: an earlier version's output
                skipped.append((j.src, EXISTS))
            else:
                todo.append(j)  # made from another input, or from this one before it changed
                redo.append((j.src, j.dst))
        jobs = todo
    return Plan(jobs, skipped, refused, renamed, root, dirs, files, redo)


def _distinct(src: Path, dst: Path, images: list[tuple[Path, str]]) -> tuple[list[Job], list[tuple[Path, Path]]]:
    """Distinct output paths: files keeping their own name first, then the others with _EXT, _EXT_2... added."""
    taken: set[Path] = set()
    jobs, renamed = [], []
    for rel, suffix in sorted(images, key=lambda item: (item[1] != item[0].suffix, item[0])):
        out = dst / rel.with_suffix(suffix)
        n = 1
        while out in taken:
            tag = rel.suffix.lstrip(".").lower() + (f"_{n}" if n > 1 else "")
            out = out.with_name(f"{rel.stem}_{tag}{suffix}")
            n += 1
        if out != dst / rel.with_suffix(suffix):
            renamed.append((src / rel, out))
        taken.add(out)
        jobs.append(Job(src / rel, out))
    jobs.sort(key=lambda job: job.src)
    return jobs, renamed


def _unsafe(out: Path, root: Path, dirs: set[FileId], files: set[FileId], seen: dict[Path, bool]) -> str:
    """Why writing `out` is unsafe ("" if not): by device and inode an input file, below an input folder, or a folder."""
    if file_id(out) in files:
        return f"output {shown(out)} resolves to the input file {shown(_resolved(out))} (a symlink?): refusing to overwrite an input"
    folder = out.parent
    while folder != root and root in folder.parents:
        if folder not in seen:
            seen[folder] = file_id(folder) in dirs
        if seen[folder]:
            return (f"output {shown(out)} resolves to {shown(_resolved(out))}, inside the input folder (a symlink?): "
                    "refusing to write there")
        folder = folder.parent
    if out.is_dir():
        return f"output {shown(out)} exists as a directory"
    return ""


def _resolved(path: Path) -> str:
    """Where `path` leads, for a message; a link swapped while it is resolved says so instead of failing."""
    with contextlib.suppress(OSError):
        return str(path.resolve())
    return "a path that changed while it was checked"


def share(jobs: list[Job], batch_size: int, rank: int, world: int) -> list[Job]:
    """This process's part of the jobs: whole chunks of `batch_size` consecutive jobs, contiguous,
    deterministic — every process forms exactly the batches one process would have formed."""
    chunks = -(-len(jobs) // max(1, batch_size))
    first, last = rank * chunks // world, (rank + 1) * chunks // world
    return jobs[first * batch_size : last * batch_size]


def convert(translator: Translator, src: str | Path, dst: str | Path, options: ConvertOptions | None = None,
            log: Log | None = None, rank: int = 0, world: int = 1) -> ConvertReport:
    """Translate every image under `src` into `dst` (same tree); never raises for a bad file.

    With `world` > 1 (processes under torchrun) this process converts its `share` of the files
    and reports on them (the skipped/refused files of the plan are reported by rank 0 alone)."""
    opt = options or ConvertOptions()
    if translator.kind != "image":
        raise ConfigError(f"translator '{translator.name}' generates from noise: use `translate sample`")
    if not 1 <= opt.quality <= 100:
        raise ConfigError(f"--quality must be 1..100, got {opt.quality}")
    tile = opt.tile or translator.default_tile()
    smallest = 2 * translator.size_multiple
    if tile < smallest:
        raise ConfigError(f"--tile {tile} is too small for this generator: use at least {smallest} "
                          f"(twice its size multiple {translator.size_multiple})")
    if opt.batch_size <= 0:
        opt = dataclasses.replace(opt, batch_size=4 if translator.accelerated else 1)
    work = _agreed_plan(src, dst, opt, rank, world)
    jobs = share(work.jobs, opt.batch_size, rank, world) if world > 1 else work.jobs
    if rank:
        work = dataclasses.replace(work, skipped=[], refused=[], renamed=[], redo=[])  # rank 0 reports those
    report = ConvertReport(skipped=work.skipped, failed=list(work.refused))
    for path, reason in work.skipped:
        if reason != EXISTS and log:
            log(f"skipped {shown(path)}: {shown(reason, 1000)}")
    for path, reason in work.refused:
        if log:
            log(f"refused {shown(path)}: {shown(reason, 1000)}")
    for path, out in work.redo:
        if log:
            log(f"redoing {shown(out)}: it was made from another input (or {shown(path.name)} changed since)")
    for path, out in work.renamed:
        if log:
            log(f"renamed {shown(path)} -> {shown(out)}: another input takes the name "
                f"{shown(out.with_name(path.stem + out.suffix).name)}")
    t0 = time.perf_counter()
    tree = _open_tree(work, jobs)
    try:
        with Progress("convert", len(jobs), unit="img", enabled=opt.progress and bool(jobs) and not rank,
                      every_s=opt.log_every_s) as bar:
            _Pipeline(translator, opt, report, bar, log, tree, Path(src)).run(jobs)
    finally:
        if tree is not None:
            tree.close()
    report.seconds = time.perf_counter() - t0
    return report


def _agreed_plan(src: str | Path, dst: str | Path, opt: ConvertOptions, rank: int, world: int) -> Plan:
    """One plan for every process: rank 0 plans, before any rank writes, and the others take its plan
    (planning on each would let a slow rank skip outputs a fast one had already written)."""
    if world == 1:
        return plan(src, dst, opt.ext, opt.overwrite)
    from translate import parallel

    work: Plan | TranslateError | None = None
    if rank == 0:
        try:
            work = plan(src, dst, opt.ext, opt.overwrite)
        except TranslateError as err:  # every rank ends with it, none waits for a plan
            work = err
    work = parallel.broadcast_object(work, parallel.DistInfo(rank=rank, world_size=world))
    if isinstance(work, TranslateError):
        raise work
    assert work is not None
    return work


def _open_tree(work: Plan, jobs: list[Job]) -> OutputTree | None:
    """The output folder, opened once for writing below it (None when there is nothing to write);
    the temp files of an earlier run that was killed are removed from the folders written to."""
    if not jobs or work.root is None:
        return None
    try:
        tree = OutputTree(work.root, work.input_dirs, work.input_files)
    except OSError as err:
        raise DataError(f"cannot write to the output folder {shown(work.root)}: {first_line(err.strerror or err)}") from None
    for folder in {job.dst.parent for job in jobs}:
        if file_id(folder) not in work.input_dirs:  # never in the input tree, whatever links say
            clean_stale_temps(folder)
    return tree


class _Pipeline:
    """Decode (threads) -> batch same-size images -> forward -> encode (threads)."""

    def __init__(self, translator: Translator, opt: ConvertOptions, report: ConvertReport, bar: Any, log: Log | None,
                 tree: OutputTree | None = None, src: Path | None = None) -> None:
        self.t, self.opt, self.report, self.bar, self.log = translator, opt, report, bar, log
        self.write = tree.write if tree is not None else atomic_write
        self.tree, self.src = tree, src
        self.tile = opt.tile or translator.default_tile()
        self.encoding: deque[tuple[Job, Future]] = deque()
        report.stages = dict.fromkeys(("decode", "forward", "encode"), 0.0)
        self.lock = threading.Lock()

    def _timed(self, stage: str, fn: Callable[..., Any], *args: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args)
        finally:
            with self.lock:  # decode and encode threads add up concurrently
                self.report.stages[stage] += time.perf_counter() - t0

    def run(self, jobs: list[Job]) -> None:
        workers = max(1, self.opt.workers)
        batch: list[tuple[Job, Decoded]] = []
        size = max(1, self.opt.batch_size)
        with ThreadPoolExecutor(workers, "decode") as dec, ThreadPoolExecutor(workers, "encode") as self.enc:
            for index, (job, item) in enumerate(self._decoded(dec, jobs, window=max(2 * size, 2 * workers))):
                if index % size == 0 and batch:  # batches never cross a chunk of batch_size jobs: the same
                    self._forward(batch)  # batches whichever process runs the chunk (see `share`)
                    batch = []
                if isinstance(item, BadImage):
                    self._fail(job, str(item))
                    continue
                big = max(item.array.shape[:2]) > self.tile
                if batch and (big or item.array.shape != batch[0][1].array.shape or len(batch) >= size):
                    self._forward(batch)
                    batch = []
                batch.append((job, item))
                if big:
                    self._forward(batch)
                    batch = []
            if batch:
                self._forward(batch)
            while self.encoding:
                self._finish_oldest()

    def _decoded(self, pool: ThreadPoolExecutor, jobs: list[Job], window: int) -> Iterator[tuple[Job, Any]]:
        """(job, Decoded | BadImage) in input order, decoding up to `window` files ahead."""
        ahead: deque[tuple[Job, Future]] = deque()
        channels, limit = self.t.in_channels, self.opt.max_pixels
        todo = iter(jobs)
        for job in todo:
            ahead.append((job, pool.submit(self._timed, "decode", decode, job.src, channels, limit)))
            if len(ahead) >= window:
                break
        while ahead:
            job, fut = ahead.popleft()
            nxt = next(todo, None)
            if nxt is not None:
                ahead.append((nxt, pool.submit(self._timed, "decode", decode, nxt.src, channels, limit)))
            try:
                yield job, fut.result()
            except BadImage as err:
                yield job, err
            except Exception as err:  # anything else a broken file can raise
                yield job, BadImage(f"cannot decode: {first_line(err)}")

    def _forward(self, batch: list[tuple[Job, Decoded]]) -> None:
        try:
            outputs = self._timed("forward", self.t.translate_batch, [d.array for _, d in batch], self.tile, self.opt.overlap)
        except Exception as err:  # e.g. out of memory, or an image too small for the net
            if len(batch) > 1:
                for one in batch:
                    self._forward([one])
                return
            hint = "try a smaller --tile" if self.tile > 2 * self.t.size_multiple else "the image may be too small"
            self._fail(batch[0][0], f"translation failed: {first_line(err)} ({hint})")
            return
        for (job, dec), out in zip(batch, outputs):
            fut = self.enc.submit(self._timed, "encode", encode, out, job.dst, self.opt.quality, dec.alpha, dec.icc,
                                  self.write)
            self.encoding.append((job, fut))
        while len(self.encoding) > 2 * max(self.opt.batch_size, self.opt.workers):
            self._finish_oldest()

    def _finish_oldest(self) -> None:
        job, fut = self.encoding.popleft()
        try:
            fut.result()
        except Exception as err:  # disk full, permissions...
            self._fail(job, f"cannot write {shown(job.dst)}: {first_line(err)}")
            return
        self.report.converted.append(job.dst)
        self.report.pairs.append((job.src, job.dst))
        self._record(job)
        self.bar.advance(1)

    def _record(self, job: Job) -> None:
        """One manifest line: this output was made from this input (best effort: a folder that
        refuses it only loses the rerun check)."""
        if self.tree is None or self.src is None:
            return
        try:
            line = {"out": relative(job.dst, self.tree.root), **identity(job.src, self.src)}
            self.tree.append(MANIFEST, (json.dumps(line) + "\n").encode())
        except (OSError, ValueError):
            pass

    def _fail(self, job: Job, reason: str) -> None:
        self.report.failed.append((job.src, reason))
        if self.log:
            self.log(f"failed {shown(job.src)}: {shown(reason, 1000)}")
        self.bar.advance(1, failed=len(self.report.failed))
