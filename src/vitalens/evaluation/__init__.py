"""Honest evaluation: grouped splits, metrics with the baseline beside them, disaggregated audits."""
