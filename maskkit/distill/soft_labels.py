"""Soft labels: a fine-tuned classifier's softened probabilities written as a dataset column.

Batched inference sorted by length (little padding), on the GPU in bf16/fp16 when present, with
progress. Under `accelerate launch` / `torchrun` each process scores its share of the rows and every
process gets the whole column back, identical to a one-process run. A dataset that already has the
column is returned as it is.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from maskkit.errors import InputError, MissingKey

SOFT_LABELS = "soft_labels"
SOFT_LABEL_IDS = "soft_label_ids"
TEACHER_LOGITS = "teacher_logits"
SOFT_LABEL_TEMPERATURE = "soft_labels_temperature"  # the temperature the soft labels were made at, per row


def check_soft_label_temperature(dataset: Any, temperature: float, what: str) -> None:
    """Soft labels made at one temperature are refused where another is asked for (the KD targets would
    be at the wrong T); soft labels without the recorded temperature (made elsewhere) are taken as given."""
    if SOFT_LABEL_TEMPERATURE not in dataset.column_names or len(dataset) == 0:
        return
    made = {float(t) for t in dataset.unique(SOFT_LABEL_TEMPERATURE)}
    if made != {float(temperature)}:
        raise InputError(
            f"the soft labels were made at temperature {sorted(made)} but {what} is {temperature}: regenerate them "
            f"at {temperature} (generate_soft_labels(..., temperature={temperature})) or use the temperature they "
            "were made at"
        )


def teacher_logits(model: Any, rows: list[dict[str, Any]], batch_size: int, tokenizer: Any, progress: bool) -> Any:
    """Logits for encoded rows (input_ids ...), in row order, batched by length."""
    from transformers import DataCollatorWithPadding

    from maskkit.progress import progress_bar

    pad = DataCollatorWithPadding(tokenizer)
    inputs = [k for k in ("input_ids", "attention_mask", "token_type_ids") if rows and k in rows[0]]
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]["input_ids"]))
    out = np.zeros((len(rows), int(model.config.num_labels)), dtype=np.float32)
    device = model.device
    dtype = None
    if device.type == "cuda":
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    was_training = model.training
    model.eval()
    starts = range(0, len(order), batch_size)
    bar = progress_bar(len(starts), "soft labels", "batch", enabled=progress)
    with torch.no_grad():
        for start in starts:
            bar.update(1)
            chosen = order[start : start + batch_size]
            batch = pad([{k: rows[i][k] for k in inputs} for i in chosen])
            batch = {k: v.to(device) for k, v in batch.items()}
            with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
                logits = model(**batch).logits
            out[chosen] = logits.float().cpu().numpy()
    bar.close()
    model.train(was_training)
    return out


def soften(logits: Any, temperature: float, top_k: int | None) -> tuple[Any, Any]:
    """softmax(logits / T); with top_k, the k largest renormalised to sum to 1, and their class ids."""
    scaled = torch.from_numpy(np.asarray(logits, dtype=np.float32)) / temperature
    probs = torch.softmax(scaled, dim=-1)
    if top_k is None or top_k >= probs.shape[-1]:
        return probs.numpy(), None
    values, ids = probs.topk(top_k, dim=-1)
    return (values / values.sum(dim=-1, keepdim=True)).numpy(), ids.numpy()


def generate_soft_labels(
    model: Any,
    dataset: Any,
    tokenizer: Any,
    temperature: float = 1.0,
    top_k: int | None = None,
    batch_size: int = 64,
    keep_logits: bool = False,
    progress: bool = True,
    chunk_rows: int = 16_384,
) -> Any:
    """Adds `soft_labels` (probabilities at `temperature`, rows sum to 1) to an encoded dataset.

    `top_k`: keep only the k most probable classes (renormalised) in `soft_labels` and their ids in
    `soft_label_ids`, for tasks with many classes. `keep_logits` also writes `teacher_logits` (for the
    MSE loss). The temperature is recorded in `soft_labels_temperature`, and distillation at another one
    is refused. Shards across processes when launched with accelerate/torchrun; `chunk_rows` rows are held
    in memory at a time.
    """
    from accelerate import PartialState
    from accelerate.utils import gather_object

    if temperature <= 0:
        raise InputError(f"temperature must be > 0, got {temperature}")
    if top_k is not None and top_k < 1:
        raise InputError(f"top_k must be >= 1, got {top_k}")
    if chunk_rows < 1:
        raise InputError(f"chunk_rows must be >= 1, got {chunk_rows}")
    if SOFT_LABELS in dataset.column_names:
        check_soft_label_temperature(dataset, temperature, "the temperature asked for")
        return dataset
    if "input_ids" not in dataset.column_names:
        raise MissingKey("soft labels need an encoded dataset (input_ids); encode it as for fine-tuning first")
    if len(dataset) == 0:
        raise InputError("the dataset to label is empty")
    state = PartialState(cpu=not torch.cuda.is_available())  # cpu=True: torchrun on CPU uses gloo
    with state.split_between_processes(list(range(len(dataset)))) as mine:
        # a chunk of rows at a time in memory, however large the dataset (each chunk's batches sorted by length)
        show = progress and state.is_main_process
        parts = [teacher_logits(model, dataset.select(mine[i : i + chunk_rows]).to_list(), batch_size, tokenizer,
                                show) for i in range(0, len(mine), chunk_rows)]  # fmt: skip
        logits = np.concatenate(parts) if parts else np.zeros((0, int(model.config.num_labels)), dtype=np.float32)
    if state.num_processes > 1:
        logits = np.asarray(gather_object([row for row in logits]), dtype=np.float32)
    probs, ids = soften(logits, temperature, top_k)
    dataset = dataset.add_column(SOFT_LABELS, probs.tolist())
    dataset = dataset.add_column(SOFT_LABEL_TEMPERATURE, [float(temperature)] * len(dataset))
    if ids is not None:
        dataset = dataset.add_column(SOFT_LABEL_IDS, ids.tolist())
    if keep_logits:
        dataset = dataset.add_column(TEACHER_LOGITS, np.asarray(logits).tolist())
    return dataset


def dense_soft_labels(values: torch.Tensor, ids: torch.Tensor | None, num_labels: int) -> torch.Tensor:
    """Full-width probabilities from the column (top-k values scattered back to their class ids)."""
    if ids is None:
        return values
    return torch.zeros(values.shape[0], num_labels, dtype=values.dtype, device=values.device).scatter(1, ids, values)
