"""CLI habits: tables that fit 80 columns, did-you-mean, completion, -q/-v, --version."""
from __future__ import annotations

import logging

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


def test_quiet_and_verbose_set_the_log_level(cli, unpaired_dir, tmp_path):
    from translate import logs

    code, out = cli("-q", "train", "toy", "--data", str(unpaired_dir), "--runs-dir", str(tmp_path / "r"),
                    "--steps", "1", *flags(*TINY["toy"], *QUIET))
    assert code == 0 and "training toy" not in out and "steps: 1" in out
    assert logs.logger.level == logging.WARNING
    cli("-v", "variants", "list")
    assert logs.logger.level == logging.DEBUG
    cli("variants", "list")
    assert logs.logger.level == logging.INFO
