"""Analysis: how much of each Fitzpatrick group's top-1 error is confusion between near-synonymous labels
of the AJL subset (three melanoma labels, two basal cell carcinoma, two acne, two eczema)? Reads a run's
held-out predictions; the shipped metric is unchanged, this only explains it.

    python benchmarks/skin_synonyms.py [--run experiments/skin-main]

Research software, not a medical device.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from vitalens import DISCLAIMER
from vitalens.tasks.skin_condition.metrics import prediction_scores

NEAR_SYNONYMS = {
    "malignant melanoma": "melanoma",
    "superficial spreading melanoma ssm": "melanoma",
    "basal cell carcinoma morpheiform": "basal cell carcinoma",
    "acne": "acne vulgaris",
    "dyshidrotic eczema": "eczema",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=Path("experiments/skin-main"))
    args = parser.parse_args()
    classes = json.loads((args.run / "training.json").read_text())["classes"]
    test = pd.read_csv(args.run / "predictions_test.csv")
    predicted = np.array(classes)[prediction_scores(test, classes).argmax(1)]
    merged = lambda labels: pd.Series(labels).replace(NEAR_SYNONYMS).to_numpy()  # noqa: E731
    test["exact"] = predicted == test["label"].to_numpy()
    test["synonyms merged"] = merged(predicted) == merged(test["label"].to_numpy())
    test["synonym confusions"] = test["synonyms merged"] & ~test["exact"]
    table = test.groupby(test["fitzpatrick_group"].fillna("unknown")).agg(
        n=("exact", "size"), top1=("exact", "mean"), top1_synonyms_merged=("synonyms merged", "mean"), synonym_confusions=("synonym confusions", "sum"))
    print(f"\n## Held-out top-1 by Fitzpatrick group, exact labels and with near-synonyms merged ({args.run})\n")
    print("| group | n | top-1 | top-1, synonyms merged | confusions between synonyms |\n|---|---|---|---|---|")
    for group, row in table.iterrows():
        print(f"| {group} | {int(row.n)} | {row.top1 * 100:.1f} | {row.top1_synonyms_merged * 100:.1f} | {int(row.synonym_confusions)} ({row.synonym_confusions / row.n * 100:.1f} %) |")
    print(f"| all | {len(test)} | {test['exact'].mean() * 100:.1f} | {test['synonyms merged'].mean() * 100:.1f} | {int(test['synonym confusions'].sum())} |")
    print(f"\n{DISCLAIMER}")


if __name__ == "__main__":
    main()
