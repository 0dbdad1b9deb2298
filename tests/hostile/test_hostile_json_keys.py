"""A key repeated in one JSON object is an input error naming the file and the key's object, never
last-one-wins, in every JSON file Kitemark reads: cluster snapshots, ``data.json`` beside policies,
``results.json`` (``kitemark report``/``merge``) and its own manifest. YAML already refuses them."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from kitemark.core import json_keys, jsonio
from kitemark.core.errors import UsageError
from kitemark.core.kinds import TargetSpec
from kitemark.targets.cluster import collect as cluster
from kitemark.targets.policies import collect as policies

SECRET = "Pr0dS3cret"
NAMESPACE = '{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}}'


def collect_cluster(root: Path) -> dict[str, Any]:
    return cluster.collect(TargetSpec("cluster", "snap", str(root)))


def test_a_later_kind_never_turns_a_json_namespace_into_a_secret(tmp_path: Path) -> None:
    (tmp_path / "ns.json").write_text(
        '{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-b"},'
        f' "kind": "Secret", "data": {{"password": "{SECRET}"}}}}'
    )
    (tmp_path / "good.json").write_text(NAMESPACE)
    inventory = collect_cluster(tmp_path)
    [error] = inventory["errors"]
    assert error["path"] == "ns.json" and error["message"] == "invalid JSON: found duplicate key 'kind'"
    assert [o["metadata"]["name"] for o in inventory["objects"]] == ["team-a"], "the other file is read"


def test_the_error_names_the_object_of_the_repeated_key_never_a_value(tmp_path: Path) -> None:
    items = [json.loads(NAMESPACE), {"kind": "Namespace", "metadata": {"name": "team-b", "labels": "X"}}]
    text = json.dumps({"apiVersion": "v1", "kind": "List", "items": items})
    text = text.replace('"labels": "X"', f'"labels": {{"owner": "{SECRET}", "owner": "me"}}')
    (tmp_path / "list.json").write_text(text)
    [error] = collect_cluster(tmp_path)["errors"]
    assert error["message"] == "invalid JSON: found duplicate key 'owner' in items[1].metadata.labels"
    assert SECRET not in error["message"]


@pytest.mark.parametrize(
    ("text", "repeated"),
    [
        ('{"a\\u003a": 1, "a:": 2}', "a:"),  # the same key, spelled with an escaped colon
        ('{"x": "\\u003a\\u003A", "b": {"c": 1, "c": 2}}', "c"),  # escapes make up for the lost colon
        ('{"a": 1, "\\u0061": 2}', "a"),
        ('{"a": {"k": ":"}, "a": {}}', "a"),
        ('[{"a": 1}, [{"b": [], "b": []}]]', "b"),
    ],
)
def test_a_key_spelled_another_way_is_still_the_same_key(text: str, repeated: str) -> None:
    with pytest.raises(jsonio.InvalidJSON, match=f"found duplicate key {repeated!r}"):
        jsonio.load_document(text)
    with pytest.raises(jsonio.InvalidJSON, match=f"found duplicate key {repeated!r}"):
        jsonio.load_document(text.encode())


@pytest.mark.parametrize(
    "text",
    ['{"a\\u003a": 1, "b": "c\\u003A:"}', '{"a": "\\\\u003a"}', '{"a:b": {"c": "d:e"}, "f": [":"]}', "{}"],
)
def test_colons_and_escapes_without_a_repeated_key_are_read(text: str) -> None:
    assert jsonio.load_document(text) == json.loads(text)


def _random_json(rng: random.Random, depth: int = 0) -> str:
    """JSON text with keys drawn from a few spellings of a few names (escaped colons included), so
    objects sometimes repeat a key, and strings with colons: the fast check's hard cases."""
    roll = rng.random()
    if depth > 3 or roll < 0.3:
        return rng.choice(['"v"', '":"', '"\\u003a"', '"\\\\u003a"', "1", "null", "[]"])
    if roll < 0.5:
        return "[" + ", ".join(_random_json(rng, depth + 1) for _ in range(rng.randrange(4))) + "]"
    keys = ['"a"', '"\\u0061"', '"a:"', '"a\\u003a"', '"a\\u003A"', '"b"', '"\\\\u003a"', '":"']
    members = [f"{rng.choice(keys)}: {_random_json(rng, depth + 1)}" for _ in range(rng.randrange(4))]
    return "{" + ", ".join(members) + "}"


