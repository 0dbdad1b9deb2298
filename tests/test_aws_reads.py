"""The aws collector makes only the API calls the selected checks read, and needs moto only for a seed."""

from __future__ import annotations

import ast
import logging
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from kitemark.core import resources
from kitemark.core.catalog import Catalogue
from kitemark.core.errors import UsageError
from kitemark.core.kinds import TargetSpec
from kitemark.core.model import Status
from kitemark.targets.aws import collect as aws
from kitemark.targets.aws import demo as aws_demo
from kitemark.targets.aws.constants import PUBLIC_ACCESS_SETTINGS
from kitemark.targets.aws.kind import KIND
from kitemark.testing import run_on_inventory

ROOT = Path(__file__).resolve().parent.parent
DEMO_SEED = resources.demo_dir() / "aws" / "seed.yaml"
ALL_ON = dict.fromkeys(PUBLIC_ACCESS_SETTINGS, True)
SEED = {
    "account_public_access_block": ALL_ON,
    "eks_clusters": [{"name": "live", "encryption_kms_alias": "alias/l", "logging": ["api"]}],
    "s3_buckets": [{"name": "kitemark-a", "region": "eu-west-2", "public_access_block": ALL_ON}],
}


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def endpoint(server: str) -> Iterator[str]:
    """The server, loaded with SEED (moto's state is per process: an embedded seed elsewhere resets it)."""
    aws_demo.reset(server)
    aws_demo.load_seed(server, SEED)
    yield server
    aws_demo.reset(server)


def reads_of(scope: str) -> frozenset[str]:
    checks = Catalogue.load().checks.values()
    return frozenset(r for c in checks if c.scope == scope for r in c.reads)


def collect_recording(
    endpoint: str, reads: frozenset[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, Any], list[str]]:
    """Collect through the kind (as a run does) and record every operation sent."""
    operations: list[str] = []
    session = boto3.Session(**aws.DUMMY_CREDENTIALS, region_name="eu-west-2")
    session.events.register(
        "before-call",
        lambda model, **_: operations.append(f"{model.service_model.service_name}:{model.name}"),
    )
    monkeypatch.setattr(aws, "make_session", lambda *_: session)
    inventory = KIND.collect(TargetSpec("aws", "t", endpoint, {"regions": ["eu-west-2"]}), reads)
    return inventory, operations


