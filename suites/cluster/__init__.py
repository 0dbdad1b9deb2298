"""Checks of the cluster target kind."""
