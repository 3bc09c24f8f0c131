"""What a bundle is: a folder holding `bundle.json`, one ONNX file per stage and `MODEL_CARD.md`.

A stage is any top-level entry of bundle.json with a `file` and its `sha256` (`model`, and e.g.
`detector`); the reader checks every stage and the writer sizes and checksums every stage, so no
task writes bundle.json by hand.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import onnxruntime as ort

from vitalens import DISCLAIMER, __version__

SCHEMA_VERSION = 1
BUNDLE_FILE = "bundle.json"
CARD_FILE = "MODEL_CARD.md"
MAX_BUNDLED_MB = 20  # the heaviest model file a shipped bundle may hold: the browser app downloads it and git keeps every version


class BundleError(ValueError):
    """A bundle that cannot be used safely; the one-line message says which file and what to do."""


@dataclass
class Bundle:
    path: Path
    manifest: dict[str, Any]
    _sessions: dict[str, ort.InferenceSession] = field(default_factory=dict, repr=False)

    @property
    def task(self) -> str:
        return self.manifest["task"]

    def session(self, stage: str = "model") -> ort.InferenceSession:
        if stage not in self._sessions:
            self._sessions[stage] = open_session(self.path / self.manifest[stage]["file"])
        return self._sessions[stage]

    def stages(self) -> list[str]:
        return stage_names(self.manifest)

    def files(self, browser: bool = False) -> list[str]:
        """bundle.json and every stage's file, relative to the bundle folder; with `browser`, only what the
        browser app fetches (a stage marked "browser": false, such as the face bundle's compat copy, is left out)."""
        stages = [s for s in self.stages() if not (browser and self.manifest[s].get("browser") is False)]
        return [BUNDLE_FILE, *(self.manifest[stage]["file"] for stage in stages)]

    def card(self) -> str:
        card = self.path / CARD_FILE
        return card.read_text() if card.is_file() else ""


ORT_THREADS_VARIABLE = "VITALENS_ORT_THREADS"


def open_session(path: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    # Several workers on one machine (Ray actors) each set this to their share of the cores, so their
    # ONNX Runtime thread pools do not fight over them; unset, ONNX Runtime uses every core.
    threads = int(os.environ.get(ORT_THREADS_VARIABLE, "0") or 0)
    if threads > 0:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def stage_names(manifest: dict[str, Any]) -> list[str]:
    """The manifest's stages: every entry naming a file and its checksum."""
    return [key for key, value in manifest.items() if isinstance(value, dict) and "file" in value and "sha256" in value]


def manifest_header(task: str) -> dict[str, Any]:
    """The fields every bundle.json starts with, whatever its task."""
    return {
        "schema_version": SCHEMA_VERSION,
        "task": task,
        "vitalens_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "disclaimer": DISCLAIMER,
    }


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def shipped_bundle_path(task: str) -> Path:
    return Path(str(resources.files("vitalens") / "bundles" / task))
