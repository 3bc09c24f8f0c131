"""Haemoglobin (g/dL) from the nail beds of a smartphone photo of fingers on a white card.

Serving world: data (the Yakimov layout), regions (nail and skin crops, card references), detection
(the nail detector's decoding), runtime (the predictor), card. Training world: features, model,
training, lifecycle, export, detector_model, detector_training, detector_validation, detection_metrics,
commands.
"""

from vitalens.tasks._haemoglobin.config import RunConfig
from vitalens.tasks.spec import Option, Target, Task
from vitalens.tasks._haemoglobin.options import run_config_options

TASK = Task(
    name="hb-nails",
    photo_tip="photograph three fingernails of one hand resting on the white reference card, filling the frame",
    body_site="fingernail",
    description="Haemoglobin (g/dL) from the nail beds of a smartphone photo of fingers on a white card.",
    targets=(Target("hb", "regression", unit="g/dL"),),
    group_by="session",
    predictor="vitalens.tasks.hb_nails.runtime:NailHbPredictor",
    lifecycle="vitalens.tasks.hb_nails.lifecycle",
    loader="vitalens.tasks.hb_nails.data:load_yakimov",
    recognises="vitalens.tasks.hb_nails.data:is_yakimov_layout",
    audit_attributes=("skin_tone_group",),
    interpretation="who-2024-anaemia",
    options=(
        *run_config_options(RunConfig()),
        Option("protocol", str, "nested", "nested: features+head chosen inside each outer training fold by inner grouped CV (the "
               "features/head options are then not used); single: the given features and head", ("evaluate", "train")),
        Option("learning_curve", bool, False, "nested only: also measure nested MAE when training on 4, 8, 12 and 15 sessions "
               "(about ten more nested runs) for the report and the card", ("evaluate", "train")),
        Option("detector", str, None, "export: a `vitalens train-detector` folder (or its detector.onnx); raw photos then need no boxes", ("export",)),
        Option("int8", bool, False, "export: quantise the regressor's weights to int8", ("export",)),
    ),
    commands=("vitalens.tasks.hb_nails.commands:train_detector", "vitalens.tasks.hb_nails.commands:evaluate_detector"),
    browser_mode="ui-hb.js",
)
