"""`make deploy ENV=default|prod`: the stack, then the web app, then the smoke suite.

  python -m ops.deploy --env default            # sam build, sam deploy, publish, smoke
  python -m ops.deploy --env default --publish-only --site web/dist

Steps: ``sam build`` and ``sam deploy --config-env ENV`` (the SAM CLI of .venv-sam);
the stack's outputs; the web app's build (``make web-build``) uploaded to the site
bucket, only the files Vite's manifest names (with index.html and web/public's files;
anything else in the build stops the deploy), with the stack's ``WebConfig`` output as
its runtime ``config.json`` (or ``--config FILE`` for a stack that trusts an external
issuer) and, in its ``index.html``, a CSP ``<meta>`` whose ``connect-src`` names exactly
that config's API and issuer origins (ops/site_csp.py: the header's cannot name the
API without a dependency cycle): content types set,
hashed assets first and cached for a year as immutable, then ``config.json`` and
``index.html`` last, both revalidated on every load, so no visitor gets a page whose
assets are not there yet; keys no longer in the build removed; a CloudFront
invalidation of the names a deploy reuses; and ``make smoke`` against the deployed URLs.
Every AWS call is boto3 (no AWS CLI); credentials come from the usual chain (a profile,
SSO, or the pipeline's OIDC role). ``--permissions-boundary ARN`` (the pipeline's, see
ops/pipeline.yaml) becomes the template's PermissionsBoundaryArn.
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ops.site_csp import connect_origins, with_connect_csp
from twin.stack import samconfig_environment

ROOT = Path(__file__).resolve().parents[1]
SAM = ROOT / ".venv-sam" / "bin" / "sam"
WEB = ROOT / "web"

# index.html and config.json change with every deploy under the same name: a browser
# or CloudFront may keep them but must revalidate. Vite's build names everything under
# assets/ by content hash, so those never change under a name and are cached for good.
REVALIDATE = "no-cache"
IMMUTABLE = "public, max-age=31536000, immutable"
_HASHED = re.compile(r"(^|/)assets/.+[.-][A-Za-z0-9_-]{8,}\.[a-z0-9]+$")
mimetypes.add_type("application/javascript", ".js")
mimetypes.add_type("application/json", ".json")
mimetypes.add_type("image/svg+xml", ".svg")
mimetypes.add_type("application/manifest+json", ".webmanifest")
mimetypes.add_type("font/woff2", ".woff2")
CONFIG_KEY = "config.json"
# Vite's build manifest (build.manifest in web/vite.config.ts), read, never uploaded.
MANIFEST = ".vite/manifest.json"
REQUIRED_CONFIG = {"apiUrl", "authority", "clientId", "scopes", "scopePrefix"}


@dataclass(frozen=True)
class Upload:
    key: str
    content_type: str
    cache_control: str


def manifest_files(site: Path, public: Path) -> set[str]:
    """The keys a build may publish: what Vite's manifest names (each chunk's file, its
    CSS and its assets; vite.config.ts sets build.manifest), index.html, and the files
    of the public directory, which Vite copies to the build without listing them."""
    manifest_path = site / MANIFEST
    if not manifest_path.is_file():
        raise SystemExit(f"deploy: {manifest_path} is missing: run `make web-build` (build.manifest)")
    named = {"index.html"}
    for chunk in json.loads(manifest_path.read_text()).values():
        named.add(chunk["file"])
        named.update(chunk.get("css", []), chunk.get("assets", []))
    if public.is_dir():
        named.update(p.relative_to(public).as_posix() for p in public.rglob("*") if p.is_file())
    return named


def plan_upload(site: Path, public: Path) -> list[Upload]:
    """What each file of the build becomes in the bucket. Only the files the manifest
    names go up, never a dotfile or a source map (a map hands out the source); any
    other file in the build stops the deploy before anything is uploaded. The local
    config.json is never uploaded: the stack's takes its place."""
    named = manifest_files(site, public)
    files = {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()}
    refused = sorted(
        key
        for key in files - {MANIFEST}
        if key not in named or key.endswith(".map") or any(part.startswith(".") for part in key.split("/"))
    )
    if refused:
        raise SystemExit(f"deploy: {site} holds files its manifest does not name: {', '.join(refused)}")
    if "index.html" not in files:
        raise SystemExit(f"deploy: {site}/index.html is missing: run `make web-build`")
    missing = sorted(named - files - {CONFIG_KEY})
    if missing:
        raise SystemExit(f"deploy: the manifest names files the build lacks: {', '.join(missing)}")
    return [
        Upload(key, content_type(key), IMMUTABLE if _HASHED.search(key) else REVALIDATE)
        for key in sorted(files - {MANIFEST, CONFIG_KEY})
    ]


