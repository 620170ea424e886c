"""Benchmark: lexing and masking stay linear on huge inputs.

    python bench/bench_parse.py [--size 1000000]

Prints CPU and wall seconds (CPU is what matters on a shared machine) for:

* ``lex``: :func:`mera_magic.command.shell.lex` of a cell of ``--size`` characters of repeated flags
  (target: under a second);
* ``mask_text``: :func:`mera_magic.secrets.mask_text` of adversarial texts of ``--size`` characters (one long
  word, ``key="`` without closing quotes, ``'token': '`` repeated, ``x://`` repeated, ``Bearer`` repeated, a
  40k-character value) with a few registered secrets (target: linear, about a second per MB).

lm_eval's own argument parser (argparse) is quadratic in repeated flags; it is not measured here.
"""

from __future__ import annotations

import argparse
import time

from mera_magic.command.shell import lex
from mera_magic.secrets import mask_text, register


def _measure(label: str, fn: object, *args: object) -> None:
    cpu, wall = time.process_time(), time.perf_counter()
    fn(*args)  # type: ignore[operator]
    print(f"{label:<40} cpu {time.process_time() - cpu:6.2f} s   wall {time.perf_counter() - wall:6.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=1_000_000)
    size = parser.parse_args().size
    flags = "--limit 1 "
    cell = "lm_eval --model hf --model_args pretrained=x " + flags * (size // len(flags)) + "--tasks parus"
    _measure(f"lex: {len(cell):,} chars of flags", lex, cell)
    for value in ("hf_REGISTEREDaaaaaaaaaaaaaaaa", "a-password-1", "sk-registeredbbbbbbbbbbbbbbb"):
        register(value)
    texts = {
        "one long word": "a" * size,
        'key=" unclosed': 'a="' * (size // 3),
        "'token': ' repeated": "'token': '" * (size // 10),
        "x:// repeated": "x://" * (size // 4),
        "Bearer repeated": "Bearer " * (size // 7),
        "token=a, repeated": "token=a," * (size // 8),
        "40k-char value": "k" * 40_000 + "=v " + "x" * (size - 40_003),
    }
    for label, text in texts.items():
        _measure(f"mask_text: {label}", mask_text, text)


if __name__ == "__main__":
    main()
