"""Datasets: labelled photos as `Sample`s, from any layout a loader knows.

`load_dataset(path, task)` picks the loader: a task's own layout (e.g. Yakimov for hb-nails, labels in
lip photos' file names for hb-lips), a
manifest CSV a user writes for their own data, or a plain folder of images for prediction.
"""

from vitalens.data.samples import Box, Dataset, Problem, Sample
from vitalens.data.loaders import LOADERS, load_dataset, load_image_folder, load_manifest, register_loader
from vitalens.data.yakimov import load_yakimov
from vitalens.data.lips import load_lips, parse_lip_filename
from vitalens.data.utkface import load_utkface  # registers the "utkface" loader
from vitalens.data.fitzpatrick import load_fitzpatrick17k  # registers the "fitzpatrick17k" loader

__all__ = [
    "Box",
    "Dataset",
    "LOADERS",
    "Problem",
    "Sample",
    "load_dataset",
    "load_fitzpatrick17k",
    "load_image_folder",
    "load_lips",
    "load_manifest",
    "load_utkface",
    "load_yakimov",
    "parse_lip_filename",
    "register_loader",
]
