"""The figures of a face evaluation, written into the run's figures/ folder: the gender confusion
matrix, predicted against true age, and both metrics by audit group with their 95 % intervals."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from vitalens.tasks.face_age_gender.data import GENDERS


def write_figures(frame: pd.DataFrame, audit: dict[str, pd.DataFrame], folder: Path) -> list[Path]:
    """`frame`: held-out rows with age, predicted_age, gender, predicted_gender; `audit`: attribute ->
    `evaluation.audit_table`. Returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay, confusion_matrix

    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / "confusion_matrix.png", folder / "age_predicted_vs_true.png", folder / "error_by_group.png"]
    matrix = confusion_matrix(frame["gender"], frame["predicted_gender"], labels=list(GENDERS))
    ConfusionMatrixDisplay(matrix, display_labels=list(GENDERS)).plot(colorbar=False)
    plt.title("Gender, held-out split")
    plt.savefig(written[0], dpi=120, bbox_inches="tight")
    plt.close("all")

    figure, axis = plt.subplots(figsize=(5, 5))
    axis.scatter(frame["age"], frame["predicted_age"], s=4, alpha=0.3)
    top = float(max(frame["age"].max(), frame["predicted_age"].max()))
    axis.plot([0, top], [0, top], color="black", linewidth=1)
    axis.set(xlabel="true age (years)", ylabel="predicted age (years)", title="Age, held-out split")
    figure.savefig(written[1], dpi=120, bbox_inches="tight")
    plt.close(figure)

    metrics = (("age_mae", "age MAE", "years"), ("gender_accuracy", "gender accuracy", "fraction correct"))
    figure, axes = plt.subplots(len(metrics), len(audit), figsize=(4 * len(audit), 3.5 * len(metrics)), squeeze=False)
    for column, (attribute, table) in enumerate(audit.items()):
        for row, (metric, name, unit) in enumerate(metrics):
            errors = [table[metric] - table[f"{metric}_ci_low"], table[f"{metric}_ci_high"] - table[metric]]
            axis = axes[row, column]
            axis.bar(table.index.astype(str), table[metric], yerr=errors, capsize=3)
            axis.set(title=f"{name} by {attribute} (95 % CI)", ylabel=unit)
            axis.tick_params(axis="x", rotation=45)
    figure.tight_layout()
    figure.savefig(written[2], dpi=120)
    plt.close(figure)
    return written
