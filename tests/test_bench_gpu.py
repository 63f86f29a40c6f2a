"""benchmarks/bench_gpu.py runs on the CPU (fp32; bf16 and fp16 rows skipped, saying why), so it is ready
for the day a GPU is lent: a tiny model, a few steps, the collator in a DataLoader worker."""

from __future__ import annotations

import sys

import torch

from tests.conftest import ROOT, SENTENCES


def test_bench_gpu_measures_steps_tokens_and_data_wait_on_the_cpu(tiny_model_dir, tmp_path, capsys):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_gpu

    texts = tmp_path / "texts.txt"
    texts.write_text("\n".join(SENTENCES * 30) + "\n")
    out = tmp_path / "r.jsonl"
    rows = bench_gpu.main(["--shapes", "4x32", "--steps", "2", "--warmup", "1", "--workers", "1",
                           "--model", str(tiny_model_dir), "--texts", str(texts), "--json", str(out)])  # fmt: skip
    measured = [r for r in rows if "skipped" not in r]
    assert {(r["precision"], r["head"]) for r in measured} >= {("fp32", "dense"), ("fp32", "sparse")}
    for row in measured:
        assert row["steps_per_s"] > 0 and row["tokens_per_s"] > row["steps_per_s"] and 0 <= row["data_wait_share"] < 1
    if not torch.cuda.is_available():
        assert {r["precision"] for r in rows if r.get("skipped") == "needs CUDA"} == {"bf16", "fp16"}
    assert len(out.read_text().splitlines()) == len(rows)
    assert '"cuda"' in capsys.readouterr().out  # the machine line comes first
