"""Skin-condition task helpers: lighting verdicts, skin tone (ITA°), near-duplicate grouping."""
