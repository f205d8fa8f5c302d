"""The runtime's ``tenantkit`` commands: declared in the ``tenantkit.commands``
entry-point group, each a ``register(subparsers)`` that wires one subcommand."""

from __future__ import annotations

import argparse
from importlib import metadata
from pathlib import Path

import pytest

from tenantkit.errors import ProviderNotFound
from tenantkit_runtime import commands


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tenantkit")
    subparsers = parser.add_subparsers()
    for entry in metadata.distribution("tenantkit-runtime").entry_points:
        if entry.group == "tenantkit.commands":
            entry.load()(subparsers)
    return parser


def test_the_commands_are_declared_as_entry_points() -> None:
    declared = {
        e.name: e.value
        for e in metadata.distribution("tenantkit-runtime").entry_points
        if e.group == "tenantkit.commands"
    }
    assert declared == {
        "token": "tenantkit_runtime.commands:register_token",
        "package": "tenantkit_runtime.commands:register_package",
        "serve": "tenantkit_runtime.commands:register_serve",
        "usage": "tenantkit_runtime.commands:register_usage",
        "console": "tenantkit_runtime.commands:register_console",
        "user": "tenantkit_runtime.commands:register_user",
    }


def test_package_arguments(tmp_path: Path) -> None:
    args = _parser().parse_args(
        ["package", "--db", "sqlite", "--llm", "echo", "--storage", "local",
         "--arch", "arm64", "--out", str(tmp_path / "a.zip")]
    )  # fmt: skip
    assert args.func is commands._package
    assert (args.db, args.llm, args.storage, args.arch, args.python) == (
        "sqlite",
        "echo",
        "local",
        "arm64",
        "3.13",
    )
    assert args.out == tmp_path / "a.zip"


def test_package_refuses_an_unknown_architecture(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _parser().parse_args(
            ["package", "--db", "a", "--llm", "b", "--storage", "c",
             "--arch", "z80", "--out", "x.zip"]
        )  # fmt: skip
    assert "invalid choice: 'z80'" in capsys.readouterr().err


def test_package_names_the_missing_provider(tmp_path: Path) -> None:
    args = _parser().parse_args(
        ["package", "--db", "nosuchdb", "--llm", "echo", "--storage", "local",
         "--out", str(tmp_path / "a.zip")]
    )  # fmt: skip
    with pytest.raises(ProviderNotFound, match="nosuchdb"):
        args.func(args)
    assert not (tmp_path / "a.zip").exists()


def test_package_says_what_it_is_doing_and_help_shows_the_defaults(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        _parser().parse_args(["package", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "Lambda architecture (default x86_64" in help_text
    assert "(default 3.13" in help_text
    args = _parser().parse_args(
        ["package", "--db", "sqlite", "--llm", "echo", "--storage", "local",
         "--out", str(tmp_path / "a.zip")]
    )  # fmt: skip
    assert args.func(args) == 0
    captured = capsys.readouterr()
    steps = [line for line in captured.err.splitlines() if line.startswith("tenantkit package: ")]
    assert [line.split(": ", 1)[1].split(" ", 1)[0] for line in steps] == [
        "finding",
        "building",
        "installing",
        "compiling",
        "writing",
    ]
    assert "db 'sqlite', llm 'echo', storage 'local'" in steps[0]
    assert "for x86_64, Python 3.13" in steps[2]
    assert str(tmp_path / "a.zip") in captured.out


def test_serve_host_and_reset_options(capsys: pytest.CaptureFixture[str]) -> None:
    args = _parser().parse_args(["serve"])
    assert (args.host, args.reset) == ("127.0.0.1", False)
    with pytest.raises(SystemExit):
        _parser().parse_args(["serve", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "default 127.0.0.1" in help_text
    assert "--reset" in help_text
