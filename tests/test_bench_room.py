"""bench/room.py end to end, small: 2 participants at the protocol level, no browser, ~20 s of drawing
and one job. It checks that the room's JSON has every key the issue names, that no run failed and
that draw runs were measured; no timing thresholds (those are the benchmark's, on a quiet machine)."""
import json
import subprocess
import sys

from tests.conftest import REPO

KEYS = ["participants", "draw_run_ms_p50", "draw_run_ms_p95", "draw_latency_ms_p95", "job_wait_s_p95", "jobs_done",
        "server_rss_mb_start", "server_rss_mb_end", "errors", "blas"]


def last_json(stdout: str) -> dict:
    """The JSON object printed last (indented: only the top level starts a line with '{')."""
    start = stdout.rindex("\n{") + 1 if "\n{" in stdout else stdout.index("{")
    return json.loads(stdout[start:])


def test_a_small_room_runs_without_errors(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "bench.room", "--participants", "2", "--browsers", "0", "--minutes", "0.33",
         "--models", "mlp", "--drain", "60"],
        cwd=REPO, capture_output=True, text=True, timeout=420)
    assert proc.returncode == 0, proc.stderr[-4000:]
    res = last_json(proc.stdout)
    missing = [k for k in KEYS if k not in res]
    assert not missing, f"missing keys {missing}"
    assert res["participants"] == 2
    assert res["errors"] == 0, json.dumps(res["detail"]["error_samples"], indent=1)
    assert res["draw_runs"] >= 4 and res["draw_run_ms_p50"] > 0
    assert res["detail"]["draw_run_script_ms"]["n"] >= res["draw_runs"]  # the server saw the runs too
    assert res["detail"]["jobs"] and res["jobs_done"] == 1, res["detail"]["jobs"]
    assert res["job_wait_s_p95"] is not None
    assert res["draw_latency_ms_p95"] is None  # no browser
    assert res["server_rss_mb_start"] > 0 and res["server_rss_mb_end"] > 0
    assert res["blas"]["libraries"]
