"""The SAM template: cfn-lint passes (informational checks included), and the
permissions are as narrow as the design says."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint_file
from cfnlint.decode import decode

TEMPLATE = Path(__file__).parents[1] / "deploy" / "template.yaml"
FUNCTIONS = {
    "AuthFunction": "auth",
    "ChatFunction": "chat",
    "FilesFunction": "files",
    "ConfigFunction": "config",
    "WebSocketFunction": "websocket",
    "UsersFunction": "users",
    "OperatorFunction": "operator",
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


def test_the_functions_and_their_handlers(template: dict[str, Any]) -> None:
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
    assert secret_policies == {
        "SecretsReadPolicy",
        "SecretsWritePolicy",
        "SecretsProvisionPolicy",
    }
    writers = {f for f in FUNCTIONS if "SecretsWritePolicy" in _policies_of(template, f)}
    assert writers == {"ConfigFunction"}
    # Creating and deleting tenants' secrets: the operator function only, tenants' only.
    (provision,) = statements["SecretsProvisionPolicy"]
    assert provision["Resource"]["Fn::Sub"].endswith(":secret:${SecretsPrefix}/tenants/*")
    assert set(provision["Action"]) == {
        "secretsmanager:CreateSecret",
        "secretsmanager:PutSecretValue",
        "secretsmanager:DescribeSecret",
        "secretsmanager:DeleteSecret",
    }
    provisioners = {f for f in FUNCTIONS if "SecretsProvisionPolicy" in _policies_of(template, f)}
    assert provisioners == {"OperatorFunction"}
    # The authorizer reads the tenant registry (suspended tenants) and nothing else.
    assert _policies_of(template, "AuthFunction") == {"ControlTableReadPolicy"}
    assert actions["ControlTableReadPolicy"] == {"dynamodb:GetItem", "dynamodb:DescribeTable"}
    everything = json.dumps(statements)
    assert '"*"' not in everything
    # A scan only where a tenant is exported (the operator's delete), on tenants' tables.
    scans = {n for n, a in actions.items() if "dynamodb:Scan" in a}
    assert scans == {"TenantExportPolicy"}
    assert actions["TenantExportPolicy"] == {"dynamodb:Scan"}
    exporters = {f for f in FUNCTIONS if "TenantExportPolicy" in _policies_of(template, f)}
    assert exporters == {"OperatorFunction"}
    (export,) = statements["OperatorExportPolicy"]
    assert export["Action"] == "s3:PutObject"
    assert export["Resource"]["Fn::Sub"] == "${OperatorExportBucket.Arn}/deleted-tenants/*"


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


def _sub_text(value: Any) -> str:
    """The text of an ``!Sub`` with every ``${...}`` replaced by a placeholder."""
    text = value["Fn::Sub"] if isinstance(value, dict) else value
    return re.sub(r"\$\{[^}]+\}", "X", text)


def test_operating_alarms_read_the_runtimes_metrics(template: dict[str, Any]) -> None:
    from tenantkit_runtime import metrics

    alarms = template["Resources"]
    emitted = {"Requests", "ProviderErrors", "ConfigurationErrors", "InternalErrors"}
    for function in ("Chat", "Files", "Config", "WebSocket"):
        alarm = alarms[f"{function}ErrorRateAlarm"]["Properties"]
        stats = [q["MetricStat"]["Metric"] for q in alarm["Metrics"] if "MetricStat" in q]
        assert {m["MetricName"] for m in stats} == emitted
        for metric in stats:
            assert metric["Namespace"] == {"Ref": "MetricsNamespace"}
            assert metric["Dimensions"] == [{"Name": "function", "Value": function.lower()}]
        assert alarm["AlarmActions"] == [{"Ref": "OperationsTopic"}]
    queries = {
        name: _sub_text(alarms[name]["Properties"]["Metrics"][0]["Expression"])
        for name in ("ThrottlesAlarm", "LLMFailuresAlarm", "TenantQuotaAlarm")
    }
    assert "SUM(Throttles)" in queries["ThrottlesAlarm"]
    assert "SUM(LLMErrors)" in queries["LLMFailuresAlarm"]
    assert "GROUP BY provider" in queries["LLMFailuresAlarm"]
    assert "SUM(LimitRefused)" in queries["TenantQuotaAlarm"]
    assert "GROUP BY tenant" in queries["TenantQuotaAlarm"]
    # the dimension sets the queries name are those the runtime writes
    assert metrics.LIMIT_DIMENSIONS[0] == ("tenant", "limit")
    assert metrics.LLM_DIMENSIONS[1] == ("provider",)
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["TENANTKIT_METRICS_NAMESPACE"] == {"Ref": "MetricsNamespace"}


def test_the_dashboard_is_json_and_shows_the_alarms(template: dict[str, Any]) -> None:
    dashboard = template["Resources"]["OperationsDashboard"]
    assert dashboard["Type"] == "AWS::CloudWatch::Dashboard"
    body = json.loads(_sub_text(dashboard["Properties"]["DashboardBody"]))
    titles = [w["properties"]["title"] for w in body["widgets"]]
    assert "Errors by family" in titles
    assert "Limit refusals by tenant" in titles
    raw = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
    alarms = {n for n, r in template["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    for name in alarms - {
        f"{f}ErrorsAlarm"
        for f in ("Auth", "Chat", "Files", "Config", "Users", "Operator", "WebSocket")
    }:
        assert f"${{{name}.Arn}}" in raw


def test_the_user_pool_keeps_the_tenant_attribute_the_servers(template: dict[str, Any]) -> None:
    pool = template["Resources"]["UserPool"]["Properties"]
    (tenant,) = [a for a in pool["Schema"] if a["Name"] == "tenant_id"]
    assert tenant["Mutable"] is False
    client = template["Resources"]["UserPoolClient"]["Properties"]
    assert "custom:tenant_id" not in client["WriteAttributes"]
    assert "custom:tenant_id" in client["ReadAttributes"]
    groups = {
        r["Properties"]["GroupName"]
        for r in _resources(template, "AWS::Cognito::UserPoolGroup").values()
    }
    assert groups == {"admin", "member", "operator"}
    assert pool["MfaConfiguration"] == {"Ref": "UserPoolMfa"}
    assert pool["UserPoolAddOns"]["AdvancedSecurityMode"] == {"Ref": "UserPoolAdvancedSecurity"}
    assert client["IdTokenValidity"] == client["AccessTokenValidity"] == 15
    assert _policies_of(template, "UsersFunction") == {"ControlTablePolicy", "UserPoolAdminPolicy"}


def test_every_console_signs_in_through_the_console_domains_one_callback(
    template: dict[str, Any],
) -> None:
    """Cognito takes no wildcard callback URL (and at most 100): the app client lists
    the console domain's /callback and /signed-out only, for every tenant."""
    client = template["Resources"]["UserPoolClient"]["Properties"]

    def with_console(key: str) -> Any:
        condition, value, otherwise = client[key]["Fn::If"]
        assert (condition, otherwise) == ("CreateConsole", {"Ref": "AWS::NoValue"})
        return value

    assert with_console("AllowedOAuthFlowsUserPoolClient") is True
    assert with_console("AllowedOAuthFlows") == ["code"]
    assert with_console("AllowedOAuthScopes") == ["openid", "email", "profile"]
    assert with_console("SupportedIdentityProviders") == ["COGNITO"]
    assert with_console("CallbackURLs") == [{"Fn::Sub": "https://${ConsoleDomain}/callback"}]
    assert with_console("LogoutURLs") == [{"Fn::Sub": "https://${ConsoleDomain}/signed-out"}]
    assert client["GenerateSecret"] is False  # a public client: PKCE, no secret in the page
    domain = template["Resources"]["UserPoolDomain"]
    assert domain["Condition"] == "CreateUserPoolDomain"
    assert domain["Properties"] == {
        "UserPoolId": {"Ref": "UserPool"},
        "Domain": {"Ref": "UserPoolDomainPrefix"},
    }
    assert template["Outputs"]["UserPoolDomainUrl"]["Condition"] == "CreateUserPoolDomain"
    # the bare domain (callback, operator) is served beside every tenant's console
    config = template["Resources"]["ConsoleDistribution"]["Properties"]["DistributionConfig"]
    assert config["Aliases"]["Fn::If"][1] == [
        {"Ref": "ConsoleDomain"},
        {"Fn::Sub": "*.${ConsoleDomain}"},
    ]


