"""The SAM template: cfn-lint passes (informational checks included), and the
permissions are as narrow as the design says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint_file
from cfnlint.decode import decode

TEMPLATE = Path(__file__).parents[1] / "deploy" / "template.yaml"
FUNCTIONS = {
    "AuthFunction": "auth",
    "ChatFunction": "chat",
    "LibraryFunction": "library",
    "ConfigFunction": "config",
    "WebSocketFunction": "websocket",
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    parsed, errors = decode(str(TEMPLATE))
    assert not errors
    assert parsed is not None
    return dict(parsed)


def _resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def _statements(template: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    return {
        name: policy["Properties"]["PolicyDocument"]["Statement"]
        for name, policy in _resources(template, "AWS::IAM::ManagedPolicy").items()
    }


def _policies_of(template: dict[str, Any], function: str) -> set[str]:
    properties = template["Resources"][function]["Properties"]
    return {p["Ref"] for p in properties.get("Policies", [])}


def test_cfn_lint_passes() -> None:
    matches = lint_file(TEMPLATE, ManualArgs(include_checks=["I"]))
    assert [str(m) for m in matches] == []


def test_the_five_functions_and_their_handlers(template: dict[str, Any]) -> None:
    functions = _resources(template, "AWS::Serverless::Function")
    assert set(functions) == set(FUNCTIONS)
    for name, module in FUNCTIONS.items():
        properties = functions[name]["Properties"]
        assert properties["Handler"] == f"tenantkit_runtime.functions.{module}.handler"
        preference = properties["DeploymentPreference"]
        assert preference["Type"] == {"Ref": "DeploymentType"}
        (alarm,) = preference["Alarms"]
        assert template["Resources"][alarm["Ref"]]["Properties"]["MetricName"] == "Errors"
    assert template["Globals"]["Function"]["AutoPublishAlias"] == "live"
    from tenantkit_runtime.package import DEFAULT_ARCH, DEFAULT_PYTHON

    # What `tenantkit package` builds by default is what the template runs.
    assert template["Globals"]["Function"]["Runtime"] == f"python{DEFAULT_PYTHON}"
    assert template["Parameters"]["Architecture"]["Default"] == DEFAULT_ARCH


def test_secrets_permissions_are_least_privilege(template: dict[str, Any]) -> None:
    statements = _statements(template)
    actions = {
        name: {
            a
            for s in stmts
            for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
        }
        for name, stmts in statements.items()
    }
    (read,) = statements["SecretsReadPolicy"]
    assert read["Action"] == "secretsmanager:GetSecretValue"
    assert read["Resource"]["Fn::Sub"].endswith(":secret:${SecretsPrefix}/*")
    (write,) = statements["SecretsWritePolicy"]
    assert write["Action"] == "secretsmanager:PutSecretValue"
    assert write["Resource"]["Fn::Sub"].endswith(":secret:${SecretsPrefix}/tenants/*")
    secret_policies = {
        n for n, a in actions.items() if any(x.startswith("secretsmanager:") for x in a)
    }
    assert secret_policies == {"SecretsReadPolicy", "SecretsWritePolicy"}
    writers = {f for f in FUNCTIONS if "SecretsWritePolicy" in _policies_of(template, f)}
    assert writers == {"ConfigFunction"}
    assert not _policies_of(template, "AuthFunction")  # the authorizer touches no AWS data
    everything = json.dumps(statements)
    assert '"*"' not in everything
    assert "dynamodb:Scan" not in everything


def test_manage_connections_only_on_this_websocket_api(template: dict[str, Any]) -> None:
    (statement,) = _statements(template)["ManageConnectionsPolicy"]
    assert statement["Action"] == "execute-api:ManageConnections"
    assert statement["Resource"]["Fn::Sub"].endswith(
        ":${WebSocketApi}/${StageName}/*/@connections/*"
    )
    users = {f for f in FUNCTIONS if "ManageConnectionsPolicy" in _policies_of(template, f)}
    assert users == {"WebSocketFunction"}


def test_the_authorizer_guards_both_apis(template: dict[str, Any]) -> None:
    auth = template["Globals"]["HttpApi"]["Auth"]
    authorizer = auth["Authorizers"][auth["DefaultAuthorizer"]]
    assert authorizer["AuthorizerPayloadFormatVersion"] == "2.0"
    assert authorizer["EnableSimpleResponses"] is True
    assert authorizer["Identity"]["ReauthorizeEvery"] == 0  # route tenant checks need it
    connect = template["Resources"]["ConnectRoute"]["Properties"]
    assert connect["AuthorizationType"] == "CUSTOM"
    ws_authorizer = template["Resources"]["WebSocketAuthorizer"]["Properties"]
    assert ws_authorizer["IdentitySource"] == ["route.request.querystring.token"]
    assert "AuthFunctionAliaslive" in ws_authorizer["AuthorizerUri"]["Fn::Sub"]
    routes = {
        r["Properties"]["RouteKey"]
        for r in _resources(template, "AWS::ApiGatewayV2::Route").values()
    }
    assert routes == {"$connect", "$disconnect", "$default", "chat", "broadcast"}


def test_the_control_table_matches_the_dynamodb_layout(template: dict[str, Any]) -> None:
    from tenantkit_db_dynamodb import _layout as layout

    table = template["Resources"]["ControlTable"]["Properties"]
    assert [k["AttributeName"] for k in table["KeySchema"]] == [layout.PK, layout.SK]
    assert "GlobalSecondaryIndexes" not in table  # the control plane declares no index
    assert table["TimeToLiveSpecification"] == {"AttributeName": layout.EXPIRES, "Enabled": True}
