"""Loopback load test of `vitalens serve`: latency under concurrency, then malformed requests, each of
which must get its 4xx while the server keeps serving.

    python benchmarks/load_test.py [--requests 200] [--concurrency 8] [--max-concurrent 2]

Every request uploads one of the example fingernail photos (800x600 PNG, the raw-photo path: quality
gate, detector, regressor). Writes benchmarks/results/load_test.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from pathlib import Path

import httpx
import numpy as np

from vitalens.service.local_server import local_server
from vitalens.service.probes import malformed_probes

REPO = Path(__file__).resolve().parents[1]
PHOTOS = sorted((REPO / "examples" / "nails").glob("*.png"))


def _payloads() -> list[tuple[str, bytes]]:
    """The photos read once, so the timed section holds the request and nothing else."""
    return [(photo.name, photo.read_bytes()) for photo in PHOTOS]


async def _timed_post(http: httpx.AsyncClient, limit: asyncio.Semaphore, payload: tuple[str, bytes]) -> tuple[float, int | str]:
    name, data = payload
    async with limit:
        started = time.perf_counter()
        try:
            response = await http.post("/v1/predict", files=[("image", (name, data, "image/png"))])
            outcome: int | str = response.status_code
        except httpx.HTTPError as error:
            outcome = type(error).__name__
        return time.perf_counter() - started, outcome


async def load(base: str, requests: int, concurrency: int) -> dict:
    limit, payloads = asyncio.Semaphore(concurrency), _payloads()
    async with httpx.AsyncClient(base_url=base, timeout=300) as http:
        await asyncio.gather(*[_timed_post(http, limit, p) for p in payloads])  # warm-up, not counted
        started = time.perf_counter()
        answers = await asyncio.gather(*[_timed_post(http, limit, payloads[i % len(payloads)]) for i in range(requests)])
        elapsed = time.perf_counter() - started
    latencies = np.array([seconds for seconds, _ in answers]) * 1000
    errors = [outcome for _, outcome in answers if outcome != 200]
    return {
        "requests": requests, "concurrency": concurrency, "errors": len(errors), "error_kinds": sorted(set(map(str, errors))),
        "p50_ms": float(np.percentile(latencies, 50)), "p95_ms": float(np.percentile(latencies, 95)),
        "max_ms": float(latencies.max()), "requests_per_s": requests / elapsed, "wall_s": elapsed,
    }


async def malformed(base: str) -> list[dict]:
    rows = []
    async with httpx.AsyncClient(base_url=base, timeout=300) as http:
        for probe in malformed_probes(PHOTOS[0]):
            response = await http.post("/v1/predict", files=probe.files or None, data=probe.data)
            still_serving = (await http.get("/healthz")).status_code == 200
            rows.append({"request": probe.name, "expected": probe.expected_status, "got": response.status_code,
                         "detail": response.json().get("detail"), "healthz_after": still_serving})
        _, outcome = await _timed_post(http, asyncio.Semaphore(1), _payloads()[0])
        rows.append({"request": "valid photo after all of the above", "expected": 200, "got": outcome, "detail": "", "healthz_after": True})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-concurrent", type=int, default=2, help="the server's inference slots")
    parser.add_argument("--serial-requests", type=int, default=20, help="requests from one client first: the service time without queueing")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]  # the machine may be shared: say how busy it was
    with local_server("--max-concurrent", str(args.max_concurrent)) as base:
        serial = asyncio.run(load(base, args.serial_requests, 1))
        stats = asyncio.run(load(base, args.requests, args.concurrency))
        probes = asyncio.run(malformed(base))
    print(f"## Load: {args.max_concurrent} inference slots, {os.cpu_count()} CPUs, load average before {load_before:.1f}\n")
    print("| requests | concurrent clients | p50 ms | p95 ms | max ms | requests/s | errors |\n|---:|---:|---:|---:|---:|---:|---:|")
    for row in (serial, stats):
        print(f"| {row['requests']} | {row['concurrency']} | {row['p50_ms']:.0f} | {row['p95_ms']:.0f} | {row['max_ms']:.0f} | "
              f"{row['requests_per_s']:.2f} | {row['errors']} {row['error_kinds'] or ''} |")
    print()
    print("## Malformed requests\n\n| request | expected | got | server healthy after | message |\n|---|---:|---:|---|---|")
    for row in probes:
        print(f"| {row['request']} | {row['expected']} | {row['got']} | {'yes' if row['healthz_after'] else 'NO'} | {row['detail'] if isinstance(row['detail'], str) else row['detail']} |")
    out = REPO / "benchmarks" / "results" / "load_test.json"
    out.write_text(json.dumps({"load_average_before": load_before, "serial": serial, "load": stats, "max_concurrent": args.max_concurrent, "cpus": os.cpu_count(), "malformed": probes}, indent=2))
    print(f"\nwritten to {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
