"""Widgets of the tutor app."""
