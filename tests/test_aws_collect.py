"""The aws collector and checks against a real moto server (ThreadedMotoServer on 127.0.0.1)."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from moto.server import ThreadedMotoServer

from kitemark.core import resources
from kitemark.core.errors import UsageError
from kitemark.core.kinds import TargetSpec
from kitemark.core.model import ArnLocation, Finding, Status
from kitemark.targets.aws import collect as aws
from kitemark.targets.aws import demo as aws_demo
from kitemark.targets.aws.constants import EKS_LOG_TYPES, PUBLIC_ACCESS_SETTINGS
from kitemark.targets.aws.view import S3Account
from kitemark.testing import run_on_inventory

ALL_ON = dict.fromkeys(PUBLIC_ACCESS_SETTINGS, True)
FIVE = list(EKS_LOG_TYPES)
CHECK_IDS = ("AWS-EKS-001", "AWS-EKS-002", "AWS-S3-001")


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def dummy_session() -> boto3.Session:
    return boto3.Session(**aws.DUMMY_CREDENTIALS, region_name="eu-west-2")


def collect_seed(endpoint: str, seed: dict[str, Any], session: boto3.Session | None = None) -> dict[str, Any]:
    """Reset the server, load `seed`, collect it as target `aws:t`."""
    aws_demo.reset(endpoint)
    aws_demo.load_seed(endpoint, seed)
    return aws.collect(TargetSpec("aws", "t", endpoint, {"regions": ["eu-west-2"]}), session=session)


def run(check_id: str, inventory: dict[str, Any], **inputs: Any) -> dict[str, list[Finding]]:
    """unit id -> findings of `check_id`, through the real scopes, default inputs and `evaluate`."""
    return run_on_inventory(check_id, inventory, inputs)


def by_resource(findings: list[Finding]) -> dict[str, Finding]:
    return {f.resource: f for f in findings}


def deny(code: str, status: int = 403, message: str = "simulated refusal") -> Any:
    """A `before-call` handler that answers like AWS refusing the call (the request is never sent)."""

    def handler(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        parsed = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {}}
        return AWSResponse("https://example.invalid", status, {}, None), parsed

    return handler


# --- EKS ------------------------------------------------------------------------------------------


def test_eks_checks_on_collected_clusters(endpoint: str) -> None:
    seed = {
        "eks_clusters": [
            {"name": "live", "encryption_kms_alias": "alias/live", "logging": FIVE},
            {"name": "manager", "logging": ["api", "audit"]},
            {"name": "quiet"},  # no logging configured at all: moto (like AWS) reports all five disabled
        ]
    }
    inventory = collect_seed(endpoint, seed)
    enc, logs = run("AWS-EKS-001", inventory), run("AWS-EKS-002", inventory)
    assert set(enc) == {f"aws:t/eu-west-2/eks:{n}" for n in ("live", "manager", "quiet")}

    live = enc["aws:t/eu-west-2/eks:live"][0]
    assert live.status is Status.PASSED and live.resource == "EKSCluster/eu-west-2/live"
    # located by the ARN DescribeCluster answered with
    assert live.location == ArnLocation("arn:aws:eks:eu-west-2:123456789012:cluster/live")
    assert live.evidence["encryptionConfig"][0]["provider"]["keyArn"].startswith("arn:aws:kms:eu-west-2:")
    assert enc["aws:t/eu-west-2/eks:manager"][0].status is Status.FAILED

    assert logs["aws:t/eu-west-2/eks:live"][0].status is Status.PASSED
    manager = logs["aws:t/eu-west-2/eks:manager"][0]
    assert manager.status is Status.FAILED
    assert manager.where == "arn:aws:eks:eu-west-2:123456789012:cluster/manager"
    assert manager.evidence == {"required": FIVE, "enabled": ["api", "audit"], "disabled": FIVE[2:]}
    assert logs["aws:t/eu-west-2/eks:quiet"][0].evidence["disabled"] == FIVE


def test_eks_log_types_input_narrows_what_is_required(endpoint: str) -> None:
    seed = {"eks_clusters": [{"name": "manager", "logging": ["api", "audit"]}, {"name": "quiet"}]}
    inventory = collect_seed(endpoint, seed)
    logs = run("AWS-EKS-002", inventory, eks_log_types=["audit", "api"])
    manager = logs["aws:t/eu-west-2/eks:manager"][0]
    assert manager.status is Status.PASSED and manager.message.endswith("enabled: audit, api")
    quiet = logs["aws:t/eu-west-2/eks:quiet"][0]
    assert quiet.status is Status.FAILED and quiet.evidence["disabled"] == ["audit", "api"]
    # the input's schema: known log types only, at least one (an empty list would pass every cluster)
    for bad in ([], ["audit", "kubelet"], "audit"):
        with pytest.raises(UsageError, match="input eks_log_types"):
            run("AWS-EKS-002", inventory, eks_log_types=bad)


def test_describe_cluster_refused_makes_only_that_cluster_error(endpoint: str) -> None:
    session = dummy_session()
    calls = {"n": 0}

    def deny_second(**kwargs: Any) -> Any:  # clusters are described in name order: refuse "manager"
        calls["n"] += 1
        return deny("AccessDeniedException")(**kwargs) if calls["n"] == 2 else None

    session.events.register("before-call.eks.DescribeCluster", deny_second)
    seed = {"eks_clusters": [{"name": "live", "encryption_kms_alias": "alias/l"}, {"name": "manager"}]}
    inventory = collect_seed(endpoint, seed, session)
    enc = run("AWS-EKS-001", inventory)
    assert enc["aws:t/eu-west-2/eks:live"][0].status is Status.PASSED
    [refused] = enc["aws:t/eu-west-2/eks:manager"]
    assert refused.status is Status.ERROR
    assert "eks:DescribeCluster" in refused.message and "AccessDeniedException" in refused.message
    assert [e["path"] for e in inventory["errors"]] == ["eu-west-2 manager eks:DescribeCluster"]


def test_an_aws_error_message_is_kept_to_its_first_line(endpoint: str) -> None:
    # SignatureDoesNotMatch goes on to quote the canonical request, session token header included.
    message = "The request signature we calculated does not match.\nx-amz-security-token:CANARY-TOKEN"
    session = dummy_session()
    session.events.register("before-call.eks.ListClusters", deny("SignatureDoesNotMatch", message=message))
    inventory = collect_seed(endpoint, {}, session)
    [error] = [e for e in inventory["errors"] if "eks:ListClusters" in e["path"]]
    assert "SignatureDoesNotMatch: The request signature we calculated does not match." in error["message"]
    assert "CANARY" not in json.dumps(inventory)


def test_list_clusters_refused_gives_an_error_unit(endpoint: str) -> None:
    session = dummy_session()
    session.events.register("before-call.eks.ListClusters", deny("AccessDeniedException"))
    inventory = collect_seed(endpoint, {"eks_clusters": [{"name": "live"}]}, session)
    for check_id in ("AWS-EKS-001", "AWS-EKS-002"):
        results = run(check_id, inventory)
        assert list(results) == ["aws:t/eu-west-2/eks"]
        [finding] = results["aws:t/eu-west-2/eks"]
        assert finding.status is Status.ERROR
        assert "eks:ListClusters" in finding.message and "AccessDeniedException" in finding.message


# --- S3 -------------------------------------------------------------------------------------------


def bucket(name: str, block: dict[str, bool] | None = None, encryption: str | None = None) -> dict[str, Any]:
    return {"name": name, "region": "eu-west-2", "public_access_block": block, "encryption": encryption}


def s3_findings(inventory: dict[str, Any]) -> dict[str, Finding]:
    [(unit_id, findings)] = run("AWS-S3-001", inventory).items()
    assert unit_id == "aws:t/s3"
    return by_resource(findings)


def test_s3_account_block_alone_is_compliant(endpoint: str) -> None:
    seed = {
        "account_public_access_block": ALL_ON,
        "s3_buckets": [bucket("kitemark-open"), bucket("kitemark-own", ALL_ON)],
    }
    findings = s3_findings(collect_seed(endpoint, seed))
    assert {r: f.status for r, f in findings.items()} == {
        "S3AccountPublicAccessBlock/123456789012": Status.PASSED,
        "S3Bucket/kitemark-open": Status.PASSED,
        "S3Bucket/kitemark-own": Status.PASSED,
    }
    assert "inherits" in findings["S3Bucket/kitemark-open"].message
    # buckets are located by their ARN, the account-level setting by the account's
    assert {r: f.location for r, f in findings.items()} == {
        "S3AccountPublicAccessBlock/123456789012": ArnLocation("arn:aws:iam::123456789012:root"),
        "S3Bucket/kitemark-open": ArnLocation("arn:aws:s3:::kitemark-open"),
        "S3Bucket/kitemark-own": ArnLocation("arn:aws:s3:::kitemark-own"),
    }


def test_s3_without_account_block(endpoint: str) -> None:
    partial = {**ALL_ON, "BlockPublicPolicy": False, "RestrictPublicBuckets": False}
    seed = {
        "account_public_access_block": None,
        "s3_buckets": [
            bucket("kitemark-own", ALL_ON, "aws:kms"),
            bucket("kitemark-partial", partial),
            bucket("kitemark-none"),
        ],
    }
    inventory = collect_seed(endpoint, seed)
    # "not configured" answers are facts, not errors
    assert inventory["errors"] == [] and inventory["s3"]["account_public_access_block"] is None
    assert {
        b["name"]: b["encryption"] and b["encryption"]["algorithm"] for b in inventory["s3"]["buckets"]
    } == {
        "kitemark-none": None,
        "kitemark-own": "aws:kms",
        "kitemark-partial": None,
    }
    findings = s3_findings(inventory)
    account = findings["S3AccountPublicAccessBlock/123456789012"]
    assert account.status is Status.FAILED and "not configured" in account.message
    assert findings["S3Bucket/kitemark-own"].status is Status.PASSED
    assert findings["S3Bucket/kitemark-partial"].status is Status.FAILED
    assert findings["S3Bucket/kitemark-partial"].evidence["missing"] == [
        "BlockPublicPolicy",
        "RestrictPublicBuckets",
    ]
    assert findings["S3Bucket/kitemark-none"].status is Status.FAILED


def test_s3_account_and_bucket_settings_combine(endpoint: str) -> None:
    acls_only = {**ALL_ON, "BlockPublicPolicy": False, "RestrictPublicBuckets": False}
    policy_only = {**ALL_ON, "BlockPublicAcls": False, "IgnorePublicAcls": False}
    seed = {
        "account_public_access_block": acls_only,
        "s3_buckets": [bucket("kitemark-complement", policy_only), bucket("kitemark-bare")],
    }
    findings = s3_findings(collect_seed(endpoint, seed))
    account = findings["S3AccountPublicAccessBlock/123456789012"]
    assert account.status is Status.FAILED and "BlockPublicPolicy, RestrictPublicBuckets" in account.message
    assert findings["S3Bucket/kitemark-complement"].status is Status.PASSED
    assert findings["S3Bucket/kitemark-bare"].status is Status.FAILED


def test_s3_no_buckets_still_reports_the_account_block(endpoint: str) -> None:
    assert {r: f.status for r, f in s3_findings(collect_seed(endpoint, {})).items()} == {
        "S3AccountPublicAccessBlock/123456789012": Status.FAILED
    }


def test_s3_refused_reads_are_errors_unless_the_other_level_decides(endpoint: str) -> None:
    session = dummy_session()
    session.events.register("before-call.s3.GetPublicAccessBlock", deny("AccessDenied"))
    seed: dict[str, Any] = {
        "account_public_access_block": None,
        "s3_buckets": [bucket("kitemark-hidden", ALL_ON)],
    }
    findings = s3_findings(collect_seed(endpoint, seed, session))
    hidden = findings["S3Bucket/kitemark-hidden"]
    assert hidden.status is Status.ERROR
    assert "s3:GetPublicAccessBlock" in hidden.message and "AccessDenied" in hidden.message

    # With the account block fully on, the bucket's own (unreadable) block cannot change the outcome.
    seed["account_public_access_block"] = ALL_ON
    findings = s3_findings(collect_seed(endpoint, seed, session))
    assert findings["S3Bucket/kitemark-hidden"].status is Status.PASSED


def test_s3_account_block_refused(endpoint: str) -> None:
    session = dummy_session()
    session.events.register("before-call.s3-control.GetPublicAccessBlock", deny("AccessDenied"))
    seed = {"s3_buckets": [bucket("kitemark-own", ALL_ON), bucket("kitemark-bare")]}
    findings = s3_findings(collect_seed(endpoint, seed, session))
    account = findings["S3AccountPublicAccessBlock/123456789012"]
    assert account.status is Status.ERROR and "s3control:GetPublicAccessBlock" in account.message
    assert findings["S3Bucket/kitemark-own"].status is Status.PASSED
    assert findings["S3Bucket/kitemark-bare"].status is Status.ERROR


def test_list_buckets_refused_makes_the_s3_unit_error(endpoint: str) -> None:
    session = dummy_session()
    session.events.register("before-call.s3.ListBuckets", deny("AccessDenied"))
    inventory = collect_seed(endpoint, {"s3_buckets": [bucket("kitemark-own", ALL_ON)]}, session)
    [finding] = run("AWS-S3-001", inventory)["aws:t/s3"]
    assert finding.status is Status.ERROR and "s3:ListBuckets" in finding.message


# --- collector properties -------------------------------------------------------------------------


def test_collector_is_read_only(endpoint: str) -> None:
    session = dummy_session()
    operations: list[str] = []
    session.events.register(
        "before-call",
        lambda model, **_: operations.append(f"{model.service_model.service_name}:{model.name}"),
    )
    seed = {
        "account_public_access_block": ALL_ON,
        "eks_clusters": [
            {"name": "live", "encryption_kms_alias": "alias/l", "logging": FIVE},
            {"name": "manager"},
        ],
        "s3_buckets": [bucket("kitemark-a", ALL_ON, "AES256"), bucket("kitemark-b")],
    }
    collect_seed(endpoint, seed, session)
    assert set(operations) == {
        "sts:GetCallerIdentity",
        "eks:ListClusters",
        "eks:DescribeCluster",
        "s3control:GetPublicAccessBlock",
        "s3:ListBuckets",
        "s3:GetBucketLocation",
        "s3:GetPublicAccessBlock",
        "s3:GetBucketEncryption",
    }
    assert all(op.split(":")[1].startswith(("Describe", "List", "Get")) for op in operations)
    # and the guard the collector installs refuses a write made through its session
    s3 = session.client("s3", endpoint_url=endpoint)
    with pytest.raises(aws.ReadOnlyViolation, match="s3:DeleteBucket"):
        s3.delete_bucket(Bucket="kitemark-a")


def test_unreachable_endpoint_reports_errors_quickly() -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    start = time.monotonic()
    inventory = aws.collect(TargetSpec("aws", "t", closed, {"regions": ["eu-west-2", "eu-west-1"]}))
    assert time.monotonic() - start < 5
    assert inventory["account_id"] is None
    assert "EndpointConnectionError" in inventory["errors"][0]["message"]
    assert all("not attempted" in e["message"] for e in inventory["errors"][1:])
    for check_id in CHECK_IDS:
        results = run(check_id, inventory)
        assert results, check_id
        statuses = {f.status for findings in results.values() for f in findings}
        assert statuses == {Status.ERROR}, check_id
    assert set(run("AWS-EKS-001", inventory)) == {"aws:t/eu-west-1/eks", "aws:t/eu-west-2/eks"}


def test_endpoint_that_never_answers_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    # Same path as the real 3 s / 4 s timeouts, shortened so the test stays fast.
    monkeypatch.setattr(
        aws, "CLIENT_CONFIG", Config(connect_timeout=0.3, read_timeout=0.3, retries={"total_max_attempts": 1})
    )
    with socket.socket() as sock:  # accepts connections, never answers
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        start = time.monotonic()
        inventory = aws.collect(TargetSpec("aws", "t", f"http://127.0.0.1:{sock.getsockname()[1]}", {}))
    assert time.monotonic() - start < 10  # stops at the first timeout (0.3 s), not hung; loose for busy CI
    assert inventory["errors"][0]["message"].startswith("ReadTimeoutError")
    assert len(inventory["errors"]) == 3 and all(
        "not attempted" in e["message"] for e in inventory["errors"][1:]
    )


# A well-formed STS answer, but without the request id every AWS answer carries.
IDLESS_STS = (
    b'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>'
    b"<Account>123456789012</Account></GetCallerIdentityResult></GetCallerIdentityResponse>"
)


@pytest.mark.parametrize(
    ("body", "reason"), [(b"<html>captive portal</html>", "KeyError"), (IDLESS_STS, "NotAnAwsAnswer")]
)
def test_endpoint_that_is_not_aws_is_an_error(body: bytes, reason: str) -> None:
    class NotAws(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), NotAws)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        inventory = aws.collect(TargetSpec("aws", "t", f"http://127.0.0.1:{server.server_port}", {}))
    finally:
        server.shutdown()
    assert inventory["account_id"] is None
    first, *rest = inventory["errors"]
    assert first["path"] == "global sts:GetCallerIdentity" and reason in first["message"]
    assert [e["path"] for e in rest] == ["eu-west-2 eks:ListClusters", "global s3:ListBuckets"]
    # never "no clusters, no buckets": every check on this target is an error
    for check_id in CHECK_IDS:
        assert {f.status for fs in run(check_id, inventory).values() for f in fs} == {Status.ERROR}


def test_inventory_round_trips_through_json(endpoint: str) -> None:
    session = dummy_session()
    session.events.register("before-call.s3.GetBucketEncryption", deny("AccessDenied"))
    seed = {
        "eks_clusters": [{"name": "live", "logging": ["api"]}],
        "s3_buckets": [bucket("kitemark-a", ALL_ON)],
    }
    inventory = collect_seed(endpoint, seed, session)
    assert (
        inventory["s3"]["buckets"][0]["errors"]["encryption"]["path"] == "kitemark-a s3:GetBucketEncryption"
    )
    copy = json.loads(json.dumps(inventory))
    assert copy == inventory
    # the view is built from the JSON form alone, the unread field and its reason included
    [own] = S3Account.from_inventory(copy).buckets
    assert own.encryption is None
    assert (
        str(own.errors["encryption"]) == "kitemark-a s3:GetBucketEncryption: AccessDenied: simulated refusal"
    )
    assert own.public_access_block is not None and own.public_access_block.complete


def test_demo_seed_gives_the_documented_statuses() -> None:
    seed = resources.demo_dir() / "aws" / "seed.yaml"
    inventory = aws.collect(TargetSpec("aws", "demo", "", {"seed": str(seed)}))
    assert inventory["target"] == "aws:demo" and inventory["errors"] == []
    statuses = {
        (check_id, f.resource): f.status
        for check_id in CHECK_IDS
        for findings in run(check_id, inventory).values()
        for f in findings
    }
    assert statuses == {
        ("AWS-EKS-001", "EKSCluster/eu-west-2/live"): Status.PASSED,
        ("AWS-EKS-001", "EKSCluster/eu-west-2/manager"): Status.FAILED,
        ("AWS-EKS-002", "EKSCluster/eu-west-2/live"): Status.PASSED,
        ("AWS-EKS-002", "EKSCluster/eu-west-2/manager"): Status.FAILED,
        ("AWS-S3-001", "S3AccountPublicAccessBlock/123456789012"): Status.FAILED,
        ("AWS-S3-001", "S3Bucket/cloud-platform-terraform-state"): Status.PASSED,
        ("AWS-S3-001", "S3Bucket/cloud-platform-velero-backups"): Status.PASSED,
        ("AWS-S3-001", "S3Bucket/cloud-platform-hoodaw-reports"): Status.FAILED,
        ("AWS-S3-001", "S3Bucket/cloud-platform-concourse-artifacts"): Status.FAILED,
    }


def test_bad_seed_and_profile_are_usage_errors(tmp_path: Any) -> None:
    with pytest.raises(UsageError, match="seed file not found"):
        aws.collect(TargetSpec("aws", "t", "", {"seed": str(tmp_path / "missing.yaml")}))
    bad = tmp_path / "seed.yaml"
    bad.write_text("s3_buckets:\n  - name: ok-bucket\n    public: true\n")
    with pytest.raises(UsageError, match="invalid AWS seed at s3_buckets/0"):
        aws.collect_fixture(tmp_path)
    with pytest.raises(UsageError, match="profile 'kitemark-no-such-profile' not found"):
        aws.collect(TargetSpec("aws", "t", "", {"profile": "kitemark-no-such-profile"}))
