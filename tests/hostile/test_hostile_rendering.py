"""Hostile text in every output: names holding terminal escape sequences, rich markup, bidi overrides
and characters XML cannot carry reach the terminal, junit.xml and compliance.html only as visible
escapes; a backdated `--today` and a waiver of everything are said in every output."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from kitemark.reports.html import render_html
from kitemark.reports.junit import render_junit
from kitemark.reports.safe_text import for_rich, for_terminal, for_xml
from kitemark.reports.terminal import render_summary
from kitemark.results import judged_on, migrate_v1, validate, warnings
from kitemark.testing import compliant_namespace
from kitemark.verdicts.decide import decide
from kitemark.verdicts.merge import merge
from kitemark.verdicts.waivers import covers_everything

SAMPLE = Path(__file__).parent.parent / "data" / "results-sample.json"
ESCAPES = "\x1b]0;pwned\x07\x1b[2J\x1b[32mCOMPLIANT"
HOSTILE = [ESCAPES, "[/bold]", "\u202eevil", "a\x00b\x0cc", "x\x85\x9b31m\ufffe"]
# What a terminal acts on: C0 controls but tab and newline, DEL, C1 controls, bidi controls.
TERMINAL_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
HTML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
BACKDATED = "2019-06-01"


def kitemark(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kitemark", *args], capture_output=True, text=True, timeout=300
    )


def hostile_snapshot(root: Path) -> None:
    """A Namespace and a Deployment per hostile name (each fails checks), in one `kubectl get` list."""
    items: list[dict[str, Any]] = []
    for i, name in enumerate(HOSTILE):
        namespace = compliant_namespace(f"team-{i}{name}")
        items.append(namespace)
        pod = {"containers": [{"name": f"c{name}", "image": "i", "securityContext": {"privileged": True}}]}
        items.append(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": f"dep{name}", "namespace": f"team-{i}{name}"},
                "spec": {"template": {"metadata": {"labels": {"app": "x"}}, "spec": pod}},
            }
        )
    root.mkdir()
    (root / "objects.json").write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))


def hostile_waivers(path: Path) -> None:
    """Waivers of K8S-POD-001 with hostile ids and texts, expired before today but not before
    BACKDATED; the first covers everything (resource and target `*`)."""
    lines = ["waivers:"]
    for i, name in enumerate(HOSTILE):
        resource = "*" if i == 0 else f"Deployment/team-{i}{name}/dep{name}"
        lines += [
            f"  - id: {json.dumps(f'W{i}{name}')}",
            "    check: K8S-POD-001",
            f"    resource: {json.dumps(resource)}",
            *(['    target: "*"'] if i == 0 else []),
            f"    justification: {json.dumps(f'because {name} said so')}",
            f"    owner: {json.dumps(f'owner{name}')}",
            "    expires: 2020-01-01",
        ]
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("hostile")
    hostile_snapshot(base / "snap")
    hostile_waivers(base / "waivers.yaml")
    out = base / "out"
    run = kitemark(
        "run", "--cluster", f"snapshot:{base / 'snap'}", "--waivers", str(base / "waivers.yaml"),
        "--today", BACKDATED, "--out", str(out), "-n", "0", "--", "-rA", "-v",
    )  # fmt: skip
    again = base / "again"
    report = kitemark("report", str(out / "results.json"), "--out", str(again))
    return {"run": run, "out": out, "report": report, "again": again}


def flat(text: str) -> str:
    """Terminal text with rich's line wrapping undone."""
    return " ".join(text.split())


def test_the_run_assessed_the_hostile_names(runs: dict[str, Any]) -> None:
    proc = runs["run"]
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    document = json.loads((runs["out"] / "results.json").read_text())
    validate(document)
    resources = {f["resource"] for r in document["results"] for f in r["findings"]}
    assert f"Deployment/team-0{ESCAPES}/dep{ESCAPES}" in resources
    assert document["runs"][0]["today"] == BACKDATED
    # the backdated date revived the expired waivers
    assert any(f["status"] == "waived" for r in document["results"] for f in r["findings"])


