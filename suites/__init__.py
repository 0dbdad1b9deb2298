"""Kitemark's compliance checks: one sub-package per target kind, one module per topic.

Each check is a ``@check``-decorated function (``kitemark.core.checks``) over one scope unit's view;
helpers shared by the checks of one kind live beside them in that kind's package.
"""
