"""A kubeconfig that cannot be used is one line naming the file and what is wrong with it, exit code 2
(a usage error), before anything is collected; never a traceback, never a token quoted back."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kitemark.core.errors import UsageError
from kitemark.targets.cluster.live.connect import Target, resolve

GOOD = """\
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "http://127.0.0.1:1"}}]
users: [{name: u, user: {token: CANARY-kubeconfig-token-5b1e}}]
contexts: [{name: first, context: {cluster: c, user: u}}, {name: second, context: {cluster: c, user: u}}]
"""

CASES = {
    # name: (file text or None for no file, live:CONTEXT, what the line says)
    "missing": (None, "first", "no such file"),
    "not-yaml": ("contexts: [a, b\n", "first", ":2: kubeconfig is not valid YAML"),
    "token-in-bad-yaml": (GOOD + "  token: CANARY-kubeconfig-token-5b1e: x\n", "first", "not valid YAML"),
    "a-list": ("- 1\n- 2\n", "first", "not a kubeconfig (no list of contexts)"),
    "contexts-not-a-list": ("contexts: 5\n", "first", "not a kubeconfig (no list of contexts)"),
    "empty": ("", "first", "the file is empty"),
    "repeated-key": (GOOD + "contexts: []\n", "first", "duplicate key 'contexts'"),
    "unknown-context": (GOOD, "third", "no context 'third' (contexts: first, second)"),
    "no-current-context": (GOOD, "", "no current-context; name one with live:CONTEXT"),
    "dangling-cluster": (
        GOOD.replace("cluster: c, user", "cluster: gone, user", 1),
        "first",
        "context 'first': cannot set up credentials: Invalid kube-config file. Expected object with name",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_bad_kubeconfig_is_one_line_naming_the_file(case: str, tmp_path: Path) -> None:
    text, context, problem = CASES[case]
    kubeconfig = tmp_path / f"{case}.yaml"
    if text is not None:
        kubeconfig.write_text(text)
    args = ["--cluster", f"live:{context}", "--kubeconfig", str(kubeconfig), "--out", str(tmp_path / "out")]
    done = subprocess.run(
        [sys.executable, "-m", "kitemark", "run", *args, "-n", "0"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    [line] = [line for line in (done.stdout + done.stderr).splitlines() if line.strip() and "ERROR" in line]
    assert str(kubeconfig) in line and problem in line, line
    assert "Traceback" not in done.stdout + done.stderr
    assert "CANARY" not in done.stdout + done.stderr
    assert not (tmp_path / "out" / "results.json").exists()


def test_a_named_context_needs_no_current_context(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(GOOD)
    assert resolve(Target("second", str(kubeconfig))) == "second"
    with pytest.raises(UsageError, match="no current-context"):
        resolve(Target("", str(kubeconfig)))


def test_the_first_file_with_a_current_context_wins_as_in_kubectl(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.write_text(GOOD)
    second.write_text(GOOD.replace("first", "other") + "current-context: other\n")
    third = tmp_path / "c"
    third.write_text(GOOD.replace("first", "late") + "current-context: late\n")
    paths = ":".join(map(str, (first, second, third)))
    assert resolve(Target("", paths)) == "other"
