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


SITE_CHECK_HEADING = "Input gate (site check)"


def with_site_check(card: str, check: dict[str, Any]) -> str:
    """The card with its site-check section (threshold and the rates it was chosen at) added or replaced,
    before "How to run it" when the card has that section."""
    chosen = check["chosen"]
    body = [f"Before the model runs, a learned check (`vitalens.site_check`) asks whether the photo looks like a {check['body_site']} photo "
            f"like the training photos; below a score of {check['threshold']:.3f} the photo is refused with the tip: \"{check['tip']}\".",
            "", f"Chosen on the tuning half of every body site's photos only ({chosen['by']}): C = {chosen['C']}, "
            f"{chosen['own_pass_rate_cv'] * 100:.1f} % of {chosen['n_own']} own photos pass out-of-fold, "
            f"{chosen['others_pass_rate_cv'] * 100:.1f} % of {chosen['n_others']} other-site and synthetic images. "
            "The test half's answered rates are in docs/RESULTS.md (benchmarks/wrong_photos.py)."]  # fmt: skip
    return with_section(card, SITE_CHECK_HEADING, body)


def without_section(card: str, heading: str) -> str:
    """The card with the section `heading` taken out (a card without it comes back unchanged)."""
    start = card.find(f"## {heading}")
    if start < 0:
        return card
    end = card.find("\n## ", start + 1)
    return card[:start] + (card[end + 1:] if end >= 0 else "")


def with_section(card: str, heading: str, body: list[str]) -> str:
    """The card with the section `heading` added or replaced, before "How to run it" when the card has one."""
    section = "\n".join([f"## {heading}", *body]) + "\n"
    start = card.find(f"## {heading}")
    if start >= 0:
        end = card.find("\n## ", start + 1)
        return card[:start] + section + ("\n" + card[end + 1:] if end >= 0 else "")
    anchor = card.find("## How to run it")
    return card[:anchor] + section + "\n" + card[anchor:] if anchor >= 0 else card.rstrip("\n") + "\n\n" + section