def test_the_console_cdn_exists_only_with_a_console_domain(template: dict[str, Any]) -> None:
    console = {
        name: resource
        for name, resource in template["Resources"].items()
        if name.startswith("Console")
    }
    assert set(console) == {
        "ConsoleBucket",
        "ConsoleBucketPolicy",
        "ConsoleOriginAccessControl",
        "ConsolePagesFunction",
        "ConsoleHeadersPolicy",
        "ConsoleDistribution",
    }
    assert all(resource["Condition"] == "CreateConsole" for resource in console.values())
    assert template["Parameters"]["ConsoleDomain"]["Default"] == ""


def test_the_console_bucket_is_private_and_read_through_cloudfront(
    template: dict[str, Any],
) -> None:
    bucket = template["Resources"]["ConsoleBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    statements = template["Resources"]["ConsoleBucketPolicy"]["Properties"]["PolicyDocument"][
        "Statement"
    ]
    (allow,) = [s for s in statements if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allow["Action"] == "s3:GetObject"
    assert "AWS:SourceArn" in allow["Condition"]["StringEquals"]
    config = template["Resources"]["ConsoleDistribution"]["Properties"]["DistributionConfig"]
    (origin,) = config["Origins"]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["ConsoleOriginAccessControl", "Id"]}


def test_console_caching_and_security_headers(template: dict[str, Any]) -> None:
    config = template["Resources"]["ConsoleDistribution"]["Properties"]["DistributionConfig"]
    caching_disabled = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # AWS managed policies
    caching_optimized = "658327ea-f89d-4fab-a63d-7e88639e58f6"
    default = config["DefaultCacheBehavior"]
    assert default["CachePolicyId"] == caching_disabled  # index.html, console.json
    (assets,) = config["CacheBehaviors"]
    assert (assets["PathPattern"], assets["CachePolicyId"]) == ("assets/*", caching_optimized)
    for behavior in (default, assets):
        assert behavior["ViewerProtocolPolicy"] == "redirect-to-https"
        assert behavior["ResponseHeadersPolicyId"] == {"Ref": "ConsoleHeadersPolicy"}
    (association,) = default["FunctionAssociations"]
    assert association["EventType"] == "viewer-request"
    headers = template["Resources"]["ConsoleHeadersPolicy"]["Properties"][
        "ResponseHeadersPolicyConfig"
    ]["SecurityHeadersConfig"]
    policy = headers["ContentSecurityPolicy"]["ContentSecurityPolicy"]["Fn::Sub"]
    assert "script-src 'self';" in policy
    assert "frame-ancestors 'none'" in policy
    assert headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    assert headers["FrameOptions"]["FrameOption"] == "DENY"
    assert headers["ContentTypeOptions"]["Override"] is True
    assert config["Aliases"]["Fn::If"][0] == "ConsoleHasCertificate"


