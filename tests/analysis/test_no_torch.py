"""The analysis service must never import torch, directly or through a dependency."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_analysis_modules_do_not_import_torch():
    code = (
        "import sys\n"
        "import services.analysis.metrics, services.analysis.stats\n"
        "import services.analysis.summarize, services.analysis.figures\n"
        "import services.analysis.report\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers'))\n"
        "assert not bad, bad\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
