"""The auth wiring: the stack's own Cognito user pool, or an external issuer. Checked by
evaluating the template's conditions, rules and substitutions for both modes with
stand-in ids for the resources CloudFormation would create.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable
from typing import Any

import pytest

from app.settings import DEFAULT_GROUP_ROLES, parse_group_roles
from tests.deploy.stack import (
    API_SCOPES,
    EXTERNAL_AUTH,
    OWN_POOL,
    RESOURCE_SERVER_ID,
    SAMCONFIG,
    STAND_IN_IDS,
    WEB_DOMAIN,
    Stack,
    load_template,
    parameter_overrides,
)

pytestmark = pytest.mark.deploy


COGNITO = "AWS::Cognito::"


def cognito_resources(template: dict[str, Any], kind: str = "") -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"].startswith(COGNITO + kind)}


def cognito_domain(stack: Stack) -> str:
    return str(stack.evaluate(stack.template["Resources"]["UserPoolDomain"]["Properties"]["Domain"]))


def test_cognito_resources_exist_only_without_an_external_issuer() -> None:
    template = load_template()
    assert template["Conditions"]["CreateUserPool"] == {"Fn::Equals": [{"Ref": "AuthIssuer"}, ""]}
    assert template["Parameters"]["AuthIssuer"]["Default"] == ""
    resources = cognito_resources(template)
    assert sorted(r["Type"].removeprefix(COGNITO) for r in resources.values()) == [
        "UserPool",
        "UserPoolClient",
        "UserPoolClient",
        "UserPoolDomain",
        "UserPoolGroup",
        "UserPoolGroup",
        "UserPoolResourceServer",
    ]
    for logical_id, resource in resources.items():
        assert resource.get("Condition") == "CreateUserPool", logical_id

    own, external = Stack(template), Stack(template, EXTERNAL_AUTH)
    assert all(own.exists(logical_id) for logical_id in resources)
    assert not any(external.exists(logical_id) for logical_id in resources)
    # The app and its API exist in both modes.
    for stack in (own, external):
        assert stack.exists("ApiFunction")
        assert stack.exists("HttpApi")


def test_rules_allow_either_mode_and_refuse_half_configurations() -> None:
    template = load_template()
    assert Stack(template, OWN_POOL).broken_rules() == []
    assert Stack(template, EXTERNAL_AUTH).broken_rules() == []
    assert Stack(template, EXTERNAL_AUTH | {"AuthScopePrefix": "api://orders/"}).broken_rules() == []
    # An external issuer without an audience: the app would refuse to start.
    assert Stack(template, {"AuthIssuer": "https://issuer.example.test"}).broken_rules()
    # External-only settings next to the stack's own pool would be silently ignored.
    assert Stack(template, OWN_POOL | {"AuthAudience": "abc"}).broken_rules()
    assert Stack(template, OWN_POOL | {"AuthScopePrefix": "x/"}).broken_rules()


LOCAL_STAGE_REFUSED = (
    "Stage=local is a developer's machine, never a stack: choose another name (dev, prod, ...)."
)


def test_the_template_refuses_the_local_stage() -> None:
    """`local` is the stage of a developer's machine, where the app may default to the
    dev key file (issue 11, defect 5). A stack can never be deployed with it; the
    app's settings are the second wall (tests/unit/test_settings.py::
    test_the_dev_key_file_is_never_a_default_on_lambda)."""
    template = load_template()
    assert Stack(template, OWN_POOL | {"Stage": "local"}).broken_rules() == [LOCAL_STAGE_REFUSED]
    assert Stack(template, EXTERNAL_AUTH | {"Stage": "local"}).broken_rules() == [LOCAL_STAGE_REFUSED]
    for stage in ("dev", "prod", "staging", "local-test", "mylocal"):
        assert re.fullmatch(template["Parameters"]["Stage"]["AllowedPattern"], stage), stage
        assert Stack(template, OWN_POOL | {"Stage": stage}).broken_rules() == [], stage


def test_resource_server_has_exactly_the_four_scopes() -> None:
    template = load_template()
    (server,) = cognito_resources(template, "UserPoolResourceServer").values()
    props = server["Properties"]
    assert props["UserPoolId"] == {"Ref": "UserPool"}
    assert props["Identifier"] == RESOURCE_SERVER_ID
    names = [scope["ScopeName"] for scope in props["Scopes"]]
    assert sorted(names) == sorted(API_SCOPES)
    assert all(scope["ScopeDescription"] for scope in props["Scopes"])


def test_the_pool_has_a_group_for_each_role_the_app_grants() -> None:
    """People sign in through the web client (customer scopes); a group in their
    cognito:groups makes them staff or chef, by the app's default mapping."""
    groups = cognito_resources(load_template(), "UserPoolGroup")
    assert {g["Properties"]["UserPoolId"]["Ref"] for g in groups.values()} == {"UserPool"}
    names = {g["Properties"]["GroupName"]: g for g in groups.values()}
    assert set(names) == set(parse_group_roles(DEFAULT_GROUP_ROLES)) == {"staff", "chef"}
    # No IAM role per group: the API grants by group name, AWS credentials are never handed out.
    assert not any("RoleArn" in g["Properties"] for g in groups.values())


