"""Kitemark: compliance evidence for Kubernetes, Rego, Terraform and AWS platforms, as pytest suites.

PYTEST_DONT_REWRITE: checks report findings rather than asserting, and the `kitemark` command imports
this package before pytest starts, so assertion rewriting would only warn.
"""

__version__ = "0.1.0"
