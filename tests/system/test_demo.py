"""`python manage_all.py demo --exit` runs a whole round on the embedded default and its
payouts add up, as a new user would see it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile

from tests.system.harness import ROOT


def test_the_demo_runs_a_round_and_the_payouts_sum_to_the_fund():
    env = {k: v for k, v in os.environ.items()
           if not k.endswith("DATABASE_URL") and k not in ("NATS_URL", "CELERY_BROKER_URL")}
    env["VAR_DIR"] = tempfile.mkdtemp(prefix="demo-test-")
    result = subprocess.run([sys.executable, "manage_all.py", "demo", "--exit"], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=240,
                            stdin=subprocess.DEVNULL)
    print(result.stdout[-3000:])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "payouts sum to the fund exactly: True" in result.stdout
    assert "ballots counted: 47" in result.stdout  # 50 cast, 3 retracted
    assert re.search(r"receipts digest: [0-9a-f]{64} ", result.stdout), result.stdout