def test_app_clients_split_machine_and_web_flows() -> None:
    """Cognito does not allow client_credentials on the same app client as the code
    (or implicit) grant, so there are two clients: a confidential one for services
    and a public one for people."""
    template = load_template()
    clients = cognito_resources(template, "UserPoolClient")
    assert set(clients) == {"MachineClient", "WebClient"}
    for logical_id, client in clients.items():
        props = client["Properties"]
        assert props["UserPoolId"] == {"Ref": "UserPool"}
        assert props["AllowedOAuthFlowsUserPoolClient"] is True
        flows = set(props["AllowedOAuthFlows"])
        assert not ("client_credentials" in flows and flows & {"code", "implicit"}), logical_id
        assert "implicit" not in flows, logical_id
        # Custom scopes must exist when the client is created, and be the API's own.
        assert client["DependsOn"] in ("ApiResourceServer", ["ApiResourceServer"]), logical_id
        custom = {s for s in props["AllowedOAuthScopes"] if "/" in s}
        assert {s.split("/", 1)[0] for s in custom} == {RESOURCE_SERVER_ID}, logical_id
        assert {s.split("/", 1)[1] for s in custom} <= API_SCOPES, logical_id

    machine = clients["MachineClient"]["Properties"]
    assert machine["AllowedOAuthFlows"] == ["client_credentials"]
    assert machine["GenerateSecret"] is True
    assert set(machine["AllowedOAuthScopes"]) == {f"{RESOURCE_SERVER_ID}/{s}" for s in API_SCOPES}

    web = clients["WebClient"]["Properties"]
    assert web["AllowedOAuthFlows"] == ["code"]
    assert web["GenerateSecret"] is False
    callback = OWN_POOL["AuthCallbackUrl"]
    callbacks = Stack(template, OWN_POOL).properties("WebClient")["CallbackURLs"]
    # The parameter's callback first; the web app's follows (tests/deploy/test_web.py).
    assert callbacks == [callback, f"https://{WEB_DOMAIN}/callback"]
    web_scopes = {s.split("/", 1)[1] for s in web["AllowedOAuthScopes"] if "/" in s}
    assert web_scopes == {"orders:read", "orders:write"}, "staff and chefs get their role by group"
    assert "openid" in web["AllowedOAuthScopes"]


CALLBACK_REQUIRED = "AuthCallbackUrl is required with the stack's user pool (the web client's redirect URL)."


def test_no_web_client_accepts_a_localhost_redirect_unless_an_environment_asks() -> None:
    """Issue 11, defect 6. A user pool client that accepts http://localhost as its redirect lets any local
    process receive sign-in codes for real accounts. The template has no callback
    default (with its own user pool one must be given), prod's is https, and only
    the dev environment names localhost, on purpose."""
    template = load_template()
    parameter = template["Parameters"]["AuthCallbackUrl"]
    assert parameter.get("Default", "") == ""
    for stage in ("dev", "prod"):
        stack = Stack(template, {"Stage": stage})
        assert stack.broken_rules() == [CALLBACK_REQUIRED], stage
        # Without the parameter, only the stack's own site: never a localhost default.
        assert stack.properties("WebClient")["CallbackURLs"] == [f"https://{WEB_DOMAIN}/callback"]
    assert Stack(template, EXTERNAL_AUTH | {"Stage": "prod"}).broken_rules() == []

    config = tomllib.loads(SAMCONFIG.read_text())
    prod = Stack(template, parameter_overrides(config["prod"]))
    assert prod.broken_rules() == []
    callbacks = prod.properties("WebClient")["CallbackURLs"]
    assert callbacks
    for url in callbacks:
        assert url.startswith("https://"), url
        assert not re.search(r"localhost|127\.0\.0\.1|\[::1\]", url), url
    dev = Stack(template, parameter_overrides(config["default"]))
    assert dev.properties("WebClient")["CallbackURLs"] == [
        "http://localhost:3000/callback",
        f"https://{WEB_DOMAIN}/callback",
    ]

    pattern = re.compile(parameter["AllowedPattern"])
    for good in ("https://app.example.com/callback", "http://localhost:5173/callback", ""):
        assert pattern.fullmatch(good), good
    for bad in ("http://app.example.com/callback", "http://localhost.evil.example/cb", "javascript:x"):
        assert not pattern.fullmatch(bad), bad


