"""Skin condition (top-3 of 21) plus a lighting verdict, a photo check and Grad-CAM from a clinical skin photo.

Serving world (numpy, Pillow, onnxruntime): data (Fitzpatrick17k-AJL), lighting, tone (ITA), duplicates,
runtime, card. Training world: fitting, network, probe, phases, typicality, pixels, degradations, split,
artifacts, candidates, training, metrics, report_markdown, run_folder, evaluation, export, finish; heldout
(a bundle on the held-out split, torch-free) and lifecycle (the verbs) are imported only by the CLI.
"""

from vitalens.tasks.spec import Option, Target, Task

TASK = Task(
    name="skin-condition",
    photo_tip="photograph the affected skin close up, in even daylight, filling the frame",
    body_site="skin",
    description="Skin condition (top-3 of 21) plus a lighting-quality verdict and Grad-CAM heat maps from a clinical skin photo.",
    targets=(
        Target("condition", "classification"),  # 21 Fitzpatrick17k-AJL conditions; classes come from the data
        Target("three_partition", "classification", classes=("benign", "malignant", "non-neoplastic")),  # a view of condition
        Target("lighting", "classification", classes=("good", "poor")),  # labels derived by the lighting module
    ),
    group_by="near_duplicate",  # hash + feature-similarity groups: near-identical photos never straddle splits
    predictor="vitalens.tasks.skin_condition.runtime:SkinPredictor",
    lifecycle="vitalens.tasks.skin_condition.lifecycle",
    loader="vitalens.tasks.skin_condition.data:load_fitzpatrick17k",
    recognises="vitalens.tasks.skin_condition.data:is_fitzpatrick17k_layout",
    audit_attributes=("fitzpatrick_group", "ita_group"),
    options=(
        Option("epochs", int, None, "phase-C epochs of the fine-tuned candidate", ("train",)),
        Option("model", str, None, "the bundle to evaluate (default: the shipped one)", ("evaluate",)),
        Option("limit", int, None, "only the first N held-out photos (smoke runs)", ("evaluate",)),
    ),
    browser_mode="ui-skin.js",
)
