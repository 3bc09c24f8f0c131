"""Near-duplicate photos grouped by a perceptual hash, so near-identical photos never straddle splits.

Fitzpatrick17k holds the same photo more than once (re-uploads, crops, re-encodes). A 16x16 average
hash (256 bits; Zauner 2010) is written out here: it is a few lines of numpy, and the `imagehash`
package would add a dependency for one function. Photos whose hashes differ in at most `max_distance`
bits are linked, and linked photos form one group (connected components, found here with numpy so the
module stays in the serving world).

The 8x8 (64-bit) hash is too coarse for clinical photos: plain skin makes unrelated photos collide and
chains most of the dataset into one group. On Fitzpatrick17k-AJL the nearest-neighbour distance of the
256-bit hash has a separate low mode at 0-10 bits (pairs share the diagnosis 98 % of the time) before
the bulk from 11 bits up (at 16 bits only 54 % do), hence DEFAULT_MAX_DISTANCE = 10.

The hash misses recropped, rescaled and watermark-trimmed copies of one atlas photo, and other photos of
one patient's lesion: 21 % of the held-out photos of the first split had a training photo that close
(benchmarks/skin_leakage.py). So photos are also linked when the cosine of their standardised frozen-trunk
features (`embeddings`) reaches DEFAULT_MIN_COSINE. Chosen by looking at the pairs: 16 random pairs between
0.78 and 0.87 were all one photo or one patient; below 0.78 linking starts to chain (largest group 11 photos
at 0.78, 33 at 0.75, 115 at 0.70). Fitzpatrick17k has no patient IDs, so no grouping can be exact.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

HASH_SIDE = 16
DEFAULT_MAX_DISTANCE = 10
DEFAULT_MIN_COSINE = 0.78


def average_hash(rgb: np.ndarray) -> np.ndarray:
    """HASH_SIDE² booleans: each cell of the grey thumbnail brighter than the thumbnail's mean."""
    grey = Image.fromarray(np.asarray(rgb, dtype=np.uint8)).convert("L").resize((HASH_SIDE, HASH_SIDE), Image.BILINEAR)
    cells = np.asarray(grey, dtype=np.float32)
    return (cells > cells.mean()).ravel()


def hamming_distances(hashes: np.ndarray, others: np.ndarray | None = None) -> np.ndarray:
    """Hamming distances between [N, bits] boolean hashes and [M, bits] others (default: themselves), as [N, M] int."""
    bits = np.asarray(hashes, dtype=np.int16)
    other = bits if others is None else np.asarray(others, dtype=np.int16)
    return bits @ (1 - other).T + (1 - bits) @ other.T


def near_duplicate_groups(hashes: np.ndarray, max_distance: int = DEFAULT_MAX_DISTANCE, embeddings: np.ndarray | None = None,
                          min_cosine: float = DEFAULT_MIN_COSINE) -> np.ndarray:  # fmt: skip
    """A group number per photo; photos within `max_distance` bits, or (given [N, D] embeddings) with a
    cosine of at least `min_cosine` between their standardised embeddings, share one (transitively)."""
    linked = hamming_distances(hashes) <= max_distance
    if embeddings is not None:
        linked |= cosine_similarities(embeddings) >= min_cosine
    return connected_components(linked)


def connected_components(linked: np.ndarray) -> np.ndarray:
    """A component number per node of the symmetric [N, N] boolean adjacency `linked`, numbered in the order
    of each component's first node (as scipy.sparse.csgraph numbers them, so splits made before stay the same).

    Every node takes the smallest node number among its neighbours until nothing changes, then the
    smallest numbers are ranked."""
    rows, cols = np.nonzero(linked)
    smallest = np.arange(len(linked))
    while True:
        updated = smallest.copy()
        np.minimum.at(updated, rows, smallest[cols])
        updated = updated[updated]  # jump along chains: each node takes its smallest neighbour's label
        if np.array_equal(updated, smallest):
            return np.unique(smallest, return_inverse=True)[1]
        smallest = updated


def cosine_similarities(embeddings: np.ndarray) -> np.ndarray:
    """[N, N] cosine similarities of the embeddings after standardising each feature over the photos."""
    standard = (embeddings - embeddings.mean(0)) / (embeddings.std(0) + 1e-6)
    unit = standard / (np.linalg.norm(standard, axis=1, keepdims=True) + 1e-12)
    return unit @ unit.T