def _has_repeat(text: str) -> bool:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        if len({k for k, _ in pairs}) != len(pairs):
            raise KeyError("repeat")
        return dict(pairs)

    try:
        json.loads(text, object_pairs_hook=hook)
    except KeyError:
        return True
    return False


def test_the_fast_check_agrees_with_a_full_parse_on_random_documents() -> None:
    rng = random.Random(6)
    repeats = 0
    for _ in range(3000):
        text = _random_json(rng)
        expected = _has_repeat(text)
        repeats += expected
        if expected:
            with pytest.raises(jsonio.InvalidJSON, match="found duplicate key"):
                jsonio.load_document(text)
        else:
            assert jsonio.load_document(text) == json.loads(text), text
    assert 300 < repeats < 2700, "both kinds of document were tried"


def test_the_fast_check_is_sure_of_an_ordinary_document() -> None:
    text = json.dumps({"items": [{"metadata": {"name": "a:b", "annotations": {"x": "\u003a"}}}] * 3})
    assert json_keys.unchanged_keys(text, jsonio.dumps(json.loads(text)))


# --------------------------------------------------------------------- other JSON files Kitemark reads


def test_a_repeated_key_in_a_data_json_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "data.json").write_text(f'{{"registry": "{SECRET}", "registry": "ok"}}')
    (tmp_path / "a" / "x_test.rego").write_text("package a\n\ntest_x if { true }\n")
    inventory = policies.collect(TargetSpec("policies", "p", str(tmp_path)))
    [error] = inventory["errors"]
    assert error["path"] == "a/data.json"
    assert error["message"] == "invalid JSON data: invalid JSON: found duplicate key 'registry'"


def test_a_repeated_key_in_a_results_document_is_refused(tmp_path: Path) -> None:
    from kitemark.cli import _read

    path = tmp_path / "results.json"
    path.write_text('{"schema_version": "2.0", "summary": {"verdict": "no", "verdict": "compliant"}}')
    with pytest.raises(UsageError) as raised:
        _read(path)
    assert str(raised.value) == f"{path}: not JSON (invalid JSON: found duplicate key 'verdict' in summary)"


def test_a_repeated_key_in_the_manifest_is_refused(tmp_path: Path) -> None:
    from kitemark.outfolder import MANIFEST, _read_manifest

    (tmp_path / MANIFEST).write_text('{"files": ["results.json"], "complete": false, "complete": true}')
    with pytest.raises(UsageError, match=r"not a Kitemark manifest .*duplicate key 'complete'"):
        _read_manifest(tmp_path)


@pytest.mark.parametrize(
    ("reader", "text"),
    [
        ("waivers", '{"waivers": [], "waivers": [{"check": "K8S-NET-001"}]}'),
        ("kitemark.yaml", '{"inputs": {"business_units": ["HQ"], "business_units": ["X"]}}'),
    ],
)
def test_kitemarks_own_files_written_as_json_refuse_a_repeated_key(
    tmp_path: Path, reader: str, text: str
) -> None:
    """Read as YAML (JSON is YAML): the YAML reader's refusal holds for them."""
    from kitemark.core.config import load_config
    from kitemark.verdicts.waivers import load_waivers

    path = tmp_path / "file.json"
    path.write_text(text)
    with pytest.raises(UsageError, match="duplicate key"):
        {"waivers": load_waivers, "kitemark.yaml": load_config}[reader](path)
