"""Heads and task models (training world)."""
