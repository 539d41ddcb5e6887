"""The API on the team's own domain: ApiDomainName, ApiCertificateArn, HostedZoneId."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.deploy.stack import OWN_POOL, SAM, TEMPLATE, Stack, load_template, run

DOMAIN = {
    **OWN_POOL,
    "ApiDomainName": "api.example.com",
    "ApiCertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/"
    "0a1b2c3d-0000-4000-8000-0123456789ab",
}
ZONE = {"HostedZoneId": "Z0123456789ABCDEFGHIJ"}
DOMAIN_RESOURCES = ("ApiDomain", "ApiDomainMapping", "ApiDomainRecord")


def test_without_a_domain_nothing_changes() -> None:
    stack = Stack(load_template(), OWN_POOL)
    assert not [name for name in DOMAIN_RESOURCES if stack.exists(name)]
    outputs = stack.outputs()
    assert outputs["ApiUrl"] == "https://abc123defg.execute-api.us-east-1.amazonaws.com/dev"
    assert outputs["DocsUrl"] == "https://abc123defg.execute-api.us-east-1.amazonaws.com/dev/docs"
    assert "ApiDomainTarget" not in outputs


@pytest.mark.parametrize("zone", [{}, ZONE], ids=["no-zone", "zone"])
def test_a_domain_maps_the_stage_at_its_root_with_tls_1_2(zone: dict[str, str]) -> None:
    stack = Stack(load_template(), {**DOMAIN, **zone})
    assert stack.broken_rules() == []
    domain = stack.properties("ApiDomain")
    assert domain["DomainName"] == "api.example.com"
    (configuration,) = domain["DomainNameConfigurations"]
    assert configuration == {
        "CertificateArn": DOMAIN["ApiCertificateArn"],
        "EndpointType": "REGIONAL",
        "SecurityPolicy": "TLS_1_2",
    }
    mapping = stack.template["Resources"]["ApiDomainMapping"]["Properties"]
    assert mapping["ApiId"] == {"Ref": "HttpApi"}
    assert mapping["Stage"] == {"Ref": "HttpApi.Stage"}
    assert "ApiMappingKey" not in mapping  # the root of the domain
    outputs = stack.outputs()
    assert outputs["ApiUrl"] == "https://api.example.com"
    assert outputs["DocsUrl"] == "https://api.example.com/docs"
    assert outputs["ApiDomainTarget"] == "d-abc123.execute-api.us-east-1.amazonaws.com"
    assert stack.exists("ApiDomainRecord") == bool(zone)
    if zone:
        record = stack.properties("ApiDomainRecord")
        assert record["Type"] == "A"
        assert record["AliasTarget"]["DNSName"] == outputs["ApiDomainTarget"]


def test_half_configured_domains_are_refused() -> None:
    assert Stack(load_template(), {**OWN_POOL, "ApiDomainName": "api.example.com"}).broken_rules() == [
        "ApiCertificateArn is required with ApiDomainName (an ACM certificate in this region)."
    ]
    for stray in ({"ApiCertificateArn": DOMAIN["ApiCertificateArn"]}, ZONE):
        assert Stack(load_template(), {**OWN_POOL, **stray}).broken_rules() == [
            "ApiCertificateArn and HostedZoneId apply only with ApiDomainName."
        ]


def test_sam_validate_lint_with_a_domain(tmp_path: Path) -> None:
    text = TEMPLATE.read_text()
    for name, value in {**DOMAIN, **ZONE}.items():
        if name not in ("ApiDomainName", "ApiCertificateArn", "HostedZoneId"):
            continue
        text, count = re.subn(
            rf'(\n  {name}:\n    Type: String\n    Default: )""\n', rf'\g<1>"{value}"\n', text
        )
        assert count == 1, name
    flipped = tmp_path / "template.yaml"
    flipped.write_text(text)
    run([str(SAM), "validate", "--lint", "--template", str(flipped)])
