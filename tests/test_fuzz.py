"""Fuzzing as a habit: a bounded atheris run over decode_image, and every input it ever crashed on replayed."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from vitalens.imaging import ImageDecodeError, decode_image

FUZZ = Path(__file__).parent / "fuzz"
RUNS = 20_000  # bounded by count, not time: about 10 s here


def test_atheris_finds_no_crash_in_the_decoder(tmp_path):
    pytest.importorskip("atheris", reason="atheris is not installed (pip install -e '.[dev]' on Python 3.11)")
    corpus = tmp_path / "corpus"
    shutil.copytree(FUZZ / "corpus", corpus)  # libFuzzer adds to its corpus: never to the repository's
    result = subprocess.run(
        [sys.executable, str(FUZZ / "decode_target.py"), f"-runs={RUNS}", "-rss_limit_mb=3000", f"-artifact_prefix={tmp_path}/", str(corpus)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"Done {RUNS} runs" in result.stderr


@pytest.mark.parametrize("path", [p for p in sorted((FUZZ / "regressions").glob("*")) + sorted((FUZZ / "corpus").glob("*")) if not p.name.startswith(".")], ids=lambda p: p.name)
def test_every_kept_input_decodes_or_is_a_clean_refusal(path):
    try:
        decoded = decode_image(path)
    except ImageDecodeError:
        return
    assert decoded.rgb.ndim == 3 and decoded.rgb.shape[2] == 3