def test_user_pool_domain_is_a_valid_unique_prefix() -> None:
    template = load_template()
    domain_pattern = re.compile(template["Parameters"]["AuthDomainPrefix"]["AllowedPattern"])
    derived = cognito_domain(Stack(template))
    assert derived == "serverless-api-dev-123456789012"
    assert domain_pattern.fullmatch(derived)
    assert not re.search("aws|amazon|cognito", derived), "reserved words in a Cognito domain prefix"
    assert cognito_domain(Stack(template, {"AuthDomainPrefix": "orders-auth"})) == "orders-auth"
    for bad in ("Orders", "-orders", "orders-", "a" * 64, "orders.auth"):
        assert not domain_pattern.fullmatch(bad), bad


def test_function_environment_wires_issuer_audience_and_scope_prefix() -> None:
    template = load_template()
    variables = template["Resources"]["ApiFunction"]["Properties"]["Environment"]["Variables"]
    for name, parameter in [
        ("APP_AUTH_ISSUER", "AuthIssuer"),
        ("APP_AUTH_AUDIENCE", "AuthAudience"),
        ("APP_AUTH_SCOPE_PREFIX", "AuthScopePrefix"),
    ]:
        condition, _, external = variables[name]["Fn::If"]
        assert condition == "CreateUserPool", name
        assert external == {"Ref": parameter}, name
    assert variables["APP_AUTH_TOKEN_USE"] == "access"
    # The app derives the JWKS from the issuer; a key file never applies in the cloud.
    assert "APP_AUTH_JWKS_URL" not in variables
    assert "APP_AUTH_JWKS_FILE" not in variables

    own = Stack(template).function_environment()
    assert own["APP_AUTH_ISSUER"] == "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Te5tPoo1"
    # Cognito access tokens have no aud: the app matches client_id against both clients.
    assert own["APP_AUTH_AUDIENCE"].split(",") == [STAND_IN_IDS["MachineClient"], STAND_IN_IDS["WebClient"]]
    assert own["APP_AUTH_SCOPE_PREFIX"] == f"{RESOURCE_SERVER_ID}/"
    assert own["APP_AUTH_TOKEN_USE"] == "access"

    external = Stack(template, EXTERNAL_AUTH | {"AuthScopePrefix": "api://orders/"}).function_environment()
    assert external["APP_AUTH_ISSUER"] == EXTERNAL_AUTH["AuthIssuer"]
    assert external["APP_AUTH_AUDIENCE"] == EXTERNAL_AUTH["AuthAudience"]
    assert external["APP_AUTH_SCOPE_PREFIX"] == "api://orders/"


def test_api_has_no_gateway_cors() -> None:
    """The app answers CORS; API Gateway does not (its authorizer is the subject of
    tests/deploy/test_gateway_authorizer.py)."""
    template = load_template()
    api = template["Resources"]["HttpApi"]["Properties"]
    assert "CorsConfiguration" not in api
    assert "Auth" not in api  # the authorizer is in the definition, conditional on GatewayAuthorizer
    assert "Events" not in template["Resources"]["ApiFunction"]["Properties"]
    assert '"x-amazon-apigateway-cors"' not in json.dumps(api["DefinitionBody"])


