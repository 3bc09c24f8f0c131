"""Feature extractors (training world, torch): region pixels in, a feature vector per region out.

Every extractor is an `nn.Module` so that the exported ONNX graph holds exactly the computation used
in training: there is one definition of each feature, and the runtime feeds pixels only.
"""

from vitalens.features.extractors import EXTRACTORS, build_extractor

__all__ = ["EXTRACTORS", "build_extractor"]
