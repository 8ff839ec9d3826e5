"""The run lock under races: many processes taking over a stale lock at once, two fresh runs
with one --name, empty and truncated lock files. Exactly one holder, every time."""
from __future__ import annotations

import json
import multiprocessing as mp
import os
import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from translate.jobs import train as T
from translate.errors import TranslateError
from translate.jobs.rundir import RunDir, RunLock

PROCS, TRIALS = 8, 25


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _stale(kind: str, pid: int) -> bytes:
    host = socket.gethostname()
    return {"new": json.dumps({"pid": pid, "host": host, "since": "then", "lock": "flock"}).encode(),
            "old": json.dumps({"pid": pid, "host": host, "since": "then"}).encode(),
            "empty": b"", "truncated": b'{"pid": 12', "alive-pid": json.dumps(
                {"pid": os.getpid(), "host": host, "since": "then", "lock": "flock"}).encode()}[kind]


def _taker(root: str, start, done, results, trials: int) -> None:
    for trial in range(trials):
        lock = RunLock(RunDir(Path(root) / f"t{trial}"))
        start.wait()
        try:
            lock.acquire()
            results.put((trial, os.getpid()))
        except TranslateError:
            pass
        done.wait()  # holders hold until every process has tried
        lock.release()


def test_many_processes_taking_over_a_stale_lock_leave_exactly_one_holder(tmp_path: Path) -> None:
    ctx = mp.get_context("fork")
    start, done = ctx.Barrier(PROCS + 1), ctx.Barrier(PROCS + 1)
    results = ctx.Queue()
    kinds = ["new", "old", "empty", "truncated", "alive-pid"]  # alive-pid: a new-format lock naming a
    dead = _dead_pid()  # live process that holds no flock (a reused pid): taken over too
    procs = [ctx.Process(target=_taker, args=(str(tmp_path), start, done, results, TRIALS)) for _ in range(PROCS)]
    for p in procs:
        p.start()
    holders: dict[int, list[int]] = {}
    try:
        for trial in range(TRIALS):
            run = RunDir(tmp_path / f"t{trial}")
            run.path.mkdir()
            run.lock_path.write_bytes(_stale(kinds[trial % len(kinds)], dead))
            start.wait(timeout=60)
            done.wait(timeout=60)
    finally:
        for p in procs:
            p.join(timeout=60)
    while not results.empty():
        trial, pid = results.get()
        holders.setdefault(trial, []).append(pid)
    assert all(p.exitcode == 0 for p in procs)
    assert {t: len(h) for t, h in holders.items()} == {t: 1 for t in range(TRIALS)}  # exactly one, each trial
    assert not any((tmp_path / f"t{t}" / ".lock").exists() for t in range(TRIALS))  # released


def _fresh(runs: str, start, done, results, trials: int) -> None:
    for trial in range(trials):
        p = SimpleNamespace(run_dir=Path(runs) / f"n{trial}" / "same", auto_name="")
        start.wait()
        created = T._claim(p)
        lock = RunLock(RunDir(p.run_dir))
        try:
            lock.acquire()
            results.put((trial, os.getpid()))
        except TranslateError:
            T.discard_if_empty(p.run_dir, created, lock)  # what a losing `translate train` does
        done.wait()
        if lock.owner:
            ok = RunDir(p.run_dir).lock_path.is_file() and json.loads(RunDir(p.run_dir).lock_path.read_text())["pid"] == os.getpid()
            results.put((trial, "intact" if ok else "lost"))
        lock.release()


def test_fresh_runs_with_one_name_never_delete_each_others_lock(tmp_path: Path) -> None:
    ctx = mp.get_context("fork")
    start, done = ctx.Barrier(PROCS + 1), ctx.Barrier(PROCS + 1)
    results = ctx.Queue()
    procs = [ctx.Process(target=_fresh, args=(str(tmp_path), start, done, results, TRIALS)) for _ in range(PROCS)]
    for p in procs:
        p.start()
    try:
        for _ in range(TRIALS):
            start.wait(timeout=60)
            done.wait(timeout=60)
    finally:
        for p in procs:
            p.join(timeout=60)
    got: dict[int, list] = {}
    while not results.empty():
        trial, what = results.get()
        got.setdefault(trial, []).append(what)
    assert all(p.exitcode == 0 for p in procs)
    for trial in range(TRIALS):
        pids = [w for w in got[trial] if isinstance(w, int)]
        assert len(pids) == 1 and got[trial].count("intact") == 1 and "lost" not in got[trial], (trial, got[trial])


def test_a_held_lock_is_refused_and_a_killed_holders_is_taken_over(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "r")
    code = ("import sys, time; from translate.jobs.rundir import RunDir, RunLock; "
            f"RunLock(RunDir({str(run.path)!r})).acquire(); print('held', flush=True); time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        try:
            RunLock(run).acquire()
            raise AssertionError("a held lock was taken")
        except TranslateError as err:
            assert f"pid {holder.pid}" in str(err) and "\n" not in str(err)
    finally:
        holder.kill()  # kill -9: the lock file stays, its flock goes
        holder.wait()
    assert run.lock_path.exists()
    lock = RunLock(run)
    lock.acquire()
    assert lock.owner and json.loads(run.lock_path.read_text())["pid"] == os.getpid()
    again = RunLock(run)  # the same process again (e.g. the trainer inside `translate train`)
    again.acquire()
    assert again.held and not again.owner
    again.release()
    assert run.lock_path.exists()
    lock.release()
    assert not run.lock_path.exists()
