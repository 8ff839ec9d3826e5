"""CLI habits: tables that fit 80 columns, did-you-mean, completion, -q/-v, --version."""
from __future__ import annotations

import logging
import re

from conftest import QUIET, TINY, flags


def test_tables_fit_an_80_column_terminal(cli):
    for args in (("variants", "list"), ("variants", "show", "cyclegan")):
        code, out = cli(*args)
        assert code == 0, out
        widest = max(len(line) for line in out.splitlines())
        assert widest <= 80, (args, widest)
    code, out = cli("variants", "show", "cyclegan")
    assert "lambda_cycle" in out and "10.0" in out and "init_from" in out


def test_did_you_mean(cli):
    code, out = cli("train", "cylcegan")
    assert code == 2 and "did you mean 'cyclegan'?" in out
    code, out = cli("train", "cyclegan", "--set", "lamda_cycle=3")
    assert code == 2 and "did you mean 'lambda_cycle'?" in out


def test_completion_of_variants_and_set_keys():
    from types import SimpleNamespace

    from translate.cli.app import complete_set, complete_variant

    assert complete_variant("cy") == ["cyclegan"] and "srgan" in complete_variant("")
    ctx = SimpleNamespace(params={"variant": "cyclegan"})  # what click hands a completer
    keys = complete_set(ctx, "lambda")
    assert keys == ["lambda_cycle=", "lambda_identity="]
    assert "precision=" in complete_set(ctx, "prec")


def _complete(words: str, monkeypatch) -> list[str]:
    """What the shell gets for `words` (the last one incomplete), through click's own completion."""
    import contextlib
    import io

    import typer.main

    from translate.cli import _register, app

    _register()
    monkeypatch.setenv("_TRANSLATE_COMPLETE", "complete_bash")
    monkeypatch.setenv("COMP_WORDS", words)
    monkeypatch.setenv("COMP_CWORD", str(len(words.split()) - (0 if words.endswith(" ") else 1)))
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        typer.main.get_command(app).main(prog_name="translate", complete_var="_TRANSLATE_COMPLETE")
    return out.getvalue().split()


def test_shell_completion_of_set_offers_the_variants_keys(monkeypatch):
    assert _complete("translate train cyclegan --set lambda", monkeypatch) == ["lambda_cycle=", "lambda_identity="]
    assert "lambda_cycle=" in _complete("translate train cyclegan --steps 3 --set steps=2 --set lam", monkeypatch)
    assert _complete("translate train --set lambda", monkeypatch) == []  # no variant named: engine keys only
    assert "precision=" in _complete("translate train --set prec", monkeypatch)


def test_no_color_turns_colour_off(monkeypatch):
    from typer.testing import CliRunner

    from translate.cli import _register, app

    _register()
    runner = CliRunner()
    coloured = runner.invoke(app, ["plugins", "list"], color=True).output
    assert "\x1b[32m" in coloured  # green "ok" where colour is allowed
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in runner.invoke(app, ["plugins", "list"], color=True).output
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich: a terminal, yet no colour codes
    out = runner.invoke(app, ["variants", "show", "cyclegan"], color=True).output
    assert "lambda_cycle" in out and not re.search("\x1b\\[[0-9;]*3[0-9]", out.replace("\x1b[3m", ""))


def test_verbose_train_says_what_was_decided_and_why(cli, unpaired_dir, tmp_path):
    code, out = cli("train", "toy", "-v", "--data", str(unpaired_dir), "--runs-dir", str(tmp_path / "r"),
                    "--steps", "2", *flags(*TINY["toy"], *QUIET))
    assert code == 0, out
    for line in ("config: toy's defaults < --set ", "device cpu (auto: no CUDA or MPS here)", "precision fp32 (asked: fp32)",
                 "threads: torch ", "data: 5 training items from ", "DataLoader workers: 0 (num_workers set)",
                 "plan: 2 steps", "phase data: ", "phase train: 2 steps in ", "phase final checkpoint: ", "phase gallery: "):
        assert line in out, line
    assert re.search(r"checkpoint \S+step_00000002\.pt \([0-9.]+ MiB\) written in [0-9.]+ s", out)
    quiet = cli("train", "toy", "--data", str(unpaired_dir), "--runs-dir", str(tmp_path / "q"), "--steps", "1",
                *flags(*TINY["toy"], *QUIET))[1]
    assert "phase train" not in quiet and "threads:" not in quiet


def test_quiet_and_verbose_set_the_log_level(cli, unpaired_dir, tmp_path):
    from translate.jobs import logs

    code, out = cli("-q", "train", "toy", "--data", str(unpaired_dir), "--runs-dir", str(tmp_path / "r"),
                    "--steps", "1", *flags(*TINY["toy"], *QUIET))
    assert code == 0 and "training toy" not in out and "steps: 1" in out
    assert logs.logger.level == logging.WARNING
    cli("-v", "variants", "list")
    assert logs.logger.level == logging.DEBUG
    cli("variants", "list")
    assert logs.logger.level == logging.INFO
