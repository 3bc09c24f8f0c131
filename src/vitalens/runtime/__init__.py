"""The serving world: load a bundle, feed it pixels, aggregate, interpret. numpy + onnxruntime only."""

from vitalens.runtime.bundle import Bundle, BundleError, load_bundle

__all__ = ["Bundle", "BundleError", "load_bundle"]
