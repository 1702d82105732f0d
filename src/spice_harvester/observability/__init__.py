"""Logging set-up shared by every process."""
