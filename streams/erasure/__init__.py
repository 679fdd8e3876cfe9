"""Erasing a person everywhere."""
