"""The Rego engine interface and its regorus implementation (kitemark.engines.rego)."""

from __future__ import annotations

import pytest

from kitemark.engines.rego import (
    UNDEFINED,
    V0,
    V1,
    RegoEvalError,
    RegorusEngine,
    RegoSyntaxError,
    create_engine,
    rule_ref,
)

V1_POLICY = """package demo.v1
import rego.v1

deny contains msg if {
    input.kind == "Service"
    msg := "no"
}
"""

V0_POLICY = """package demo.v0

deny[msg] {
    input.kind == "Service"
    msg := "no"
}
"""


def test_version_is_detected_v1_by_import_or_first_try_and_v0_as_fallback() -> None:
    engine = create_engine()
    assert engine.parse("a.rego", V1_POLICY).version == V1
    assert engine.parse("b.rego", "package p\nallow if true\n").version == V1
    assert engine.parse("c.rego", V0_POLICY).version == V0


def test_v0_syntax_under_import_rego_v1_is_an_error_not_a_fallback() -> None:
    source = "package p\nimport rego.v1\n\nallow { true }\n"
    with pytest.raises(RegoSyntaxError) as info:
        create_engine().parse("p.rego", source)
    assert (info.value.path, info.value.line) == ("p.rego", 4)


def test_syntax_error_is_one_line_with_file_line_and_column() -> None:
    source = "package p\nimport rego.v1\n\nallow if {\n    x := \n}\n"
    with pytest.raises(RegoSyntaxError) as info:
        create_engine().parse("dir/p.rego", source)
    err = info.value
    assert err.path == "dir/p.rego"
    assert err.line == 5 and err.col == 7
    assert str(err).startswith("dir/p.rego:5:7: ")
    assert "\n" not in str(err) and "backtrace" not in str(err).lower()


def test_syntax_error_in_a_v0_file_is_reported_where_it_is() -> None:
    # v1 fails on the first rule (missing `if`); the real typo is further down, and v0 finds it.
    source = "package p\n\nok { true }\n\nbroken { x := }\n"
    with pytest.raises(RegoSyntaxError) as info:
        create_engine().parse("p.rego", source)
    assert info.value.line == 5


def test_test_rules_are_found_in_the_parse_tree() -> None:
    source = """package a["b-c"]
import rego.v1

test_one if true
test_one if false
default test_two := false
test_two if true
test_helper(x) := x
todo := 1
not_a_test if true
test_parts contains 1
default test_three := true
test_four if {
  true
}
"""
    module = create_engine().parse("t_test.rego", source)
    assert module.package == ("a", "b-c")
    # Each body of a name is a test of its own; a default goes with the bodies of its name (a test only
    # when there are none); functions and incremental `contains` rules are not tests.
    assert [(r.name, r.line, r.end_line) for r in module.test_rules] == [
        ("test_one", 4, 4),
        ("test_one", 5, 5),
        ("test_two", 7, 7),
        ("test_three", 12, 12),
        ("test_four", 13, 15),
    ]
    first = module.test_rules[0]
    assert source.encode()[slice(*first.name_span)] == b"test_one"
    assert source.encode()[slice(*first.span)] == b"test_one if true"
    assert module.package_ref == 'data.a["b-c"]'


def test_eval_rule_tells_true_false_null_and_undefined_apart() -> None:
    engine = create_engine()
    engine.add_policy("p.rego", "package p\nt := true\nf := false\nn := null\nu if false\n", V1)
    assert engine.eval_rule("data.p.t") is True
    assert engine.eval_rule("data.p.f") is False
    assert engine.eval_rule("data.p.n") is None
    assert engine.eval_rule("data.p.u") is UNDEFINED
    assert engine.eval_rule("data.p.no_such_rule") is UNDEFINED


def test_sets_of_objects_come_back_as_json_lists() -> None:
    engine = create_engine()
    engine.add_policy("p.rego", V0_POLICY, V0)
    engine.add_policy("q.rego", 'package q\nviolation[{"msg": m}] { m := input.msg }\n', V0)
    assert engine.eval_rule("data.demo.v0.deny", input={"kind": "Service"}) == ["no"]
    assert engine.eval_rule("data.q.violation", input={"msg": "hi"}) == [{"msg": "hi"}]


def test_input_of_one_evaluation_does_not_leak_into_the_next() -> None:
    engine = create_engine()
    engine.add_policy("p.rego", "package p\nkind := input.kind\n", V1)
    assert engine.eval_rule("data.p.kind", input={"kind": "Pod"}) == "Pod"
    assert engine.eval_rule("data.p.kind") is UNDEFINED


def test_v0_and_v1_modules_load_into_one_engine() -> None:
    engine = create_engine()
    engine.add_policy("v0.rego", V0_POLICY, V0)
    engine.add_policy("v1.rego", V1_POLICY, V1)
    assert engine.eval_rule("data.demo.v0.deny", input={"kind": "Service"}) == ["no"]
    assert engine.eval_rule("data.demo.v1.deny", input={"kind": "Service"}) == ["no"]


def test_evaluation_errors_carry_the_rule_location() -> None:
    engine = create_engine()
    engine.add_policy("p.rego", "package p\nimport rego.v1\n\nx := y if { y := [1, 2][_] }\n", V1)
    with pytest.raises(RegoEvalError) as info:
        engine.eval_rule("data.p.x")
    assert (info.value.path, info.value.line) == ("p.rego", 4)
    assert "multiple outputs" in info.value.message
    with pytest.raises(RegoEvalError):
        engine.eval_query('to_number("not a number")')


def test_copy_takes_its_own_data() -> None:
    base = create_engine()
    base.add_policy("p.rego", "package p\nhosts := data.inventory.hosts\n", V1)
    copy = base.copy()
    copy.add_data({"inventory": {"hosts": ["a"]}})
    assert copy.eval_rule("data.p.hosts") == ["a"]
    assert base.eval_rule("data.p.hosts") is UNDEFINED


def test_eval_query_returns_bindings_for_every_solution() -> None:
    results = create_engine().eval_query("x := [1, 2][_]")
    assert [r["bindings"]["x"] for r in results] == [1, 2]


def test_prints_are_gathered_not_written_to_stderr() -> None:
    engine = create_engine()
    engine.add_policy("p.rego", 'package p\nimport rego.v1\nt if { print("seen", input.n) }\n', V1)
    assert engine.eval_rule("data.p.t", input={"n": 3}) is True
    assert engine.take_prints() == ["p.rego:3: seen 3"]


def test_rule_ref_quotes_segments_that_are_not_identifiers() -> None:
    assert rule_ref(("lib", "k8s-util"), "test_x") == 'data.lib["k8s-util"].test_x'


def test_unknown_engine_is_refused() -> None:
    assert isinstance(create_engine("regorus"), RegorusEngine)
    with pytest.raises(ValueError, match="unknown Rego engine"):
        create_engine("nope")


def test_a_builtin_the_engine_lacks_is_named_as_the_engines_gap_not_the_policys() -> None:
    engine = create_engine()
    engine.add_policy("p.rego", 'package p\nimport rego.v1\n\nok if re_match("a", "abc")\n', V1)
    with pytest.raises(RegoEvalError) as info:
        engine.eval_rule("data.p.ok")
    assert "could not find function re_match" in info.value.message
    assert "regorus, does not provide the builtin re_match; OPA does" in info.value.message
