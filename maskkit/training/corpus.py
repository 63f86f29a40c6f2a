"""Corpora for further pre-training at scale: files and globs read through `datasets`, memory-mapped (cached
on disk by their content's fingerprint) or streamed, with every skipped line counted and reported.

Text files hold one document per line (`documents="line"`), or documents separated by blank lines
(`documents="blank-line"`, the format of BERT's and RoBERTa's pre-training data). A line is kept byte for
byte apart from its line ending ("\\n" or "\\r\\n"). Empty lines, lines that are not UTF-8 and lines holding
NUL bytes (binary junk) are skipped and counted with the place of the first; a file with no newline at its
end keeps its last line and is named in the report. JSONL, CSV, TSV and Parquet files are read by
`datasets`' own builders; their `text_column` is the document, and rows whose value is empty or not text
are skipped and counted the same way.

Large text files are read in chunks of about 64 MiB that start at line boundaries, so a stream has one
shard per chunk: `torchrun` / `accelerate` give each process its own shards, and `num_proc` reads them in
parallel. `corpus_blocks` tokenises and packs a corpus into pre-training examples
(`maskkit.training.packing.PackBlocks`): through `datasets.map`, cached by fingerprint, with `num_proc`.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from maskkit.errors import InputError, MissingFile, MissingKey
from maskkit.runs.hub_data import is_hub_dataset, load_hub_dataset

CHUNK_BYTES = 64 * 2**20
TABLE_BUILDERS: dict[str, tuple[str, dict[str, Any]]] = {
    ".jsonl": ("json", {}), ".json": ("json", {}), ".csv": ("csv", {}), ".tsv": ("csv", {"delimiter": "\t"}),
    ".parquet": ("parquet", {}),
}  # fmt: skip
DOCUMENTS = ("line", "blank-line")
PACKINGS = ("full", "document")
PROBLEMS = {"empty": "empty", "not-utf8": "not UTF-8", "binary": "binary (NUL bytes)", "not-text": "not text"}
READER_VERSION = 2  # part of every text file's cache key: raise it when text_rows reads differently


def row_features() -> Any:
    from datasets import Features, Value

    return Features({"text": Value("string"), "problem": Value("string"), "where": Value("string")})


@dataclass
class CorpusReport:
    """What reading a corpus kept and skipped. A streamed corpus fills it in as it is read."""

    files: list[str]
    documents: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # problem -> count
    first: dict[str, str] = field(default_factory=dict)  # problem -> where the first one is
    unterminated: list[str] = field(default_factory=list)  # files with no newline at the end
    empty_files: list[str] = field(default_factory=list)

    def count(self, problem: str, where: str) -> None:
        if not problem:
            self.documents += 1
            return
        self.skipped[problem] = self.skipped.get(problem, 0) + 1
        self.first.setdefault(problem, where)

    def lines(self) -> list[str]:
        out = [f"corpus: {self.documents:,} documents from {len(self.files)} files"]
        for problem, n in sorted(self.skipped.items()):
            out.append(f"corpus: skipped {n:,} {PROBLEMS.get(problem, problem)} rows (first: {self.first[problem]})")
        out += [f"corpus: {path} has no newline at its end (its last line is kept)" for path in self.unterminated]
        out += [f"corpus: {path} is empty" for path in self.empty_files]
        return out


@dataclass
class CorpusSettings:
    """How `maskkit pretrain` reads its `--texts` corpora and makes examples of them."""

    documents: str = "line"  # "line": one document per line; "blank-line": documents end at a blank line
    text_column: str = "text"  # of JSONL, CSV, TSV and Parquet files
    packing: str = "full"  # "full" (blocks across documents) or "document" (never across; line by line)
    streaming: bool = False
    shuffle_buffer: int = 10_000  # a stream's blocks are shuffled in a buffer this large (0: in file order)
    num_proc: int | None = None  # processes for reading, tokenising and packing a memory-mapped corpus

    def __post_init__(self) -> None:
        if self.documents not in DOCUMENTS:
            raise InputError(f"documents must be one of {DOCUMENTS}, got {self.documents!r}")
        if self.packing not in PACKINGS:
            raise InputError(f"packing must be one of {PACKINGS}, got {self.packing!r}")
        if self.shuffle_buffer < 0:
            raise InputError(f"shuffle_buffer must be >= 0, got {self.shuffle_buffer}")
        if self.num_proc is not None and self.num_proc < 1:
            raise InputError(f"num_proc must be >= 1, got {self.num_proc}")


@dataclass
class Corpus:
    """A corpus's documents as one `text` column: a memory-mapped `datasets.Dataset`, or a
    `datasets.IterableDataset` when streamed; and the report of what was kept and skipped."""

    dataset: Any
    report: CorpusReport
    streaming: bool = False


def corpus_files(patterns: Sequence[str]) -> list[str]:
    """Files named, matched by globs (`**` recursive) or inside folders, in the order given (each glob's
    and folder's files sorted). A pattern that matches nothing is an error that names it."""
    files: list[str] = []
    for pattern in patterns:
        pattern = os.fspath(pattern)
        if is_hub_dataset(pattern):  # read by load_corpus through datasets
            found = [pattern]
        elif any(c in pattern for c in "*?["):
            found = sorted(p for p in glob.glob(pattern, recursive=True) if os.path.isfile(p))
            if not found:
                raise MissingFile(f"corpus pattern {pattern!r} matches no file")
        elif os.path.isdir(pattern):
            found = sorted(os.path.join(root, name) for root, _, names in os.walk(pattern) for name in names
                           if not name.startswith("."))  # fmt: skip
            if not found:
                raise MissingFile(f"corpus folder {pattern!r} holds no file")
        elif os.path.isfile(pattern):
            found = [pattern]
        else:
            raise MissingFile(f"corpus file {pattern!r} does not exist")
        files += found
    return files


def text_chunks(path: str, documents: str, chunk_bytes: int = CHUNK_BYTES) -> tuple[list[dict[str, Any]], bool]:
    """A text file's chunks (start and end at line starts, each with its first line's number), and whether
    the file ends with a newline. Blank-line documents may span lines anywhere, so they read as one chunk."""
    stat = os.stat(path)
    key = f"{os.path.abspath(path)}:{stat.st_size}:{stat.st_mtime_ns}:{READER_VERSION}"
    chunks, start, line = [], 0, 1
    with open(path, "rb") as f:
        while start < stat.st_size:
            end = stat.st_size
            if documents == "line" and start + chunk_bytes < stat.st_size:
                f.seek(start + chunk_bytes)
                f.readline()  # the rest of the line under way belongs to this chunk
                end = min(f.tell(), stat.st_size)
            f.seek(start)
            newlines = count_newlines(f, end - start)
            chunks.append({"path": path, "start": start, "end": end, "line": line, "key": key})
            start, line = end, line + newlines
        terminated = True
        if stat.st_size:
            f.seek(stat.st_size - 1)
            terminated = f.read(1) == b"\n"
    return chunks, terminated


def count_newlines(f: Any, size: int, block: int = 2**20) -> int:
    """Newlines in the next `size` bytes of `f`, read a MiB at a time (a chunk of blank-line documents is
    a whole file)."""
    count = 0
    while size > 0:
        data = f.read(min(block, size))
        if not data:
            break
        count += data.count(b"\n")
        size -= len(data)
    return count


def read_line(raw: bytes) -> tuple[str, str]:
    """A line's text (its ending removed) and its problem ("" when it is kept)."""
    raw = raw[:-1] if raw.endswith(b"\n") else raw
    raw = raw[:-1] if raw.endswith(b"\r") else raw
    if b"\0" in raw:
        return raw.decode("utf-8", "replace"), "binary"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("utf-8", "replace"), "not-utf8"
    return text, "" if text.strip() else "empty"


def text_rows(chunks: list[dict[str, Any]], documents: str) -> Iterator[dict[str, str]]:
    """Rows (text, problem, where) of text-file chunks: every line or document, kept or not, so the skips
    can be counted from the data itself (a cached corpus reports them again); `where` is a skipped row's
    file and line ("" for a kept one)."""
    for chunk in chunks:
        name, number = chunk["path"], chunk["line"]
        lines: list[str] = []
        with open(name, "rb") as f:
            f.seek(chunk["start"])
            position = chunk["start"]
            while position < chunk["end"]:
                raw = f.readline()
                position += len(raw)
                text, problem = read_line(raw)
                where = f"{name}, line {number}" if problem else ""  # only a skipped row's place is kept
                number += 1
                if documents == "line" or problem not in ("", "empty"):
                    yield {"text": text, "problem": problem, "where": where}
                elif problem == "empty":  # a blank line ends a document
                    if lines:
                        yield {"text": "\n".join(lines), "problem": "", "where": ""}
                    lines = []
                else:
                    lines.append(text)
        if lines:
            yield {"text": "\n".join(lines), "problem": "", "where": ""}


@dataclass(frozen=True)
class TableRows:
    """A table file's rows as (text, problem, where): `datasets.map` stage, with indices."""

    column: str
    name: str

    def __call__(self, batch: dict[str, list[Any]], indices: list[int]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {"text": [], "problem": [], "where": []}
        for value, i in zip(batch[self.column], indices):
            problem = "not-text" if value is not None and not isinstance(value, str) else ""
            if not problem and not (value or "").strip():
                problem = "empty"
            out["text"].append(value if isinstance(value, str) else "" if value is None else repr(value))
            out["problem"].append(problem)
            out["where"].append(f"{self.name}, row {i}" if problem else "")
        return out


def keep_row(problems: list[str]) -> list[bool]:
    return [not p for p in problems]


class StreamCount:
    """The filter of a streamed corpus: keeps the rows with no problem, counting every row in the report."""

    def __init__(self, report: CorpusReport) -> None:
        self.report = report

    def __call__(self, problems: list[str], places: list[str]) -> list[bool]:
        for problem, where in zip(problems, places):
            self.report.count(problem, where)
        return keep_row(problems)


def table_part(path: str, text_column: str, streaming: bool, cache_dir: str | None, num_proc: int | None) -> Any:
    from datasets import load_dataset

    if is_hub_dataset(path):
        table = load_hub_dataset(path)[0]
        table = table.to_iterable_dataset() if streaming else table
    else:
        builder, options = TABLE_BUILDERS[os.path.splitext(path)[1].lower()]
        table = load_dataset(builder, data_files=[path], split="train", streaming=streaming, cache_dir=cache_dir,
                             **options)  # fmt: skip
    columns = table.column_names
    if columns is None:  # a stream whose columns are known only from its first row
        columns = list(next(iter(table.take(1)), {}))
    if text_column not in columns:
        raise MissingKey(f"{path}: no {text_column!r} column to read documents from (columns: {columns})")
    stage = TableRows(text_column, path)
    kwargs: dict[str, Any] = {} if streaming else {"num_proc": num_proc, "desc": f"read {os.path.basename(path)}"}
    return table.map(stage, batched=True, with_indices=True, remove_columns=columns, features=row_features(),
                     **kwargs)  # fmt: skip


def load_corpus(
    patterns: Sequence[str], documents: str = "line", text_column: str = "text", streaming: bool = False,
    cache_dir: str | None = None, num_proc: int | None = None, log: Any = print, chunk_bytes: int = CHUNK_BYTES,
) -> Corpus:  # fmt: skip
    """Reads the corpus in `patterns` (files, globs, folders; text, JSONL, CSV, TSV, Parquet by extension).

    Memory-mapped by default: the rows are written once to `datasets`' cache (`cache_dir`, default
    `HF_DATASETS_CACHE`) under a key of each file's path, size and modification time, so a rerun reads
    them back without parsing again. `streaming=True` reads them lazily instead (for a corpus larger than
    the disk cache); its report fills in as the stream is read. The report's lines go to `log`.
    """
    from datasets import Dataset, IterableDataset, concatenate_datasets

    if documents not in DOCUMENTS:
        raise InputError(f"documents must be one of {DOCUMENTS}, got {documents!r}")
    files = corpus_files(patterns)
    report = CorpusReport(files=files)
    parts: list[Any] = []
    text_group: list[dict[str, Any]] = []

    def close_text_group() -> None:
        if not text_group:
            return
        kwargs = {"features": row_features(), "gen_kwargs": {"chunks": list(text_group), "documents": documents}}
        if streaming:
            parts.append(IterableDataset.from_generator(text_rows, **kwargs))
        else:
            parts.append(Dataset.from_generator(text_rows, cache_dir=cache_dir, num_proc=num_proc, **kwargs))
        text_group.clear()

    for path in files:
        if os.path.splitext(path)[1].lower() in TABLE_BUILDERS or is_hub_dataset(path):
            close_text_group()
            parts.append(table_part(path, text_column, streaming, cache_dir, num_proc))
            continue
        chunks, terminated = text_chunks(path, documents, chunk_bytes)
        if not chunks:
            report.empty_files.append(path)
        text_group.extend(chunks)
        if not terminated:
            report.unterminated.append(path)
    close_text_group()
    if not parts:
        raise InputError(f"the corpus {list(patterns)} holds only empty files")
    rows = parts[0] if len(parts) == 1 else concatenate_datasets(parts)
    if streaming:
        kept = rows.filter(StreamCount(report), input_columns=["problem", "where"], batched=True)
        return Corpus(kept.select_columns(["text"]), report, streaming=True)
    count_problems(rows, report)
    for line in report.lines():
        log(line)
    if not report.documents:
        raise InputError(f"the corpus {list(patterns)} has no document that is not empty (see the counts above)")
    kept = rows.filter(keep_row, input_columns="problem", batched=True, num_proc=num_proc, desc="skip empty lines")
    return Corpus(kept.select_columns(["text"]), report)


def count_problems(rows: Any, report: CorpusReport) -> None:
    """The report's counts read from a memory-mapped corpus's `problem` column (arrow, no Python loop)."""
    import pyarrow.compute as pc

    problems = rows.data.column("problem")
    for entry in pc.value_counts(problems).to_pylist():
        problem, n = entry["values"], entry["counts"]
        if not problem:
            report.documents = n
            continue
        report.skipped[problem] = n
        report.first[problem] = rows[int(pc.index(problems, problem).as_py())]["where"]


def corpus_blocks(
    corpus: Any, tokenizer: Any, block_size: int, packing: str = "full", num_proc: int | None = None,
    segmenter: Any = "auto",
) -> Any:  # fmt: skip
    """A corpus (a `Corpus`, or a Dataset / IterableDataset with a `text` column) as pre-training examples
    of at most `block_size` tokens, specials included, with word ids for whole-word and span masking.

    `packing="full"`: documents laid end to end and cut into full blocks at word boundaries (RoBERTa's
    FULL-SENTENCES); `"document"`: a block never crosses a document boundary (DOC-SENTENCES; with one
    document per line, line by line, except that a line longer than a block continues in the next block
    instead of being cut off). Memory-mapped corpora are tokenised and packed with `num_proc` processes,
    cached by fingerprint: a rerun, or a second arm with the same tokenizer and size, reads the cache.
    With `num_proc` > 1 each process's last block may be short, so the blocks equal a stream's only with
    `num_proc` None or 1.
    """
    from datasets import Features, Value
    from datasets import Sequence as Column

    from maskkit.dataset_stages import Tokenize
    from maskkit.training.packing import PackBlocks

    if packing not in PACKINGS:
        raise InputError(f"packing must be one of {PACKINGS}, got {packing!r}")
    data = corpus.dataset if isinstance(corpus, Corpus) else corpus
    streaming = not hasattr(data, "__len__")
    tokenize = Tokenize(tokenizer, max_length=None, segmenter=segmenter)
    pack = PackBlocks(tokenizer, block_size, cross_documents=packing == "full")
    features = Features({"input_ids": Column(Value("int32")), "word_ids": Column(Value("int32")),
                         "attention_mask": Column(Value("int8")), "split_words": Value("int32")})  # fmt: skip
    kwargs: dict[str, Any] = {} if streaming else {"num_proc": num_proc}
    named = {} if streaming else {"desc": "tokenise", "new_fingerprint": stage_fingerprint(data, tokenize, tokenizer)}
    tokens = data.map(tokenize, batched=True, remove_columns=["text"], **kwargs, **named)
    named = {} if streaming else {"desc": "pack blocks", "new_fingerprint": stage_fingerprint(tokens, pack, tokenizer)}
    return tokens.map(pack, batched=True, remove_columns=["input_ids", "word_ids", "attention_mask"],
                      features=features, **kwargs, **named)  # fmt: skip


STAGE_VERSIONS = {"Tokenize": 2, "PackBlocks": 1}  # raised when a stage's output changes (2: words across families)


def tokenizer_digest(tokenizer: Any) -> str:
    """A tokenizer's identity for cache keys: its fast tokenizer's JSON and special tokens, hashed in
    milliseconds (`datasets` would pickle the whole object with dill, about a second per map)."""
    import hashlib

    from datasets.fingerprint import Hasher

    if not getattr(tokenizer, "is_fast", False):
        return str(Hasher.hash(tokenizer))
    digest = hashlib.blake2b(tokenizer.backend_tokenizer.to_str().encode(), digest_size=16)
    digest.update(repr((type(tokenizer).__name__, tokenizer.special_tokens_map, len(tokenizer))).encode())
    return digest.hexdigest()


def stage_fingerprint(data: Any, stage: Any, tokenizer: Any) -> str:
    """The cache key of a corpus stage's output: its input's fingerprint, the stage's settings and version,
    and the tokenizer's digest (a user's own segmenter callable is hashed by `datasets`)."""
    import dataclasses
    import hashlib

    from datasets.fingerprint import Hasher

    settings = {f.name: getattr(stage, f.name) for f in dataclasses.fields(stage) if f.name != "tokenizer"}
    if callable(settings.get("segmenter")):
        settings["segmenter"] = Hasher.hash(settings["segmenter"])
    name = type(stage).__name__
    key = repr((data._fingerprint, name, STAGE_VERSIONS[name], sorted(settings.items()), tokenizer_digest(tokenizer)))
    return hashlib.blake2b(key.encode(), digest_size=8).hexdigest()
