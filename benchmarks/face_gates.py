"""Fit the face gate (vitalens.face_gate) of tasks whose photos are not of faces on the tuning half of
the photos, print the selection log; --write adds the detector's nets and the gate to the task's shipped
bundle (vitalens.bundle.writer.update_bundle) and its card.

    python benchmarks/face_gates.py [--write] [--task skin-condition]
"""

from __future__ import annotations

import argparse

from vitalens.bundle import shipped_bundle_path
from vitalens.bundle.writer import update_bundle
from vitalens.evaluation.face_gate_fit import fit_face_gate
from vitalens.face_gate import NETS
from vitalens.model_card import with_section
from vitalens.tasks import get_task

FACE_BUNDLE = "face-age-gender"


def card_section(gate: dict) -> list[str]:
    chosen = gate["chosen"]
    return [f"Before the model runs, the face detector ({gate['detector']}) looks for faces of at least {gate['min_face_px']:.0f} px; a face whose side is "
            f"{gate['max_face_fraction']:.0%} or more of the photo's short side means a face photo, which is refused with the tip: \"{gate['tip']}\".",
            "", f"Chosen on the tuning half only ({chosen['by']}): {chosen['own_pass_rate']:.1%} of {chosen['n_own']} own photos pass, "
            f"{chosen['faces_refused']:.1%} of {chosen['n_faces']} face photos are refused. Test-half rates: docs/RESULTS.md."]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--task", action="append")
    args = parser.parse_args()
    face_bundle = shipped_bundle_path(FACE_BUNDLE)
    detector = {net: face_bundle / f"detector_{net}.onnx" for net in NETS}
    for name in args.task or ["skin-condition"]:
        task = get_task(name)
        gate = fit_face_gate(task.body_site, task.photo_tip, detector)
        print(f"\n{name}: max face fraction {gate['max_face_fraction']}")
        print("| max face fraction | own pass | faces refused |\n|---|---|---|")
        for row in gate["candidates"]:
            print(f"| {row['max_face_fraction']:.2f} | {row['own_pass_rate']:.1%} | {row['faces_refused']:.1%} |")
        if args.write:
            stages = {gate["stages"][net]: (detector[net], {"role": f"face gate: MTCNN {net}"}) for net in NETS}
            update_bundle(shipped_bundle_path(name), stages, {"face_gate": gate}, lambda card, _: with_section(card, "Input gate (face check)", card_section(gate)))
            print(f"written to {shipped_bundle_path(name)}")


if __name__ == "__main__":
    main()
