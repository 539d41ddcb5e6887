"""Upload the built web app (web/dist) to the stack's site bucket.

  .venv/bin/python web/scripts/publish.py --stack serverless-api-dev [--region eu-west-1]

Reads the stack's outputs (WebBucketName, WebDistributionId, WebConfig), uploads
the hashed assets first (immutable, a year), then config.json (the stack's
WebConfig) and index.html (no-cache: revalidated on every visit), so a visitor
never gets an index.html whose assets are not there yet; old assets stay for pages
still open. Then it invalidates the distribution. boto3 only, no AWS CLI.
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import sys
from pathlib import Path
from typing import Any

import boto3

DIST = Path(__file__).resolve().parents[1] / "dist"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
REQUIRED_CONFIG = {"apiUrl", "authority", "clientId", "scopes", "scopePrefix"}


def content_type(name: str) -> str:
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return f"{kind}; charset=utf-8" if kind.startswith("text/") or kind == "application/javascript" else kind


def plan(dist: Path) -> list[tuple[Path, str, str]]:
    """(file, key, Cache-Control) in upload order: assets, other files, index.html last."""
    files = sorted(p for p in dist.rglob("*") if p.is_file() and p.name != "config.json")
    keyed = [(p, p.relative_to(dist).as_posix()) for p in files]
    assets = [(p, k, IMMUTABLE) for p, k in keyed if k.startswith("assets/")]
    others = [(p, k, REVALIDATE) for p, k in keyed if not k.startswith("assets/") and k != "index.html"]
    index = [(p, k, REVALIDATE) for p, k in keyed if k == "index.html"]
    if not index:
        raise SystemExit(f"publish: {dist}/index.html is missing: run `make web-build`")
    return assets + others + index


def publish(
    dist: Path, bucket: str, distribution_id: str, config: dict[str, Any], s3: Any, cloudfront: Any
) -> int:
    missing = REQUIRED_CONFIG - set(config)
    if missing:
        raise SystemExit(f"publish: the web config lacks {', '.join(sorted(missing))}")
    steps = plan(dist)
    for path, key, cache_control in steps[:-1]:
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=path.read_bytes(),
            ContentType=content_type(key),
            CacheControl=cache_control,
        )
    s3.put_object(
        Bucket=bucket,
        Key="config.json",
        Body=json.dumps(config, indent=2).encode(),
        ContentType="application/json",
        CacheControl=REVALIDATE,
    )
    path, key, cache_control = steps[-1]
    s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=path.read_bytes(),
        ContentType=content_type(key),
        CacheControl=cache_control,
    )
    cloudfront.create_invalidation(
        DistributionId=distribution_id,
        InvalidationBatch={
            "Paths": {"Quantity": 1, "Items": ["/*"]},
            "CallerReference": f"publish-{steps[-1][0].stat().st_mtime_ns}",
        },
    )
    return len(steps) + 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", required=True, help="the stack's name (samconfig.toml's stack_name)")
    parser.add_argument("--region", default=None)
    parser.add_argument("--config", type=Path, help="a config.json to use instead of the WebConfig output")
    args = parser.parse_args(argv)
    session = boto3.session.Session(region_name=args.region)
    stacks = session.client("cloudformation").describe_stacks(StackName=args.stack)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    if args.config:
        config = json.loads(args.config.read_text())
    elif "WebConfig" in outputs:
        config = json.loads(outputs["WebConfig"])
    else:
        print(
            "publish: the stack trusts an external issuer (no WebConfig output): pass --config",
            file=sys.stderr,
        )
        return 2
    count = publish(
        DIST,
        outputs["WebBucketName"],
        outputs["WebDistributionId"],
        config,
        session.client("s3"),
        session.client("cloudfront"),
    )
    print(f"publish: {count} files in s3://{outputs['WebBucketName']}; the web app is at {outputs['WebUrl']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
