"""Every shell command of ``docs/deploy.md`` is one that works as written:

* ``tenantkit ...``: parsed by the real command line (required arguments, choices),
  and every option it uses is in that command's ``--help``;
* ``aws SERVICE OPERATION ...``: the operation exists in the AWS SDK's model of the
  service (botocore's, the one the AWS CLI is generated from), every ``--option``
  is one of its parameters (or a global option), and every required parameter is
  given;
* ``sam ...``: every ``--parameter-overrides`` key is a parameter of the template,
  with a value it allows, and the template file it names is the one cfn-lint checks
  (``runtime/tests/test_template.py``); every option is one of the SAM CLI's for that
  command (its reference page, https://docs.aws.amazon.com/serverless-application-model/
  latest/developerguide/serverless-sam-cli-command-reference.html).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode

ROOT = Path(__file__).parents[1]
DOC = ROOT / "docs" / "deploy.md"
TEMPLATE = ROOT / "runtime" / "deploy" / "template.yaml"

#: The AWS CLI's global options (``aws help``) and the options it adds to paginated
#: and blob-taking operations.
_AWS_GLOBAL = {"query", "output", "region", "profile", "endpoint-url", "no-paginate"}
#: The AWS CLI commands named differently from their service in the SDK's models.
_AWS_SERVICES = {"deploy": "codedeploy", "s3api": "s3", "configservice": "config"}

#: The SAM CLI options this page uses, per command, from the command reference.
_SAM_OPTIONS = {
    ("deploy",): {
        "guided",
        "template-file",
        "stack-name",
        "capabilities",
        "resolve-s3",
        "parameter-overrides",
    },
    ("logs",): {"stack-name", "name", "tail"},
    ("list", "stack-outputs"): {"stack-name"},
}


def _commands() -> list[list[str]]:
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", text, re.DOTALL)
    lines = [line.strip() for block in blocks for line in block.splitlines() if line.strip()]
    return [shlex.split(line) for line in lines]


COMMANDS = _commands()


def _by(program: str) -> list[list[str]]:
    return [c for c in COMMANDS if c[0] == program]


def test_the_page_has_commands_of_every_kind() -> None:
    assert {c[0] for c in COMMANDS} == {"export", "aws", "tenantkit", "sam"}
    assert len(_by("aws")) >= 15


@pytest.mark.parametrize("command", _by("tenantkit"), ids=lambda c: " ".join(c[:3]))
def test_tenantkit_commands_parse_and_use_documented_options(command: list[str]) -> None:
    from tenantkit.cli import build_parser

    parser = build_parser()
    args = parser.parse_args(command[1:])  # exits (fails the test) on a bad command line
    assert callable(getattr(args, "func", None))
    words = [w for w in command[1:3] if not w.startswith("-")]
    sub = parser
    for word in words:
        actions = [a for a in sub._actions if isinstance(a, argparse._SubParsersAction)]
        if not actions or word not in actions[0].choices:
            break
        sub = actions[0].choices[word]
    shown = io.StringIO()
    with contextlib.redirect_stdout(shown), pytest.raises(SystemExit):
        sub.parse_args(["--help"])
    for option in (w.split("=")[0] for w in command if w.startswith("--")):
        assert option in shown.getvalue(), (option, " ".join(command))


def _cli_name(member: str) -> str:
    """The AWS CLI's option name for an API member: ``UserPoolId`` → ``user-pool-id``."""
    from botocore import xform_name

    return xform_name(member, "-")


@pytest.mark.parametrize("command", _by("aws"), ids=lambda c: " ".join(c[1:3]))
def test_aws_commands_match_the_api_model(command: list[str]) -> None:
    import botocore.session

    service, operation = command[1], command[2]
    model = botocore.session.get_session().get_service_model(_AWS_SERVICES.get(service, service))
    names = {_cli_name(op): op for op in model.operation_names}
    assert operation in names, f"{service} has no operation {operation}"
    shape = model.operation_model(names[operation]).input_shape
    members = {_cli_name(m): m for m in (shape.members if shape else {})}
    given: set[str] = set()
    for word in command[3:]:
        if not word.startswith("--"):
            continue
        option = word[2:].split("=")[0]
        if option in _AWS_GLOBAL:
            continue
        if option.startswith("no-") and option[3:] in members:
            option = option[3:]  # a boolean parameter set to false
        assert option in members, f"aws {service} {operation} has no --{option}"
        given.add(members[option])
    required = set(shape.required_members) if shape else set()
    assert required <= given, f"aws {service} {operation} misses {required - given}"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    parsed, errors = decode(str(TEMPLATE))
    assert not errors
    assert parsed is not None
    return dict(parsed)


@pytest.mark.parametrize("command", _by("sam"), ids=lambda c: " ".join(c[1:3]))
def test_sam_commands_use_the_templates_parameters(
    command: list[str], template: dict[str, Any]
) -> None:
    words = tuple(w for w in command[1:3] if not w.startswith("-"))
    assert words in _SAM_OPTIONS, words
    options = [w[2:] for w in command if w.startswith("--")]
    assert set(options) <= _SAM_OPTIONS[words], set(options) - _SAM_OPTIONS[words]
    if "template-file" in options:
        assert Path(ROOT / command[command.index("--template-file") + 1]) == TEMPLATE
    if "parameter-overrides" in options:
        start = command.index("--parameter-overrides") + 1
        overrides = dict(w.split("=", 1) for w in command[start:] if "=" in w)
        parameters = template["Parameters"]
        required = {n for n, p in parameters.items() if "Default" not in p}
        assert required <= set(overrides)
        for name, value in overrides.items():
            assert name in parameters, name
            allowed = parameters[name].get("AllowedValues")
            assert allowed is None or value in allowed, (name, value)
            pattern = parameters[name].get("AllowedPattern")
            assert pattern is None or re.fullmatch(pattern, value), (name, value)


def test_every_template_parameter_is_explained(template: dict[str, Any]) -> None:
    text = DOC.read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `(\w+)` \|", text, re.MULTILINE))
    assert rows == set(template["Parameters"])
    for name, parameter in template["Parameters"].items():
        default = parameter.get("Default")
        if default not in (None, ""):
            assert re.search(rf"^\| `{name}` \| `{re.escape(str(default))}` \|", text, re.M), name


def test_the_page_says_what_packaging_and_the_template_default_to(
    template: dict[str, Any],
) -> None:
    from tenantkit_runtime.package import DEFAULT_ARCH, DEFAULT_PYTHON

    text = DOC.read_text(encoding="utf-8")
    assert f"python{DEFAULT_PYTHON}" in text
    assert template["Globals"]["Function"]["Runtime"] == f"python{DEFAULT_PYTHON}"
    assert f"default to `{DEFAULT_ARCH}`" in text
