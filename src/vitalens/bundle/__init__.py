"""The bundle format: one writer (`write_bundle`) and one reader (`load_bundle`) for every task."""

from vitalens.bundle.format import (
    BUNDLE_FILE,
    CARD_FILE,
    MAX_BUNDLED_MB,
    SCHEMA_VERSION,
    Bundle,
    BundleError,
    file_sha256,
    manifest_header,
    shipped_bundle_path,
    stage_names,
)
from vitalens.bundle.reader import load_bundle
from vitalens.bundle.writer import refuse_oversized, write_bundle

__all__ = ["BUNDLE_FILE", "CARD_FILE", "MAX_BUNDLED_MB", "SCHEMA_VERSION", "Bundle", "BundleError", "file_sha256", "load_bundle",
           "manifest_header", "refuse_oversized", "shipped_bundle_path", "stage_names", "write_bundle"]
