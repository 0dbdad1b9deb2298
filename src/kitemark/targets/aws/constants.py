"""AWS names shared by the collector, the views, the demo and the checks: one definition each."""

from __future__ import annotations

DEFAULT_REGION = "eu-west-2"
# The four S3 Block Public Access settings, at account (s3control) and bucket (s3) level alike.
PUBLIC_ACCESS_SETTINGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
# The EKS control-plane log types, in the order the EKS API lists them.
EKS_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
# What to install for a seed (--aws-seed, the demo): moto is the optional `demo` extra.
NEEDS_MOTO = "the embedded AWS (--aws-seed, the demo) needs moto: pip install 'kitemark[demo]'"
