"""A bundle .zip, opened safely: capped in size, count and ratio, extracted once into a cache keyed by
its content, so a zip bomb is refused before anything is written and no temporary folder is left."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from vitalens.bundle.format import BUNDLE_FILE, BundleError

MAX_MEMBERS = 64
MAX_UNCOMPRESSED_BYTES = 256 * 1024 * 1024  # a shipped stage is at most 20 MB; room for several and the card
MAX_RATIO = 200  # ONNX weights compress about 1.1x; a ratio in the hundreds is a bomb, not a model


def cache_root() -> Path:
    return Path(os.environ.get("VITALENS_CACHE", Path.home() / ".cache" / "vitalens")) / "bundles"


def extract_bundle_zip(archive: Path) -> Path:
    """The bundle folder inside `archive`, extracted (once) under the cache; refuses unsafe zips."""
    try:
        digest = hashlib.sha256(archive.read_bytes()).hexdigest()
        with zipfile.ZipFile(archive) as bundle_zip:
            members = _checked_members(archive, bundle_zip)
            target = cache_root() / digest
            if not (target / ".complete").is_file():
                _extract(bundle_zip, members, target)
    except zipfile.BadZipFile as error:
        raise BundleError(f"{archive}: not a readable zip ({error}); re-download or re-export the bundle.") from None
    nested = [p for p in target.iterdir() if p.is_dir()]
    return nested[0] if not (target / BUNDLE_FILE).exists() and len(nested) == 1 else target


def _checked_members(archive: Path, bundle_zip: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    members = bundle_zip.infolist()
    if len(members) > MAX_MEMBERS:
        raise BundleError(f"{archive}: {len(members)} files inside; a bundle has a handful (at most {MAX_MEMBERS}).")
    total = 0
    for member in members:
        parts = PurePosixPath(member.filename).parts
        if member.filename.startswith(("/", "\\")) or ".." in parts or ":" in member.filename:
            raise BundleError(f"{archive}: unsafe path {member.filename!r} inside the zip")
        if member.compress_size and member.file_size / member.compress_size > MAX_RATIO:
            raise BundleError(f"{archive}: {member.filename} expands {member.file_size / member.compress_size:.0f}x; refused as a zip bomb.")
        total += member.file_size
    if total > MAX_UNCOMPRESSED_BYTES:
        raise BundleError(f"{archive}: {total:,} bytes uncompressed, over the {MAX_UNCOMPRESSED_BYTES:,} a bundle may hold.")
    return members


def _extract(bundle_zip: zipfile.ZipFile, members: list[zipfile.ZipInfo], target: Path) -> None:
    """Extract into a fresh folder beside the cache entry, then rename it into place (atomic)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".partial-", dir=target.parent))
    try:
        written = 0
        for member in members:
            if member.is_dir():
                continue
            destination = staging / member.filename
            destination.parent.mkdir(parents=True, exist_ok=True)
            with bundle_zip.open(member) as source, destination.open("wb") as sink:
                while block := source.read(1 << 20):
                    written += len(block)
                    if written > MAX_UNCOMPRESSED_BYTES:  # the header's sizes may lie
                        raise BundleError(f"{bundle_zip.filename}: expands past {MAX_UNCOMPRESSED_BYTES:,} bytes; refused.")
                    sink.write(block)
        (staging / ".complete").write_text("")
        shutil.rmtree(target, ignore_errors=True)
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
