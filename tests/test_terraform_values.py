"""The static evaluator for Terraform expressions as python-hcl2 returns them."""

from __future__ import annotations

from typing import Any

import hcl2
import pytest

from kitemark.targets.terraform.hcl_values import Evaluator, PartialMap, Unknown, expression_text, strip_meta


def module(text: str) -> tuple[Evaluator, dict[str, Any]]:
    """The evaluator of a one-file module, and its `locals` as raw python-hcl2 values."""
    parsed = hcl2.loads(text, with_meta=True)
    variables = {n: b for entry in parsed.get("variable", []) for n, b in strip_meta(entry).items()}
    locals_ = {k: v for block in parsed.get("locals", []) for k, v in strip_meta(block).items()}
    return Evaluator(variables, locals_), locals_


SOURCE = """
variable "business_unit" {
  default = "HQ"
}
variable "team_name" {
  type = string
}
variable "extra" {
  type    = map(string)
  default = { cost-centre = "42" }
}
variable "flags" {
  default = { on = true }
}
locals {
  base = {
    business-unit = var.business_unit
    owner         = var.team_name
  }
  merged   = merge(local.base, { application = "app-${var.business_unit}" }, var.extra)
  partial  = merge(local.base, var.team_name, { namespace = "ns" })
  forexpr  = { for k, v in var.extra : k => upper(v) }
  cond     = var.flags.on ? "yes" : "no"
  cond_map = var.team_name == "x" ? { a = "1" } : { b = 2 }
  escaped  = "$${not.interpolated}"
  nested   = "a ${"b ${var.business_unit}"} c"
  fn       = jsondecode("{}")
  cycle_a  = local.cycle_b
  cycle_b  = local.cycle_a
  computed = { (var.team_name) = "v" }
  index    = var.extra["cost-centre"]
  arith    = (1 + 2) * 3 - 4 / 2
  lookups  = lookup(var.extra, "missing", "fallback")
  lowered  = lower(coalesce("", "ABC"))
  listed   = concat(["a"], ["b", var.business_unit])
  splat    = aws_s3_bucket.b[*].id
  resource = aws_kms_key.k.arn
}
"""


@pytest.fixture(scope="module")
def values() -> dict[str, Any]:
    ev, locals_ = module(SOURCE)
    return {name: ev.value(raw) for name, raw in locals_.items()}


def test_literal_maps_variables_and_merge(values: dict[str, Any]) -> None:
    merged = values["merged"]
    assert isinstance(merged, dict)
    assert set(merged) == {"business-unit", "owner", "application", "cost-centre"}
    assert merged["business-unit"] == "HQ"
    assert merged["application"] == "app-HQ"
    # a variable without a default leaves the key in place with an unknown value
    assert isinstance(merged["owner"], Unknown) and "var.team_name" in merged["owner"].reason


def test_merge_with_an_unknown_map_keeps_known_keys(values: dict[str, Any]) -> None:
    partial = values["partial"]
    assert isinstance(partial, PartialMap)
    assert set(partial.known) == {"business-unit", "owner", "namespace"}
    assert any("var.team_name" in u.reason and "no default" in u.reason for u in partial.unresolved)


def test_unevaluable_expressions_are_unknown_with_a_reason(values: dict[str, Any]) -> None:
    assert "for" in values["forexpr"].reason
    assert "jsondecode" in values["fn"].reason
    assert "refers to itself" in values["cycle_a"].reason
    assert "splat" in values["splat"].reason
    assert "aws_kms_key.k.arn" in values["resource"].reason
    assert isinstance(values["cond_map"], Unknown)
    assert isinstance(values["computed"], PartialMap) and values["computed"].known == {}


def test_operators_functions_and_templates(values: dict[str, Any]) -> None:
    assert values["cond"] == "yes"
    assert values["escaped"] == "${not.interpolated}"
    assert values["nested"] == "a b HQ c"
    assert values["index"] == "42"
    assert values["arith"] == 7
    assert values["lookups"] == "fallback"
    assert values["lowered"] == "abc"
    assert values["listed"] == ["a", "b", "HQ"]


