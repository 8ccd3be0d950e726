"""bench.tuning_step on the tiny random-init Llama: both dtypes, eager, one timed step."""

from __future__ import annotations

from bench.tuning_step import main


def test_times_one_step_per_dtype_side_by_side(tiny_dir, capsys) -> None:
    args = ["--model", str(tiny_dir), "--rows", "2", "--tokens", "8", "--steps", "1"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "2 rows x 8 tokens" in out
    for dtype in ("float32", "bfloat16"):
        assert f"{dtype} eager:" in out
        (line,) = [x for x in out.splitlines() if x.split()[:2] == [dtype, "eager"]]
        assert float(line.split("step")[1].split()[0]) > 0  # ms per step
    assert "float32 eager: 1.00x the first row" in out
