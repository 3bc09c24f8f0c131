"""MODEL_CARD.md's shared shape, in the Hugging Face model-card format: YAML front matter, title,
disclaimer, then `## sections`. Each task supplies its own front matter and sections from its run's
report, so every bundle's card reads the same way whatever the task."""

from __future__ import annotations

from typing import Any

import yaml

Section = tuple[str, list[str]]


def render_card(front_matter: dict[str, Any], title: str, disclaimer: str, sections: list[Section]) -> str:
    lines = ["---", yaml.safe_dump(front_matter, sort_keys=False).strip(), "---", "", f"# {title}", "", f"> **{disclaimer}**"]
    for heading, body in sections:
        lines += ["", f"## {heading}", *body]
    return "\n".join(lines) + "\n"