def test_outputs_tell_how_to_get_a_token_in_both_modes() -> None:
    template = load_template()
    outputs = template["Outputs"]
    everywhere = {
        "ApiUrl",
        "DocsUrl",
        "FunctionName",
        "AuthIssuer",
        "AuthAudience",
        "AuthScopes",
        "AuthTokenEndpoint",
    }
    cognito_only = {
        "UserPoolId",
        "MachineClientId",
        "WebClientId",
        "AuthAuthorizeEndpoint",
        "AuthClientSecretCommand",
        "AuthTokenCurlExample",
    }
    assert everywhere | cognito_only <= set(outputs)
    for name in everywhere:
        assert "Condition" not in outputs[name], name
    for name in cognito_only:
        assert outputs[name]["Condition"] == "CreateUserPool", name
    for name, output in outputs.items():
        assert output.get("Description"), name
    # Outputs (and environment variables) are readable by whoever can describe the
    # stack or the function: the template never reads the client secret at all.
    text = json.dumps(template)
    assert not re.search(r'"Fn::GetAtt": \["\w+", "ClientSecret"\]|\.ClientSecret\}', text)

    own = Stack(template)
    values = own.outputs()
    machine, web, pool = STAND_IN_IDS["MachineClient"], STAND_IN_IDS["WebClient"], STAND_IN_IDS["UserPool"]
    env = own.function_environment()
    assert values["ApiUrl"] == "https://abc123defg.execute-api.us-east-1.amazonaws.com/dev"
    assert values["AuthIssuer"] == env["APP_AUTH_ISSUER"]
    assert values["AuthAudience"] == env["APP_AUTH_AUDIENCE"]
    assert set(values["AuthScopes"].split()) == {f"{RESOURCE_SERVER_ID}/{s}" for s in API_SCOPES}
    base = f"https://{cognito_domain(own)}.auth.us-east-1.amazoncognito.com/oauth2"
    assert values["AuthTokenEndpoint"] == f"{base}/token"
    assert values["AuthAuthorizeEndpoint"] == f"{base}/authorize"
    assert (values["UserPoolId"], values["MachineClientId"], values["WebClientId"]) == (pool, machine, web)
    secret_command = values["AuthClientSecretCommand"].split()
    assert secret_command[:3] == ["aws", "cognito-idp", "describe-user-pool-client"]
    for flag, value in [
        ("--user-pool-id", pool),
        ("--client-id", machine),
        ("--query", "UserPoolClient.ClientSecret"),
        ("--region", "us-east-1"),
    ]:
        assert secret_command[secret_command.index(flag) + 1] == value, flag
    curl = values["AuthTokenCurlExample"]
    assert curl.startswith("curl ")
    assert f'-u "{machine}:$CLIENT_SECRET"' in curl
    assert "grant_type=client_credentials" in curl
    assert curl.endswith(f" {base}/token")
    requested = re.search(r'"scope=([^"]*)"', curl)
    assert requested
    assert set(requested.group(1).split()) <= {f"{RESOURCE_SERVER_ID}/{s}" for s in API_SCOPES}

    # With an external issuer the outputs resolve without any Cognito resource
    # (Stack.ref fails on a Ref to a resource that is not created).
    external = Stack(template, EXTERNAL_AUTH).outputs()
    assert not cognito_only & set(external)
    assert external["AuthIssuer"] == EXTERNAL_AUTH["AuthIssuer"]
    assert external["AuthAudience"] == EXTERNAL_AUTH["AuthAudience"]
    assert EXTERNAL_AUTH["AuthIssuer"] in external["AuthTokenEndpoint"]
    assert "amazoncognito" not in json.dumps(external)


def test_the_web_client_keeps_a_session_short_and_revocable(
    sam_transform: Callable[[dict[str, str]], dict[str, Any]],
) -> None:
    """After SAM's transform, as CloudFormation gets it: the public client allows only the
    hosted sign-in's code flow (no SRP with an id anyone can read from config.json), its
    refresh token lives the shortest time Cognito allows and can be revoked, and no one
    changes the email they sign in with without verifying the new address."""
    resources = sam_transform(OWN_POOL)["Resources"]
    web = resources["WebClient"]["Properties"]
    assert web["ExplicitAuthFlows"] == ["ALLOW_REFRESH_TOKEN_AUTH"]
    # Cognito: RefreshTokenValidity "can range from 60 minutes to 10 years".
    assert (web["RefreshTokenValidity"], web["TokenValidityUnits"]["RefreshToken"]) == (60, "minutes")
    assert web["EnableTokenRevocation"] is True
    pool = resources["UserPool"]["Properties"]
    assert pool["UserAttributeUpdateSettings"] == {"AttributesRequireVerificationBeforeUpdate": ["email"]}
    assert pool["UsernameAttributes"] == ["email"]


def test_the_web_app_is_told_where_to_revoke() -> None:
    config = json.loads(Stack(load_template(), OWN_POOL).outputs()["WebConfig"])
    domain = cognito_domain(Stack(load_template(), OWN_POOL))
    # Cognito's revocation endpoint, on the domain where the page got the tokens.
    assert config["revokeUrl"] == f"https://{domain}.auth.us-east-1.amazoncognito.com/oauth2/revoke"
    assert config["signOutUrl"].startswith(f"https://{domain}.auth.us-east-1.amazoncognito.com/logout?")