def test_the_pages_function_rewrites_pages_not_files(template: dict[str, Any]) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node runs the CloudFront function's code: ./run test installs it")
    code = template["Resources"]["ConsolePagesFunction"]["Properties"]["FunctionCode"]
    cases = {
        "/": "/index.html",
        "/chat": "/index.html",
        "/chat/c-1": "/index.html",
        "/callback": "/index.html",
        "/assets/index-0a1b2c3d.js": "/assets/index-0a1b2c3d.js",
        "/console.json": "/console.json",
        "/favicon.svg": "/favicon.svg",
    }
    script = code + (
        f"const cases = {json.dumps(cases)};\n"
        "const out = {};\n"
        "for (const uri of Object.keys(cases)) out[uri] = handler({request: {uri}}).uri;\n"
        "console.log(JSON.stringify(out));\n"
    )
    run = subprocess.run([node, "-e", script], capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == cases


def test_the_api_answers_console_preflights(template: dict[str, Any]) -> None:
    cors = template["Resources"]["HttpApi"]["Properties"]["CorsConfiguration"]["Fn::If"]
    assert cors[0] == "CreateConsole"
    assert "authorization" in cors[1]["AllowHeaders"]
    assert "AllowCredentials" not in cors[1]  # bearer tokens, never cookies


def test_the_local_gateway_mirrors_the_apis_cors(template: dict[str, Any]) -> None:
    from tenantkit_runtime.local import gateway

    cors = template["Resources"]["HttpApi"]["Properties"]["CorsConfiguration"]["Fn::If"][1]
    assert tuple(cors["AllowMethods"]) == gateway.CORS_ALLOW_METHODS
    assert tuple(cors["AllowHeaders"]) == gateway.CORS_ALLOW_HEADERS
    assert tuple(cors["ExposeHeaders"]) == gateway.CORS_EXPOSE_HEADERS
    assert cors["MaxAge"] == gateway.CORS_MAX_AGE