def test_only_eks_checks_send_no_s3_call(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    inventory, operations = collect_recording(endpoint, reads_of("aws.eks-cluster"), monkeypatch)
    assert sorted(set(operations)) == ["eks:DescribeCluster", "eks:ListClusters"]
    assert inventory["calls"] == ["eks:DescribeCluster", "eks:ListClusters"]
    assert run_on_inventory("AWS-EKS-001", inventory)["aws:t/eu-west-2/eks:live"][0].status is Status.PASSED
    # The S3 part was not read, and says so: an error naming the call, never "no buckets".
    [(unit, [finding])] = run_on_inventory("AWS-S3-001", inventory).items()
    assert unit == "aws:t/s3" and finding.status is Status.ERROR
    assert "s3:ListBuckets: not collected" in finding.message


def test_only_s3_checks_send_no_eks_call(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    inventory, operations = collect_recording(endpoint, reads_of("aws.s3"), monkeypatch)
    assert not [op for op in operations if op.startswith("eks:")]
    assert "s3:GetBucketEncryption" not in operations  # no selected check reads it
    assert {"sts:GetCallerIdentity", "s3control:GetPublicAccessBlock", "s3:GetPublicAccessBlock"} <= set(
        operations
    )
    statuses = {f.resource: f.status for fs in run_on_inventory("AWS-S3-001", inventory).values() for f in fs}
    assert statuses == {
        "S3AccountPublicAccessBlock/123456789012": Status.PASSED,
        "S3Bucket/kitemark-a": Status.PASSED,
    }
    # the region's clusters were not listed: an error unit, not "the target has no eks-cluster"
    [(unit, [finding])] = run_on_inventory("AWS-EKS-001", inventory).items()
    assert unit == "aws:t/eu-west-2/eks" and finding.status is Status.ERROR
    assert "eks:ListClusters: not collected" in finding.message


def test_reads_pull_in_the_calls_they_need(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # the account-level block takes the account id; a cluster is described by the name listed
    inventory, operations = collect_recording(
        endpoint, frozenset({"s3control:GetPublicAccessBlock"}), monkeypatch
    )
    assert operations == ["sts:GetCallerIdentity", "s3control:GetPublicAccessBlock"]
    assert inventory["s3"]["account_public_access_block"] == ALL_ON
    _, operations = collect_recording(endpoint, frozenset({"eks:DescribeCluster"}), monkeypatch)
    assert operations == ["eks:ListClusters", "eks:DescribeCluster"]


def test_no_reads_means_every_call(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    inventory, operations = collect_recording(endpoint, frozenset(), monkeypatch)
    assert set(operations) == set(aws.READS) and inventory["calls"] == sorted(aws.READS)
    assert inventory["s3"]["buckets"][0]["errors"] == {}


def test_a_read_the_collector_cannot_make_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"cannot make ec2:DescribeVpcs .*it makes: eks:DescribeCluster"):
        aws.calls_for({"eks:ListClusters", "ec2:DescribeVpcs"})


@pytest.mark.parametrize("check_id", ["AWS-EKS-001", "AWS-EKS-002", "AWS-S3-001"])
def test_each_check_reads_enough(server: str, check_id: str) -> None:
    """Collected with only its own declared reads, a check finds exactly what it finds with everything."""
    check = Catalogue.load().checks[check_id]
    assert check.reads, f"{check_id} must declare the API calls it reads"
    aws_demo.reset(server)
    aws_demo.load_seed(server, aws_demo.load_seed_file(DEMO_SEED))
    spec = TargetSpec("aws", "demo", server, {"regions": ["eu-west-2"]})
    own = run_on_inventory(check_id, aws.collect(spec, check.reads))
    everything = run_on_inventory(check_id, aws.collect(spec))
    assert {u: [f.to_dict() for f in fs] for u, fs in own.items()} == {
        u: [f.to_dict() for f in fs] for u, fs in everything.items()
    }
    assert {f.status for fs in own.values() for f in fs} == {Status.PASSED, Status.FAILED}


def test_every_aws_check_declares_reads_the_collector_makes() -> None:
    aws_checks = [c for c in Catalogue.load().checks.values() if c.kind == "aws"]
    assert aws_checks
    for check in aws_checks:
        assert check.reads, check.id
        assert set(check.reads) <= set(aws.READS), check.id


def run_python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )


def test_collecting_from_an_endpoint_never_imports_moto_or_the_demo(endpoint: str) -> None:
    done = run_python(
        """
        import sys
        from kitemark.core.kinds import TargetSpec
        from kitemark.targets.aws import collect
        from kitemark.targets.aws.kind import KIND

        inventory = KIND.collect(TargetSpec("aws", "t", sys.argv[1], {"regions": ["eu-west-2"]}))
        assert inventory["errors"] == [], inventory["errors"]
        print(inventory["account_id"], [b["name"] for b in inventory["s3"]["buckets"]])
        print(sorted(m for m in sys.modules if m.partition(".")[0] == "moto" or m.endswith("aws.demo")))
        """,
        endpoint,
    )
    assert done.returncode == 0, done.stderr
    # it read the seeded account (dummy credentials, the s3control host fix), and imported neither
    assert done.stdout.splitlines() == ["123456789012 ['kitemark-a']", "[]"]


BLOCK_MOTO = "import sys; sys.modules['moto'] = None  # as if the demo extra were not installed\n"


def test_a_seed_without_moto_is_a_one_line_usage_error(tmp_path: Path) -> None:
    done = run_python(
        BLOCK_MOTO
        + """
        from kitemark.cli import main
        raise SystemExit(main(["run", "--aws-seed", sys.argv[1], "--out", sys.argv[2]]))
        """.replace("\n        ", "\n"),
        str(DEMO_SEED),
        str(tmp_path / "out"),
    )
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert "needs moto: pip install 'kitemark[demo]'" in line
    assert not (tmp_path / "out" / "results.json").exists()


def test_fixtures_without_moto_are_a_usage_error_too() -> None:
    done = run_python(
        BLOCK_MOTO
        + """
        from kitemark.core.errors import UsageError
        from kitemark.targets.aws.kind import KIND
        try:
            KIND.collect_fixture(__import__("pathlib").Path(sys.argv[1]))
        except UsageError as exc:
            print(exc)
        """.replace("\n        ", "\n"),
        str(ROOT / "fixtures" / "checks" / "AWS-S3-001" / "compliant"),
    )
    assert done.returncode == 0, done.stderr
    assert (
        done.stdout.strip()
        == "the embedded AWS (--aws-seed, the demo) needs moto: pip install 'kitemark[demo]'"
    )


def test_aws_names_are_defined_once() -> None:
    """The public access settings, the log types and the default region: one definition each."""
    names = {*PUBLIC_ACCESS_SETTINGS, "eu-west-2", "controllerManager"}
    found: dict[str, list[str]] = {}
    for path in [*(ROOT / "src/kitemark/targets/aws").glob("*.py"), *(ROOT / "suites/aws").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in names:
                found.setdefault(node.value, []).append(path.name)
    assert found == {name: ["constants.py"] for name in names}


def test_the_reader_refuses_a_call_it_was_not_asked_for() -> None:
    session = boto3.Session(**aws.DUMMY_CREDENTIALS, region_name="eu-west-2")
    reader = aws._Reader(session, "http://127.0.0.1:9", frozenset({"sts:GetCallerIdentity"}))
    with pytest.raises(aws.UnrequestedCall, match="eks:ListClusters"):
        reader.call(reader.client("eks", "eu-west-2"), "list_clusters", "eu-west-2", items="clusters")
