"""ONNX file utilities shared by the tasks' exports (training world: imports onnx)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def store_weights_as_float16(path: Path, min_elements: int = 1024) -> None:
    """Halve the file: each large float32 weight is stored as float16 and cast back to float32 in the graph.

    By hand because onnxconverter-common's float16 conversion also runs the arithmetic in float16, which
    ONNX Runtime's CPU and WebAssembly kernels largely lack; here only storage changes, and the runtimes
    fold the casts once when the session loads. Rounding weights to float16 moves probabilities by ~1e-3.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    kept, casts = [], []
    for weight in graph.initializer:
        if weight.data_type != TensorProto.FLOAT or int(np.prod(weight.dims)) < min_elements:
            kept.append(weight)
            continue
        half = numpy_helper.from_array(numpy_helper.to_array(weight).astype(np.float16), f"{weight.name}__float16")
        kept.append(half)
        casts.append(helper.make_node("Cast", [half.name], [weight.name], to=TensorProto.FLOAT))
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = casts + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
