"""bench.patching on the tiny random-init Llama: the check with its KV reuse and with a
full forward per patched row give the same arrays, and both are timed."""

from __future__ import annotations

from bench.patching import main


def test_kv_reuse_and_full_passes_agree_and_are_timed(capsys) -> None:
    res = main(["--model", "tiny", "--examples", "3", "--epochs", "1", "--repeats", "1"])
    assert {"causal_kl", "causal_label_logprobs", "causal_adapter_kl"} <= set(res["max_abs_diff"])
    assert max(res["max_abs_diff"].values()) < 1e-4
    # 3 examples x 4 blocks x (2 sources x (own + 2 cross) + 2 other adapters)
    assert res["patched_rows"] == 3 * 4 * (2 * 3 + 2)
    assert all(len(v) == 1 and v[0] > 0 for v in res["seconds"].values())
    assert res["speedup"] > 0
    assert "speedup (full passes / KV reuse)" in capsys.readouterr().out
