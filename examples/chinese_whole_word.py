"""Chinese whole-word masking: jieba words, not single characters and not whole clauses.

.venv/bin/python examples/chinese_whole_word.py [--vocab ../shared/models/bert-base-chinese-vocab]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from transformers import AutoTokenizer

import maskkit

TEXTS = ["这家酒店的服务态度非常好，房间也很干净。", "北京大学的图书馆藏书丰富，环境安静。"]


def main() -> None:
    default = Path(__file__).resolve().parents[2] / "shared" / "models" / "bert-base-chinese-vocab"
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vocab", default=str(default), help="a Chinese WordPiece tokenizer folder")
    args = parser.parse_args()
    tokenizer = AutoTokenizer.from_pretrained(args.vocab)
    features = maskkit.as_features(maskkit.Tokenize(tokenizer, segmenter=maskkit.jieba_segmenter)({"text": TEXTS}))
    collator = maskkit.MaskingCollator(
        tokenizer, selector=maskkit.WholeWordSelector(rate=0.3), word_source="column", return_tensors="np"
    )
    out = collator(features)
    for i, row in enumerate(out["input_ids"]):
        tokens = tokenizer.convert_ids_to_tokens([t for t in row.tolist() if t != tokenizer.pad_token_id])
        print(" ".join(tokens))
        print("  words:", " / ".join(maskkit.jieba_segmenter(TEXTS[i])))


if __name__ == "__main__":
    main()
