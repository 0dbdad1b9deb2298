"""Checks of the terraform target kind."""
