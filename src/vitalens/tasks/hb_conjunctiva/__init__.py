"""Haemoglobin (g/dL) from a segmented photo of the palpebral conjunctiva (lower eyelid) of a child.

Serving world: data (the CP-AnemiC loader), features, runtime, card. Training world: training (nested
leave-one-hospital-out selection), detection, lifecycle, export.
"""

from vitalens.tasks._haemoglobin.config import RunConfig
from vitalens.tasks._haemoglobin.options import run_config_options
from vitalens.tasks.spec import Target, Task

TASK = Task(
    name="hb-conjunctiva",
    photo_tip="photograph the pulled-down lower eyelid close up in even light and cut the pink inner lining out onto a plain background",
    body_site="conjunctiva",
    description="Haemoglobin (g/dL) from a segmented photo of a child's palpebral conjunctiva (lower eyelid).",
    targets=(Target("hb", "regression", unit="g/dL"),),
    group_by="hospital",
    predictor="vitalens.tasks.hb_conjunctiva.runtime:ConjunctivaHbPredictor",
    lifecycle="vitalens.tasks.hb_conjunctiva.lifecycle",
    loader="vitalens.tasks.hb_conjunctiva.data:load_cp_anemic",
    recognises="vitalens.tasks.hb_conjunctiva.data:recognises",
    audit_attributes=("age_months", "sex"),
    interpretation="who-2024-anaemia",
    browser_mode="ui-hb_conjunctiva.js",
    options=run_config_options(RunConfig(), only=("seed", "interval_coverage", "n_boot")),
    # measured, not assumed: the nested LOHO CI of the MAE difference against the mean excludes 0 (benchmarks/hb_conjunctiva.py);
    # bundle.json's "demonstration" is set by export from that CI, and the runtime's caveat follows it
    demonstration=False,
)