def test_python_repr_objects_in_conditionals_are_read() -> None:
    # python-hcl2 7.x writes the object literals of a conditional as Python reprs: {'x': '1'}.
    ev, locals_ = module('locals {\n  on = true\n  m = local.on ? { x = "1", y = true } : { z = 2 }\n}\n')
    assert "'x'" in locals_["m"]
    assert ev.value(locals_["m"]) == {"x": "1", "y": True}


def test_expression_text_for_messages() -> None:
    assert expression_text("${merge(local.a, var.b)}") == "merge(local.a, var.b)"
    assert expression_text("plain") == '"plain"'
    assert expression_text({"a": 1}) == "{'a': 1}"


# ------------------------------------------------------------------------------------ template keys

KEYS = """
variable "name" {
  default = "main"
}
variable "unset" {
  type = string
}
locals {
  literal   = { "kubernetes.io/cluster/${var.name}" = "owned", owner = "me" }
  in_merge  = merge({ "kubernetes.io/cluster/${var.name}" = "owned" },
                    { "p-${var.name}-q" = 1, "${var.name}" = 2 })
  in_cond   = true ? { "kubernetes.io/role/${var.name}" = "1" } : {}
  unknown   = merge({ "kubernetes.io/cluster/${var.unset}" = "owned" }, { owner = "me" })
  attribute = { "kubernetes.io/cluster/${var.unset}" = "owned", owner = "me" }
  paren     = { (var.name) = "v", (var.unset) = "w" }
}
"""


@pytest.fixture(scope="module")
def keys() -> dict[str, Any]:
    ev, locals_ = module(KEYS)
    return {name: ev.value(raw) for name, raw in locals_.items()}


def test_template_keys_with_known_parts_resolve(keys: dict[str, Any]) -> None:
    assert keys["literal"] == {"kubernetes.io/cluster/main": "owned", "owner": "me"}
    assert keys["in_merge"] == {"kubernetes.io/cluster/main": "owned", "p-main-q": 1, "main": 2}
    assert keys["in_cond"] == {"kubernetes.io/role/main": "1"}


@pytest.mark.parametrize("name", ["unknown", "attribute"])
def test_an_unknown_template_key_leaves_the_known_keys_known(keys: dict[str, Any], name: str) -> None:
    value = keys[name]
    assert isinstance(value, PartialMap)
    assert value.known == {"owner": "me"}
    assert "var.unset" in value.reason
    # The unknown key keeps its shape: it may be `kubernetes.io/cluster/<anything>`, never `owner-x`.
    assert value.may_contain("kubernetes.io/cluster/prod")
    assert not value.may_contain("business-unit")


def test_a_parenthesised_key_is_an_expression(keys: dict[str, Any]) -> None:
    value = keys["paren"]
    assert isinstance(value, PartialMap) and value.known == {"main": "v"}
    assert value.may_contain("anything")  # `(var.unset)` could be any key


def test_an_unknown_map_may_contain_any_key() -> None:
    ev, locals_ = module(
        'variable "x" {\n  type = map(string)\n}\nlocals {\n  m = merge({ a = 1 }, var.x)\n}\n'
    )
    value = ev.value(locals_["m"])
    assert isinstance(value, PartialMap) and value.may_contain("owner")


def test_try_can_flatten_and_compact() -> None:
    ev, locals_ = module(
        """
variable "sse" {
  default = {}
}
variable "set" {
  default = { rule = { algorithm = "aws:kms" } }
}
variable "unset" {
  type = any
}
locals {
  missing  = try(flatten([var.sse["rule"]]), [])
  present  = try(flatten([var.set["rule"]]), [])
  unknown  = try(var.unset.rule, [])
  can_miss = can(var.sse.rule)
  can_have = can(var.set.rule)
  compact  = compact(["a", "", null, "b"])
  nested   = flatten([["a", ["b"]], "c"])
}
"""
    )
    values = {name: ev.value(raw) for name, raw in locals_.items()}
    assert values["missing"] == []
    assert values["present"] == [{"algorithm": "aws:kms"}]
    assert isinstance(values["unknown"], Unknown) and "var.unset" in values["unknown"].reason
    assert values["can_miss"] is False and values["can_have"] is True
    assert values["compact"] == ["a", "b"]
    assert values["nested"] == ["a", "b", "c"]
