"""Where one photo's time goes, per task: decode, the spine's screen (size, quality, site check, face gate),
and inside the task's predictor each ONNX stage (model, detector, gate networks) and the numpy work
between them (regions, references, features), in milliseconds per photo (median over the photos).

Every ONNX session of the bundle has its `run` timed by stage name, so the split needs nothing
from the task; "screen, numpy" and "task, numpy" are the wall time of those steps minus their ONNX time.

    python benchmarks/profile_stages.py [--photos 40] [--tasks hb-nails,skin-condition] [--clock cpu]

`--clock cpu` counts this process's CPU time instead of wall time: steadier on a machine shared with other
jobs (the numpy steps are single-threaded, so their CPU time is their wall time on an idle machine), while
an ONNX stage counts every thread onnxruntime ran it on.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

import numpy as np

from vitalens.evaluation.sites import site_photos
from vitalens.imaging import decode_image
from vitalens.runtime import load_predictor, screen
from vitalens.tasks import all_tasks, get_task


now = time.perf_counter  # or time.process_time (--clock cpu)


def time_runs(session, stage: str, clock: dict[str, float]) -> None:
    """Make this onnxruntime session's `run` add its time to `clock[stage]` (every holder of it sees that)."""
    run = session.run

    def timed(*args, **kwargs):
        started = now()
        try:
            return run(*args, **kwargs)
        finally:
            clock[stage] += now() - started

    session.run = timed


def profile(task_name: str, photos: int) -> dict[str, float] | None:
    listed = site_photos(get_task(task_name).body_site, "test", photos)
    if not listed:
        return None
    predictor = load_predictor(None, task_name)
    bundle, clock = predictor.bundle, defaultdict(float)
    for stage in bundle.stages():
        time_runs(bundle.session(stage), stage, clock)
    rows = []
    for path in listed:
        clock.clear()
        started = now()
        rgb = decode_image(path).rgb
        decoded = now()
        refusal = screen(predictor, rgb, path.name)
        screened = now()
        screen_onnx = sum(clock.values())
        if refusal is None:
            predictor.predict_image(rgb, path.name)
        finished = now()
        onnx_total = sum(clock.values())
        row = {"decode": decoded - started, "screen, numpy": screened - decoded - screen_onnx, "task, numpy": finished - screened - (onnx_total - screen_onnx)}
        row.update({f"onnx {stage}": seconds for stage, seconds in clock.items()})
        row["total"] = finished - started
        rows.append(row)
    keys = sorted({k for row in rows for k in row}, key=lambda k: (k == "total", k))
    return {key: 1000 * float(np.median([row.get(key, 0.0) for row in rows])) for key in keys} | {"photos": len(rows)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=int, default=40)
    parser.add_argument("--tasks", default=",".join(all_tasks()))
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    args = parser.parse_args()
    global now
    now = time.process_time if args.clock == "cpu" else time.perf_counter
    print(f"median milliseconds per photo ({args.clock} clock), warm (the bundle loaded once), one process\n")
    for task_name in args.tasks.split(","):
        result = profile(task_name, args.photos)
        if result is None:
            print(f"{task_name}: no photos (../shared/data absent)\n")
            continue
        print(f"{task_name} ({result.pop('photos')} held-out photos)\n\n| step | ms |\n|---|---|")
        print("\n".join(f"| {key} | {value:.1f} |" for key, value in result.items()) + "\n", flush=True)


if __name__ == "__main__":
    main()