@pytest.mark.parametrize("command", ["run", "report"])
def test_the_terminal_gets_no_control_characters(runs: dict[str, Any], command: str) -> None:
    proc = runs[command]
    for stream in (proc.stdout, proc.stderr):
        found = TERMINAL_CONTROLS.search(stream)
        assert found is None, (
            f"raw {found.group()!r} in: {stream[max(0, found.start() - 200) : found.end() + 50]}"
        )
        assert "MarkupError" not in stream and "Traceback" not in stream
    text = flat(proc.stdout)
    assert "\\x1b]0;pwned\\x07\\x1b[2J\\x1b[32mCOMPLIANT" in text, "shown as a visible escape"
    assert "W1[/bold]" in text and "\\u202eevil" in text and "a\\x00b\\x0cc" in text
    assert f"Waivers judged as of: {BACKDATED}" in text
    assert f"warning: this run judged waivers as of {BACKDATED} (--today), not the day it ran" in text
    assert "waives K8S-POD-001 for every resource of every target" in text


@pytest.mark.parametrize("folder", ["out", "again"])
def test_junit_parses_and_carries_the_warnings(runs: dict[str, Any], folder: str) -> None:
    path = runs[folder] / "junit.xml"
    root = ET.parse(path).getroot()
    try:
        from lxml import etree
    except ImportError:
        pass
    else:
        etree.parse(str(path))
    suite = root.find("testsuite")
    assert suite is not None
    props = [(p.get("name"), p.get("value") or "") for p in suite.iter("property")][:20]
    assert ("waivers_judged_on", BACKDATED) in props
    said = [value for name, value in props if name == "warning"]
    assert any(f"as of {BACKDATED} (--today)" in w for w in said)
    assert any("\\x1b]0;pwned" in w and "every resource of every target" in w for w in said)
    messages = " ".join(e.get("message") or "" for e in root.iter() if e.tag in ("failure", "skipped"))
    assert "\\x1b[2J" in messages and "\\u202eevil" in messages and "a\\x00b\\x0cc" in messages
    assert not TERMINAL_CONTROLS.search(path.read_text(encoding="utf-8"))


class _Bidi(HTMLParser):
    """Every text of the page that holds a bidi control, and whether it is inside a <bdi>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.outside: list[str] = []
        self.inside: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.depth += tag == "bdi"

    def handle_endtag(self, tag: str) -> None:
        self.depth -= tag == "bdi"

    def handle_data(self, data: str) -> None:
        if "\u202e" in data:
            (self.inside if self.depth > 0 else self.outside).append(data)


@pytest.mark.parametrize("folder", ["out", "again"])
def test_html_isolates_bidi_text_and_holds_no_control_characters(runs: dict[str, Any], folder: str) -> None:
    page = (runs[folder] / "compliance.html").read_text(encoding="utf-8")
    found = HTML_FORBIDDEN.search(page)
    assert found is None, page[max(0, found.start() - 200) : found.end() + 50]
    parser = _Bidi()
    parser.feed(page)
    assert parser.inside, "the bidi names are shown"
    assert parser.outside == []
    assert "\\x1b]0;pwned\\x07\\x1b[2J" in page and "a\\x00b\\x0cc" in page
    # the warnings sit right under the verdict, before the summary
    warned = page.index('id="warnings"')
    assert page.index('id="verdict"') < warned < page.index('id="summary"')
    box = page[warned : page.index("</div>", warned)]
    assert f"as of {BACKDATED} (--today)" in box and "every resource of every target" in box
    assert f'<p id="judged-on">Waivers judged as of <time>{BACKDATED}</time>' in page
    assert len(re.findall('<tr [^>]*class="everything"', page)) == 1
    assert "Waives every resource of every target" in page


TEMPLATE = """apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: k8srequiredteam
spec:
  crd:
    spec:
      names:
        kind: K8sRequiredTeam
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package k8srequiredteam

        violation[{"msg": msg}] {
          not input.review.object.metadata.labels.team
          msg := sprintf("%v has no team label", [input.review.object.metadata.name])
        }
