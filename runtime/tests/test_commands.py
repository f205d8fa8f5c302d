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
