"""Haemoglobin (g/dL) from the lips in a smartphone face photo, with camera metadata (EXIF/HEIC).

Serving world: data (labels in file names), regions (the lip finder), lip_colour, camera, extract,
runtime, card. Training world: training (leave-one-person-out), lifecycle, export, synthetic_audit.
"""

from vitalens.tasks._haemoglobin.config import RunConfig
from vitalens.tasks._haemoglobin.options import run_config_options
from vitalens.tasks.spec import Option, Target, Task

TASK = Task(
    name="hb-lips",
    photo_tip="take a well-lit, front-on photo of the face in which the closed lips fill a good part of the frame",
    body_site="lips",
    description="Haemoglobin (g/dL) from the lips in a smartphone face photo, with camera metadata.",
    targets=(Target("hb", "regression", unit="g/dL"),),
    group_by="person",
    predictor="vitalens.tasks.hb_lips.runtime:LipHbPredictor",
    lifecycle="vitalens.tasks.hb_lips.lifecycle",
    loader="vitalens.tasks.hb_lips.data:load_lips",
    audit_attributes=("device_brand", "ethnicity", "skin_tone_group"),
    interpretation="who-2024-anaemia",
    options=(
        *run_config_options(RunConfig(), only=("seed", "anaemia_threshold", "interval_coverage", "n_boot")),
        Option("permutations", int, 200, "permutation-test shuffles of Hb across people"),
        Option("lip_check", str, None, "export: a `vitalens train-lip-check` folder; photos whose lip region is too small "
               "or not a mouth are then refused", ("export",)),
    ),
    commands=("vitalens.tasks.hb_lips.extract:extract", "vitalens.tasks.hb_lips.commands:train_lip_check"),
    demonstration=True,
    browser_mode="ui-hb_lips.js",
)
