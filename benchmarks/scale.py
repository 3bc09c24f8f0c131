"""Throughput of `vitalens predict` per task: sequential, batched in one process, and Ray with 1 and 2 workers,
on the same photos in one run, with each path's peak memory.

Each (task, path) runs in a fresh subprocess, so its peak resident memory (`ru_maxrss`) is its own; Ray
rows give each worker's peak. Times are wall clock from the first photo to the last row, after the
bundle is loaded (Ray's include starting the cluster and its actors, about 7-10 s here: what a user
waits for; "first row s" shows it). The batched path uses each task's default batch size and
decoding threads (`predict.default_pipeline`: batches only where the task's model runs on a batch).
The photos are held-out photos of each task's own body site from ../shared/data (`evaluation.sites`).

    python benchmarks/scale.py [--photos 96] [--tasks hb-nails,face-age-gender] [--out benchmarks/results/scale.json]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from vitalens.tasks import all_tasks, get_task

PATHS = {"sequential": {"batch_size": 1, "threads": 1}, "batched": {}, "ray-1": {"workers": 1}, "ray-2": {"workers": 2}}


def one(task_name: str, path: str, photos: int) -> dict:
    """Run one path on the task's photos in this process; the numbers as a dict."""
    from vitalens.data import load_dataset
    from vitalens.evaluation.sites import site_photos
    from vitalens.predict import default_pipeline, iter_predictions
    from vitalens.runtime import load_predictor

    listed = site_photos(get_task(task_name).body_site, "test", photos)
    if not listed:
        return {"task": task_name, "path": path, "skipped": "no photos (../shared/data absent)"}
    with tempfile.TemporaryDirectory() as folder:
        for k, photo in enumerate(listed):
            (Path(folder) / f"{k:04d}{photo.suffix}").symlink_to(photo.resolve())
        dataset = load_dataset(folder, get_task(task_name))
        predictor = load_predictor(None, task_name)
        stats: dict = {}
        default_batch, default_threads = default_pipeline(predictor)
        batch_size, threads = PATHS[path].get("batch_size", default_batch), PATHS[path].get("threads", default_threads)
        started = time.perf_counter()
        if path.startswith("ray"):
            from vitalens.scale import ray_predictions

            produced = ray_predictions(dataset, predictor.bundle.path, {}, {}, workers=PATHS[path]["workers"], batch_size=batch_size, stats=stats)
        else:
            produced = iter_predictions(dataset, predictor, batch_size=batch_size, threads=threads)
        rows, stamps = [], []
        for row in produced:
            rows.append(row)
            stamps.append(time.perf_counter())
        seconds = stamps[-1] - started
    workers = sorted(stats.get("worker_peak_mb", {}).values())
    return {"task": task_name, "path": path, "photos": len(rows), "seconds": seconds, "photos_per_s": len(rows) / seconds,
            "first_row_s": stamps[0] - started, "batch_size": batch_size,
            "answered": sum(r.status == "ok" for r in rows), "driver_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "worker_peak_mb": workers}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=int, default=96)
    parser.add_argument("--tasks", default=",".join(all_tasks()))
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--one", nargs=2, metavar=("TASK", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(*args.one, args.photos)))
        return
    results = []
    print(f"{args.photos} held-out photos per task; {', '.join(PATHS)}; wall clock after the bundle is loaded\n")
    print("| task | path | batch | photos | s | first row s | photos/s | speed-up | answered | peak MB (driver) | peak MB per worker |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for task_name in args.tasks.split(","):
        base = None
        for path in PATHS:
            done = subprocess.run([sys.executable, __file__, "--one", task_name, path, "--photos", str(args.photos)], capture_output=True, text=True)
            if done.returncode:
                print(f"| {task_name} | {path} | failed: {done.stderr.strip().splitlines()[-1]} |")
                continue
            row = json.loads(done.stdout.strip().splitlines()[-1])
            results.append(row)
            if "skipped" in row:
                print(f"| {task_name} | {path} | {row['skipped']} |")
                continue
            base = base or row["photos_per_s"]
            workers = ", ".join(f"{mb:.0f}" for mb in row["worker_peak_mb"]) or "–"
            print(f"| {task_name} | {path} | {row['batch_size']} | {row['photos']} | {row['seconds']:.1f} | {row['first_row_s']:.1f} | {row['photos_per_s']:.2f} "
                  f"| {row['photos_per_s'] / base:.2f}x | {row['answered']} | {row['driver_peak_mb']:.0f} | {workers} |", flush=True)  # fmt: skip
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
