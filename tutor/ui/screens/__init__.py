"""Screens of the tutor app."""
