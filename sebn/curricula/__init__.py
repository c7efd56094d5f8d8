"""Curricula: what the student trains on next (the registry names them all)."""
