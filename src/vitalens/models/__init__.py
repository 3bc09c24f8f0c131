"""Trainable models (training world: torch allowed)."""
