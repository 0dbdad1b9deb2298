"""Checks of the aws target kind."""
