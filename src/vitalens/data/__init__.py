"""Datasets: labelled photos as `Sample`s, from any layout a task's loader knows.

`load_dataset(path, task)` picks the loader: a manifest CSV a user writes for their own data, the
task's own layout (each task declares its loader and how to recognise its folders), or a plain
folder of images for prediction.
"""

from vitalens.data.samples import Box, Dataset, Problem, Sample, parse_boxes
from vitalens.data.loaders import load_dataset, load_image_folder, load_manifest

__all__ = ["Box", "Dataset", "Problem", "Sample", "load_dataset", "load_image_folder", "load_manifest", "parse_boxes"]
