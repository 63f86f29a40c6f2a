"""Jobs for the fault-injection tests, run as `python -m tests.fault_worker JOB ARGS...` and killed at random.

Each prints "ready" once its imports are done, so the test can kill it inside the job itself. With
FAULT_KILL_IN_SAVE=N, the N-th weights file written is cut in half and the process dies, as a kill -9 in
the middle of a checkpoint write would leave it.
"""

from __future__ import annotations

import json
import os
import sys
import time


def augment(source: str, out: str, shard_size: str) -> None:
    from maskkit.augment import RandomDelete
    from maskkit.augment.job import run_augment_job

    class SlowDelete(RandomDelete):  # each shard takes a while, so kills land inside the job
        def __call__(self, texts, keys=None, k=0):  # type: ignore[no-untyped-def]
            time.sleep(0.05)
            return super().__call__(texts, keys, k)

    augmenter = SlowDelete(0.3, seed=1)
    print("ready", flush=True)
    run_augment_job(source, augmenter, out, {"method": "slow-rd"}, n_aug=2, shard_size=int(shard_size),
                    progress=False)  # fmt: skip


def in_domain(classifier: str, texts_file: str, out: str) -> None:
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    import maskkit.selective.in_domain as in_domain_module
    from maskkit.selective.in_domain import score_in_domain

    predict = in_domain_module.predict_importance

    def slow_predict(*args, **kwargs):  # type: ignore[no-untyped-def]
        time.sleep(0.05)  # each shard takes a while, so kills land inside the job
        return predict(*args, **kwargs)

    in_domain_module.predict_importance = slow_predict

    tokenizer = AutoTokenizer.from_pretrained(classifier)
    model = AutoModelForTokenClassification.from_pretrained(classifier)
    texts = json.loads(open(texts_file, encoding="utf-8").read())
    print("ready", flush=True)
    result = score_in_domain(model, tokenizer, texts, out, max_length=32, shard_size=2, progress=False)
    result.dataset.save_to_disk(os.path.join(out, "dataset"))


def pretrain(model: str, texts_file: str, out: str) -> None:
    from transformers import AutoTokenizer

    from maskkit import MaskingCollator, WholeWordSelector
    from maskkit.training.pretrain import PretrainConfig, further_pretrain

    kill_at = int(os.environ.get("FAULT_KILL_IN_SAVE", "0"))
    if kill_at:
        import transformers.modeling_utils as modeling

        calls = [0]
        real_save = modeling.safe_save_file

        def save_then_die(tensors, filename, metadata=None):  # type: ignore[no-untyped-def]
            calls[0] += 1
            real_save(tensors, filename, metadata=metadata)
            if calls[0] == kill_at:
                with open(filename, "r+b") as f:
                    f.truncate(os.path.getsize(filename) // 2)
                os._exit(137)

        modeling.safe_save_file = save_then_die
    tokenizer = AutoTokenizer.from_pretrained(model)
    texts = json.loads(open(texts_file, encoding="utf-8").read())
    collator = MaskingCollator(tokenizer, WholeWordSelector(rate=0.3), seed=0)
    config = PretrainConfig(out, max_steps=6, batch_size=4, lr=1e-2, save_steps=1, progress=False)
    print("ready", flush=True)
    further_pretrain(model, tokenizer, texts, collator, config)


def kill_after_shards(shards: int) -> None:
    """Makes this process die (as kill -9 would) once it has written `shards` new augmentation shards."""
    import maskkit.augment.job as job

    written = [0]
    write = job._write_shard

    def write_then_die(*args, **kwargs):  # type: ignore[no-untyped-def]
        write(*args, **kwargs)
        written[0] += 1
        if written[0] == shards:
            os._exit(137)

    job._write_shard = write_then_die


def augment_cli(shards: str, *argv: str) -> None:
    """`maskkit augment ARGV`, killed after `shards` new shards (0: never)."""
    from maskkit.cli.main import main

    if int(shards):
        kill_after_shards(int(shards))
    sys.exit(main(["augment", *argv]))


def augment_job(shards: str, source: str, out: str) -> None:
    """`run_augment_job` with RandomDelete(0.3) in shards of 3, killed after `shards` new shards."""
    from maskkit.augment import RandomDelete
    from maskkit.augment.job import run_augment_job

    kill_after_shards(int(shards))
    run_augment_job(source, RandomDelete(0.3), out, {"method": "rd"}, shard_size=3, progress=False)


if __name__ == "__main__":
    job, *arguments = sys.argv[1:]
    jobs = {"augment": augment, "in_domain": in_domain, "pretrain": pretrain, "augment_cli": augment_cli,
            "augment_job": augment_job}  # fmt: skip
    jobs[job](*arguments)