def content_type(key: str) -> str:
    kind = mimetypes.guess_type(key)[0] or "application/octet-stream"
    textual = kind.startswith("text/") or kind in ("application/javascript", "application/json")
    return f"{kind}; charset=utf-8" if textual else kind


def publish_site(
    s3: Any, bucket: str, site: Path, config: dict[str, Any], public: Path = WEB / "public"
) -> tuple[list[Upload], list[str]]:
    """Upload the build and its config, remove what it no longer has; returns (uploaded, removed)."""
    missing = REQUIRED_CONFIG - set(config)
    if missing:
        raise SystemExit(f"deploy: the web app's config lacks {', '.join(sorted(missing))}")
    files = plan_upload(site, public)
    # Refused (a page without <head>, an origin that is not plain https) before any upload.
    try:
        page = with_connect_csp((site / "index.html").read_text(), connect_origins(config))
    except ValueError as error:
        raise SystemExit(f"deploy: index.html's CSP: {error}") from None
    bodies = {CONFIG_KEY: (json.dumps(config, indent=2) + "\n").encode(), "index.html": page.encode()}
    uploads = [*files, Upload(CONFIG_KEY, content_type(CONFIG_KEY), REVALIDATE)]
    # Hashed assets first, then the other files, config.json, and index.html last: a
    # browser that gets the new index.html always finds what it names.
    order = {IMMUTABLE: 0, REVALIDATE: 1}
    ordered = sorted(
        uploads, key=lambda u: (order[u.cache_control], u.key == "index.html", u.key == CONFIG_KEY)
    )
    for upload in ordered:
        s3.put_object(
            Bucket=bucket,
            Key=upload.key,
            Body=bodies[upload.key] if upload.key in bodies else (site / upload.key).read_bytes(),
            ContentType=upload.content_type,
            CacheControl=upload.cache_control,
        )
    wanted = {upload.key for upload in uploads}
    stale: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        stale += [item["Key"] for item in page.get("Contents", []) if item["Key"] not in wanted]
    for start in range(0, len(stale), 1000):
        s3.delete_objects(
            Bucket=bucket,
            Delete={"Objects": [{"Key": key} for key in stale[start : start + 1000]], "Quiet": True},
        )
    return ordered, stale


def invalidate(cloudfront: Any, distribution_id: str, uploads: list[Upload]) -> str:
    """Invalidate what is cached under a name that a deploy reuses (not the hashed assets)."""
    paths = sorted("/" + u.key for u in uploads if u.cache_control != IMMUTABLE)
    if "/index.html" in paths:
        paths.append("/")
    response = cloudfront.create_invalidation(
        DistributionId=distribution_id,
        InvalidationBatch={
            "Paths": {"Quantity": len(paths), "Items": paths},
            "CallerReference": str(time.time()),
        },
    )
    return str(response["Invalidation"]["Id"])


def stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    (stack,) = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def site_config(outputs: dict[str, str], config_file: Path | None) -> dict[str, Any]:
    """The web app's runtime config.json: the stack's WebConfig output, or a file; and
    live orders' ``wsUrl``, the stack's WebSocketUrl output, unless the file sets one
    (an empty one turns live updates off)."""
    if config_file is not None:
        config = dict(json.loads(config_file.read_text()))
    elif "WebConfig" not in outputs:
        raise SystemExit(
            "deploy: the stack trusts an external issuer (no WebConfig output): pass --config FILE"
        )
    else:
        config = dict(json.loads(outputs["WebConfig"]))
    config.setdefault("wsUrl", outputs.get("WebSocketUrl", ""))
    return config


