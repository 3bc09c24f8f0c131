"""report.html: every train/evaluate run writes one self-contained page (figures inlined, nothing fetched),
and `vitalens report RUN` re-renders it."""

import re

from typer.testing import CliRunner

from vitalens.cli import app
from vitalens.evaluation.fairness import meaningful_order


def test_an_evaluate_run_writes_a_self_contained_report_html_and_report_rerenders_it(synthetic_nails, tmp_path):
    run = tmp_path / "run"
    result = CliRunner().invoke(app, ["evaluate", "--task", "hb-nails", "--data", str(synthetic_nails), "--out", str(run), "-o", "protocol=single", "-o", "n_boot=50"])
    assert result.exit_code == 0, result.stdout
    page = (run / "report.html").read_text()
    assert "not a medical device" in page and "Headline" in page and "mean predictor" in page
    assert page.count('src="data:image/png;base64,') == len(list((run / "figures").glob("*.png"))) >= 3
    svg = (run / "figures" / "interval_scale.svg").read_text()  # the WHO-band picture of three example answers
    assert page.count('src="data:image/svg+xml;base64,') == 1 and len(re.findall(r"90 % interval \d", svg)) == 3 and "spans:" in svg
    # nothing that a browser would fetch: every src is inline, no stylesheet/script/font link at all
    assert not re.search(r'src="(?!data:)', page) and "<script" not in page and "<link" not in page and "@import" not in page
    (run / "report.html").unlink()
    assert CliRunner().invoke(app, ["report", str(run)]).exit_code == 0 and (run / "report.html").read_text() == page


def test_report_of_a_folder_without_a_run_says_what_to_pass(tmp_path):
    result = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert result.exit_code != 0 and "no report.md here" in result.stdout


def test_groups_come_in_the_order_a_reader_expects():
    assert meaningful_order(["tan", "unknown", "very light", "brown", "light"]) == ["very light", "light", "tan", "brown", "unknown"]
    assert meaningful_order(["V-VI", "I-II", "III-IV"]) == ["I-II", "III-IV", "V-VI"]
    assert meaningful_order(["70+", "10-19", "0-9", "<2"]) == ["0-9", "<2", "10-19", "70+"]
    assert meaningful_order(["male", "female"]) == ["female", "male"]
