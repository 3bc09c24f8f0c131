"""Age (years) and gender from a face: one shared network with two heads.

Serving world: data (UTKFace file names and its fixed split), regions (the face finder), runtime, card.
Training world: model, pixels, trainer, training, evaluation, figures, export, lifecycle. Validation groups are
images, not people: UTKFace has no person id, so one person may be in both training and held-out data.
"""

from vitalens.tasks.spec import Option, Target, Task

TASK = Task(
    name="face-age-gender",
    photo_tip="use a photo of one face, front-on and well lit, cropped to the face",
    body_site="face",
    description="Age (years) and gender from a face crop; one shared network with two heads; validated per image (UTKFace has no person id).",
    targets=(
        Target("age", "regression", unit="years"),
        Target("gender", "classification", classes=("male", "female")),
    ),
    group_by="image",
    predictor="vitalens.tasks.face_age_gender.runtime:FacePredictor",
    lifecycle="vitalens.tasks.face_age_gender.lifecycle",
    loader="vitalens.tasks.face_age_gender.data:load_utkface",
    audit_attributes=("race", "gender", "age_band"),
    options=(
        Option("backbone", str, "lite0-ft:mirror", "seed-mtl, lite0 or lite0-ft (the shipped kind); append :mirror to average over the mirrored face", ("train",)),
        Option("epochs", int, None, "most epochs (early stopping on validation)", ("train",)),
        Option("limit", int, None, "use only N images (smoke runs)", ("train", "evaluate")),
        Option("cache_dir", str, None, "decoded-crop cache (default /tmp/vitalens-face-cache)", ("train",)),
        Option("model", str, None, "the bundle to evaluate (default: the shipped one)", ("evaluate",)),
        Option("card", bool, False, "rewrite the evaluated bundle's MODEL_CARD.md from this evaluation", ("evaluate",)),
        Option("face", str, "one", "with several faces in a photo: one (refuse it) or largest (read the largest face)", ("predict",), ("one", "largest")),
    ),
    browser_mode="ui-face.js",
)
