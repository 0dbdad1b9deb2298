"""Checks of the policies target kind."""