"""
CONSTRAINT = """apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sRequiredTeam
metadata:
  name: c
spec:
  match: {}
"""


def test_gator_case_names_reach_every_output_as_visible_escapes(tmp_path: Path) -> None:
    """Gatekeeper suite cases named with escapes, failing (a wrong assertion) so their names are in the
    failure text of every output."""
    root = tmp_path / "policies"
    root.mkdir()
    (root / "template.yaml").write_text(TEMPLATE)
    (root / "constraint.yaml").write_text(CONSTRAINT)
    cases = ""
    for i, name in enumerate(HOSTILE):
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"pod{name}", "namespace": "a"}}
        (root / f"pod{i}.yaml").write_text(json.dumps(pod))
        cases += (
            f"      - name: {json.dumps(f'case{name}')}\n        object: pod{i}.yaml\n"
            "        assertions: [{violations: no}]\n"
        )
    (root / "suite.yaml").write_text(
        "kind: Suite\napiVersion: test.gatekeeper.sh/v1alpha1\nmetadata:\n  name: s\ntests:\n"
        "  - name: labels\n    template: template.yaml\n    constraint: constraint.yaml\n    cases:\n" + cases
    )
    out = tmp_path / "out"
    proc = kitemark("run", "--policies", str(root), "--out", str(out), "-n", "0", "--", "-rA")
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    document = json.loads((out / "results.json").read_text())
    failed = {f["resource"] for r in document["results"] for f in r["findings"] if f["status"] == "failed"}
    assert any(ESCAPES in resource for resource in failed), failed
    assert not TERMINAL_CONTROLS.search(proc.stdout + proc.stderr)
    assert "case\\x1b]0;pwned" in proc.stdout
    root_xml = ET.parse(out / "junit.xml").getroot()
    assert "case\\x1b]0;pwned" in " ".join(e.get("message") or "" for e in root_xml.iter("failure"))
    page = (out / "compliance.html").read_text(encoding="utf-8")
    assert not HTML_FORBIDDEN.search(page) and "case\\x1b]0;pwned" in page


def test_usage_errors_naming_hostile_text_are_one_clean_line(tmp_path: Path) -> None:
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(f"waivers:\n  - id: {json.dumps(ESCAPES)}\n    check: K8S-NS-001\n    resource: x\n")
    snapshot = tmp_path / "snap"
    hostile_snapshot(snapshot)
    proc = kitemark("run", "--cluster", f"snapshot:{snapshot}", "--waivers", str(waivers), "-n", "0")
    assert proc.returncode == 2
    assert "\\x1b]0;pwned\\x07\\x1b[2J" in proc.stdout + proc.stderr
    assert not TERMINAL_CONTROLS.search(proc.stdout + proc.stderr)
    missing = tmp_path / f"gone{ESCAPES}" / "results.json"
    proc = kitemark("report", str(missing))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert not TERMINAL_CONTROLS.search(proc.stderr) and "gone\\x1b]0;pwned" in proc.stderr


def sample() -> dict[str, Any]:
    return migrate_v1(json.loads(SAMPLE.read_text()))


def test_markup_in_names_is_text_in_the_summary(tmp_path: Path) -> None:
    document = sample()
    document["waivers"]["entries"].append(
        {**document["waivers"]["entries"][0], "id": "[/bold]", "used": False, "matched": []}
    )
    shown = next(r for r in document["frameworks"][0]["requirements"] if r["verdict"] != "manual")
    shown["title"] = "[red]x[/red] [/]"
    document["runs"][0]["selection"]["text"] = ESCAPES
    for color in (False, True):
        text = render_summary(document, tmp_path, color=color)
        assert "[/bold]" in text and "[red]x[/red] [/]" in text
        assert "\x1b]" not in text and "\x07" not in text


def test_documents_without_the_date_still_render() -> None:
    document = sample()
    assert "today" not in document["runs"][0]
    assert judged_on(document) is None and warnings(document) == []
    assert "Waivers judged as of a date the results document does not record" in render_html(document)
    root = ET.fromstring(render_junit(document))
    assert ("waivers_judged_on", "not recorded") in [
        (p.get("name"), p.get("value")) for p in root.iter("property")
    ]


def test_only_another_day_than_the_run_is_a_warning() -> None:
    document = sample()
    run = document["runs"][0]
    run["today"] = run["started"][:10]
    assert judged_on(document) == run["today"] and warnings(document) == []
    run["today"] = "2999-01-01"
    assert warnings(document) == [
        f"this run judged waivers as of 2999-01-01 (--today), not the day it ran ({run['started'][:10]}): "
        "a waiver that expires between those dates already counted as expired"
    ]


def test_merged_runs_keep_each_date() -> None:
    first, second = sample(), sample()
    half = len(first["results"]) // 2
    first["results"], second["results"] = first["results"][:half], second["results"][half:]
    first["runs"][0]["today"] = ran = first["runs"][0]["started"][:10]
    second["runs"][0].update(id="second-run", today=BACKDATED)
    merged = merge([("a", decide(first)), ("b", decide(second))])
    assert judged_on(merged) == f"{ran} (run {first['runs'][0]['id'][:8]}); {BACKDATED} (run second-r)"
    assert warnings(merged)[0].startswith(f"run second-r judged waivers as of {BACKDATED} (--today)")
    assert f"as of {BACKDATED} (--today)" in render_html(merged)


@pytest.mark.parametrize(
    ("resource", "target", "everything"),
    [
        ("*", "*", True),
        ("*", None, True),
        ("**", "**", True),
        ("*", "cluster:*", False),
        ("Namespace/*", "*", False),
        ("?*", "*", True),  # any glob matching every name, however spelled
        ("[!]]*", "?*", True),
        ("*", "*:*", True),
        ("*/*", "*", False),
    ],
)
def test_a_waiver_of_everything_is_recognised(resource: str, target: str | None, everything: bool) -> None:
    assert covers_everything({"check": "C", "resource": resource, "target": target}) is everything


def test_the_text_functions_keep_text_recognisable() -> None:
    every = "".join(chr(c) for c in range(0x20)) + "\x7f\x85\x9b\ud800\ufffe\uffff\u202e ok"
    element = ET.fromstring(f"<a b='{for_xml(every)}'>{for_xml(every)}</a>")
    assert element.text is not None and element.text.endswith("\\u202e ok")
    assert for_xml("tab\tline\nok") == "tab\tline\nok"
    assert for_terminal("\x1b[2J\tnext\nline\r") == "\\x1b[2J\tnext\nline\\x0d"
    assert for_terminal("a\nb", one_line=True) == "a\\x0ab"
    assert for_rich("[/bold]\x07") == "\\[/bold]\\x07"


def test_controls_shows_markup_and_escapes_in_config_as_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from kitemark.reports.controls import print_controls

    framework = {
        "id": "own",
        "name": f"Own {ESCAPES} [/bold]",
        "requirements": [{"id": "1", "title": f"t{ESCAPES}", "checks": ["K8S-NS-001"]}],
    }
    (tmp_path / "own.yaml").write_text(json.dumps(framework))
    config = tmp_path / "kitemark.yaml"
    config.write_text('inputs:\n  business_units: ["[/bold]", "HQ"]\nframeworks:\n  - own.yaml\n')
    shown = {}
    for fmt in ("table", "markdown"):
        assert print_controls(fmt, str(config)) == 0
        shown[fmt] = capsys.readouterr().out
        assert not TERMINAL_CONTROLS.search(shown[fmt])
        assert "\\x1b]0;pwned" in shown[fmt]
    assert '["[/bold]", "HQ"]' in shown["table"] and "[/bold]" in flat(shown["table"])


def test_a_report_away_from_its_inventories_notes_them_cleanly(runs: dict[str, Any], tmp_path: Path) -> None:
    lone = tmp_path / f"lone{ESCAPES}"
    lone.mkdir()
    (lone / "results.json").write_bytes((runs["out"] / "results.json").read_bytes())
    proc = kitemark("report", str(lone / "results.json"))
    assert proc.returncode == 1, proc.stderr
    assert "kitemark: note: the saved inventory of" in proc.stderr and "lone\\x1b]0;pwned" in proc.stderr
    assert not TERMINAL_CONTROLS.search(proc.stdout + proc.stderr)


def test_a_newline_in_a_file_name_cannot_fake_a_line_of_the_log(tmp_path: Path) -> None:
    snap = tmp_path / "snap"
    snap.mkdir()
    (snap / "ns.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\n")
    (snap / "x\n\nVerdict: COMPLIANT\n.yaml").write_text("a: [")
    proc = kitemark("run", "-n", "0", "--cluster", f"snapshot:{snap}", "--out", str(tmp_path / "out"))
    verdicts = [line for line in proc.stdout.splitlines() if line.startswith("Verdict:")]
    assert verdicts == ["Verdict: NOT COMPLIANT"], proc.stdout


def test_unicode_line_separators_are_escaped_too() -> None:
    for text in (for_terminal("a\u2028Verdict: COMPLIANT"), for_xml("a\u2029b")):
        assert "\u2028" not in text and "\u2029" not in text and len(text.splitlines()) == 1


def test_a_waiver_matching_everything_the_run_assessed_is_warned_about() -> None:
    """`*/*` is not `*`, but on cluster resources (`Kind/ns/name`) it waives as much."""

    def result(resource: str) -> dict[str, Any]:
        return {"check_id": "K8S-POD-001", "target": "cluster:c", "findings": [{"resource": resource}]}

    document: dict[str, Any] = {
        "results": [result("Deployment/team-a/web"), result("Pod/team-b/job")],
        "waivers": {
            "entries": [
                {"id": "W1", "check": "K8S-POD-001", "resource": "*/*", "target": None},
                {"id": "W2", "check": "K8S-POD-001", "resource": "Deployment/*", "target": None},
            ]
        },
    }
    found = warnings(document)
    assert len(found) == 1 and found[0].startswith("waiver W1 waives K8S-POD-001 for every resource it was")


def test_controls_markdown_keeps_one_cell_per_column_whatever_the_text() -> None:
    """A `|` or a newline in a framework title, a description or a config value must not add columns
    or end a row of `kitemark controls --format markdown`."""
    from kitemark.reports.controls import markdown

    data = {
        "checks": [{"id": "X-1", "kind": "cluster", "severity": "high", "title": "a | b\nc", "controls": []}],
        "inputs": [{"name": "n", "used_by": ["X-1"], "description": "d|e", "default": ["x|`y`"]}],
        "frameworks": [
            {
                "name": "F | G",
                "requirements": [
                    {
                        "control": "1",
                        "title": "t|u",
                        "manual": False,
                        "checks": ["X-1"],
                        "manual_evidence": "",
                    }
                ],
            }
        ],
    }
    rows = [line for line in markdown(data).splitlines() if line.startswith("| ") and "---" not in line]
    for line in rows:
        cells = [c for c in line.replace("\\|", "").split("|")[1:-1]]
        assert len(cells) in (3, 4, 5), line
    assert "a \\| b c" in markdown(data)
    assert "## F \\| G" in markdown(data)