def run(command: list[str], **kwargs: Any) -> None:
    print("+ " + " ".join(command), flush=True)
    subprocess.run(command, check=True, **kwargs)  # noqa: S603 - fixed tools of this repository


def build_web() -> Path:
    run(["make", "web-build"], cwd=ROOT)
    return WEB / "dist"


def publish(
    stack_name: str, region: str, site: Path | None, config_file: Path | None, public: Path
) -> dict[str, str]:
    import boto3

    session = boto3.session.Session(region_name=region)
    outputs = stack_outputs(session.client("cloudformation"), stack_name)
    if "WebBucketName" not in outputs:
        print("deploy: the stack has no web app (no WebBucketName output); nothing to publish", flush=True)
        return outputs
    config = site_config(outputs, config_file)
    uploads, removed = publish_site(
        session.client("s3"), outputs["WebBucketName"], site or build_web(), config, public
    )
    print(
        f"deploy: {len(uploads)} files to s3://{outputs['WebBucketName']}, {len(removed)} stale removed",
        flush=True,
    )
    invalidation = invalidate(session.client("cloudfront"), outputs["WebDistributionId"], uploads)
    print(f"deploy: CloudFront invalidation {invalidation}", flush=True)
    return outputs


def deploy_command(env: str, region: str, boundary: str, extra: list[str]) -> list[str]:
    """`sam deploy` for a samconfig environment. With the pipeline's permissions boundary
    the whole parameter list is given (a command-line --parameter-overrides replaces
    samconfig's, it does not add to it), plus PermissionsBoundaryArn."""
    command = [str(SAM), "deploy", "--config-env", env, "--region", region]
    if boundary:
        _, overrides = samconfig_environment(env)
        parameters = {**overrides, "PermissionsBoundaryArn": boundary}
        command += ["--parameter-overrides", *(f"{key}={value}" for key, value in parameters.items())]
    return [*command, *extra]


def stack_parser(prog: str, doc: str | None) -> argparse.ArgumentParser:
    """The options every command on a deployed stack takes: its environment and region."""
    parser = argparse.ArgumentParser(prog=prog, description=(doc or "").splitlines()[0])
    parser.add_argument("--env", default="default", help="samconfig.toml environment: default (dev) or prod")
    parser.add_argument(
        "--region", default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = stack_parser("python -m ops.deploy", __doc__)
    parser.add_argument("--publish-only", action="store_true", help="skip sam build and sam deploy")
    parser.add_argument("--site", type=Path, help="an already built web app to publish (default: build web/)")
    parser.add_argument(
        "--config", type=Path, help="the web app's config.json (default: the stack's WebConfig output)"
    )
    parser.add_argument(
        "--public", type=Path, default=WEB / "public", help="the web app's public directory (Vite copies it)"
    )
    parser.add_argument(
        "--permissions-boundary",
        default="",
        help="the pipeline's boundary ARN for every role of the stack (ops/pipeline.yaml)",
    )
    parser.add_argument("--no-smoke", action="store_true")
    parser.add_argument("sam_args", nargs="*", help="extra `sam deploy` arguments (after --)")
    args = parser.parse_args(argv)
    if not args.region:
        parser.error("no region: set AWS_REGION or pass --region")
    stack_name, _ = samconfig_environment(args.env)
    if not args.publish_only:
        # The template deploys arm64; the recipe fetches arm64 wheels on any machine.
        build_env = {**os.environ, "LAMBDA_ARCHITECTURE": "arm64", "SAM_CLI_TELEMETRY": "0"}
        run([str(SAM), "build", "--config-env", args.env], cwd=ROOT, env=build_env)
        run(
            deploy_command(args.env, args.region, args.permissions_boundary, args.sam_args),
            cwd=ROOT,
            env=build_env,
        )
    outputs = publish(stack_name, args.region, args.site, args.config, args.public)
    if args.no_smoke:
        return 0
    smoke = [sys.executable, "-m", "ops.smoke", "--url", outputs["ApiUrl"], "--stack", stack_name]
    return subprocess.run([*smoke, "--region", args.region], cwd=ROOT, check=False).returncode  # noqa: S603


if __name__ == "__main__":
    raise SystemExit(main())
