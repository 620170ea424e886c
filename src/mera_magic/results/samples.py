"""Per-document samples: lm_eval's logged samples, one row per document and filter.

Two shapes reach us:

* in memory, from ``simple_evaluate`` (``log_samples``): ``arguments`` is a list of tuples
  (``(context, continuation)`` per choice, or ``(context, gen_kwargs)``) and the responses keep their types
  (``(-1.23, False)`` log-likelihood pairs, generated strings);
* in ``samples_<task>_<stamp>.jsonl`` files written by ``EvaluationTracker``: ``arguments`` is
  ``{"gen_args_<i>": {"arg_<j>": ...}}`` and every response leaf is a string (``["-1.23", "False"]``).
  lm_eval 0.4.4 writes no ``filter`` key: a task with several filters logs every document once per filter,
  filter by filter, so the k-th line of a document belongs to the task's k-th filter.

Rows are normalised to the columns of :data:`BASE_COLUMNS` plus one column per per-sample metric.
Files are read lazily: :meth:`SampleSource.head` streams only the lines a page needs; :meth:`SampleSource.frame`
parses the whole file (with pyarrow's multi-threaded JSON reader when it can, line by line otherwise), once.
Lines that cannot be read are collected as :class:`~mera_magic.results.problems.Problem`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from .problems import Problem

#: keys of a logged sample that are not per-sample metrics
RECORD_KEYS = {
    "doc_id",
    "doc",
    "target",
    "arguments",
    "resps",
    "filtered_resps",
    "filter",
    "metrics",
    "doc_hash",
    "prompt_hash",
    "target_hash",
}
BASE_COLUMNS = [
    "doc_id",
    "filter",
    "prompt",
    "target",
    "response",
    "filtered",
    "choices",
    "loglikelihoods",
    "pred_index",
    "pred_choice",
    "gold_index",
]
TAIL_COLUMNS = ["correct", "doc", "doc_hash", "prompt_hash", "line"]
#: per-sample metrics that say right/wrong, in the order they are trusted for ``correct``
BINARY_METRICS = ("acc", "exact_match", "em", "acc_norm", "pass@1")
_EMPTY_TARGETS = {"", "None", "[]", "nan"}


# ---------------------------------------------------------------------------------------------------------
# normalisation of one logged sample


def argument_list(arguments: Any) -> list[list[Any]]:
    """``arguments`` in either layout as a list (one per request) of argument lists."""
    if isinstance(arguments, dict):
        out = []
        for key in sorted(arguments, key=_index_of):
            value = arguments[key]
            if isinstance(value, dict):
                out.append([value[k] for k in sorted(value, key=_index_of)])
            else:
                out.append([value])
        return out
    if isinstance(arguments, (list, tuple)):
        return [list(a) if isinstance(a, (list, tuple)) else [a] for a in arguments]
    return []


def _index_of(key: str) -> int:
    digits = "".join(ch for ch in str(key).rsplit("_", 1)[-1] if ch.isdigit())
    return int(digits) if digits else 0


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value in ("True", "False"):
        return value == "True"
    return None


def _as_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


_GREEDY = {"True": True, "False": False, True: True, False: False}


def _pair(value: Any) -> tuple[float, bool | None] | None:
    """A ``(loglikelihood, is_greedy)`` response, in memory or stringified; None for anything else."""
    while isinstance(value, (list, tuple)) and len(value) == 1 and isinstance(value[0], (list, tuple)):
        value = value[0]
    if isinstance(value, (list, tuple)) and len(value) == 2:
        first, second = value
        if second is not None and not isinstance(second, (str, bool)):
            return None
        greedy = _GREEDY.get(second) if second is not None else None
        if greedy is None and second is not None:
            return None
        ll = _as_float(first)
        if ll is not None:
            return ll, greedy
    return None


def _same_as_filtered(resps: Any, filtered: list[Any]) -> bool:
    """True when the raw responses are the filtered ones each wrapped in a list (``take_first``)."""
    if not isinstance(resps, (list, tuple)) or len(resps) != len(filtered):
        return False
    return all(isinstance(r, (list, tuple)) and len(r) == 1 and r[0] == f for r, f in zip(resps, filtered))


def _unwrap(value: Any) -> Any:
    """A single response out of its one-element lists (``[["text"]]`` -> ``"text"``); lists of several stay."""
    while isinstance(value, (list, tuple)) and len(value) == 1:
        value = value[0]
    return list(value) if isinstance(value, tuple) else value


def _target_text(target: Any) -> Any:
    if isinstance(target, tuple):
        return list(target)
    return target


def has_gold(target: Any) -> bool:
    """True when the sample carries a reference answer (MERA's closed test sets log an empty one)."""
    if target is None:
        return False
    if isinstance(target, float) and math.isnan(target):
        return False
    if isinstance(target, (list, tuple)):
        return len(target) > 0 and any(has_gold(t) for t in target)
    return str(target).strip() not in _EMPTY_TARGETS


def _gold_index(target: Any, choices: list[str], pred: int | None = None, acc: Any = None) -> int | None:
    """The index of the gold choice.  In memory the target's type says it (int: an index, str: the choice);
    in files every target is a string, so ``"1"`` may be the choice "1" or the index 1: the reading that
    agrees with the per-sample ``acc`` wins, else the choice text (MERA's targets are the answer text)."""
    if isinstance(target, bool) or not has_gold(target):
        return None
    if isinstance(target, int):
        return target if 0 <= target < len(choices) else None
    text = str(target).strip()
    stripped = [str(c).strip() for c in choices]
    candidates: list[int] = []
    if text in stripped:
        candidates.append(stripped.index(text))
    if text.lstrip("-").isdigit() and 0 <= int(text) < len(choices) and int(text) not in candidates:
        candidates.append(int(text))
    if len(candidates) > 1 and pred is not None and isinstance(acc, (int, float)) and acc in (0, 1):
        agreeing = [c for c in candidates if (c == pred) == (acc == 1)]
        if len(agreeing) == 1:
            return agreeing[0]
    return candidates[0] if candidates else None


def metric_keys(record: dict[str, Any]) -> list[str]:
    """The per-sample metric keys of a logged sample (``metrics`` lists them since 0.4.5; older: the rest)."""
    listed = record.get("metrics")
    if isinstance(listed, list):
        return [m for m in listed if isinstance(m, str) and m in record]
    return [k for k in record if k not in RECORD_KEYS]


def _metric_value(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        try:
            return value.item()
        except (TypeError, ValueError):
            return value
    return value


def _chat_messages(text: str) -> str:
    """A chat API backend's prompt (lm_eval's ``JsonChatStr``, a one-field tuple; a one-item list in files): its
    messages as JSON, with the text readable (lm_eval 0.4.4 writes non-ASCII characters as ``\\uXXXX``)."""
    try:
        messages = json.loads(text)
    except ValueError:
        return text
    if not (isinstance(messages, list) and all(isinstance(m, dict) for m in messages)):
        return text
    return json.dumps(messages, ensure_ascii=False)


def normalize(record: dict[str, Any], filter_name: str, line: int | None = None) -> dict[str, Any]:
    """One logged sample (either layout) as a row of the samples table."""
    args = argument_list(record.get("arguments"))
    prompt = args[0][0] if args and args[0] else None
    if isinstance(prompt, (list, tuple)) and len(prompt) == 1 and isinstance(prompt[0], str):
        prompt = _chat_messages(prompt[0])
    if prompt is not None and not isinstance(prompt, str):
        prompt = str(prompt)
    continuations = [a[1] if len(a) > 1 else None for a in args]
    resps = record.get("resps") or []
    filtered = record.get("filtered_resps")
    target = _target_text(record.get("target"))
    row: dict[str, Any] = {
        "doc_id": record.get("doc_id"),
        "filter": filter_name,
        "prompt": prompt,
        "target": target,
        "response": None,
        "filtered": None,
        "choices": None,
        "loglikelihoods": None,
        "pred_index": None,
        "pred_choice": None,
        "gold_index": None,
    }
    keys = metric_keys(record)
    loglik = (
        bool(args) and isinstance(filtered, (list, tuple)) and all(isinstance(c, str) for c in continuations)
    )
    filtered_pairs = [_pair(f) for f in filtered] if loglik else []  # type: ignore[union-attr]
    if loglik and filtered_pairs and all(p is not None for p in filtered_pairs):
        choices = [str(c) for c in continuations]
        lls = [p[0] for p in filtered_pairs if p is not None]
        if _same_as_filtered(resps, filtered):  # type: ignore[arg-type]
            raw_lls = lls
        else:
            raw_pairs = [_pair(r) for r in resps] if isinstance(resps, (list, tuple)) else []
            raw_lls = [p[0] for p in raw_pairs if p is not None]
        row["choices"] = [c.strip() for c in choices]
        row["loglikelihoods"] = lls
        if len(choices) > 1:
            pred = max(range(len(lls)), key=lls.__getitem__)
            row["pred_index"] = pred
            row["pred_choice"] = row["choices"][pred]
            row["filtered"] = row["choices"][pred]
            if len(raw_lls) == len(choices):
                row["response"] = row["choices"][max(range(len(raw_lls)), key=raw_lls.__getitem__)]
            else:
                row["response"] = row["filtered"]
            acc = _metric_value(record.get("acc")) if "acc" in keys else None
            row["gold_index"] = _gold_index(target, choices, pred, acc)
        else:  # a single loglikelihood request: the log-likelihood of the target continuation
            row["response"] = raw_lls[0] if raw_lls else lls[0]
            row["filtered"] = lls[0]
    else:
        row["response"] = _unwrap(resps)
        row["filtered"] = _unwrap(filtered)
    for key in keys:
        if key == "bypass":
            continue
        row[key] = _metric_value(record[key])
    row["correct"] = correctness(row, record)
    row["doc"] = record.get("doc")
    row["doc_hash"] = record.get("doc_hash")
    row["prompt_hash"] = record.get("prompt_hash")
    row["line"] = line
    return row


def correctness(row: dict[str, Any], record: dict[str, Any]) -> bool | None:
    """Right or wrong where a gold answer exists: a 0/1 metric first, else the picked choice or the text."""
    if not has_gold(row["target"]):
        return None
    for name in BINARY_METRICS:
        value = row.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value in (0, 1):
            return bool(value == 1)
        if isinstance(value, bool):
            return value
    if row["pred_index"] is not None and row["gold_index"] is not None:
        return row["pred_index"] == row["gold_index"]
    if row["choices"] is None and isinstance(row["filtered"], str) and isinstance(row["target"], str):
        return row["filtered"].strip() == row["target"].strip()
    return None


def frame_of(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The samples DataFrame for normalised rows, columns in a fixed order (metrics between base and tail)."""
    metric_columns: list[str] = []
    seen = set(BASE_COLUMNS) | set(TAIL_COLUMNS)
    for row in rows:
        for key in row:
            if key not in seen:
                seen.add(key)
                metric_columns.append(key)
    columns = BASE_COLUMNS + metric_columns + TAIL_COLUMNS
    frame = pd.DataFrame.from_records(rows, columns=columns)
    for column in ("choices", "loglikelihoods", "pred_choice", "doc", "target", "response", "filtered"):
        frame[column] = frame[column].astype(object)
    for column in ("pred_index", "gold_index", "line"):
        frame[column] = pd.array(frame[column].tolist(), dtype="Int64")
    frame["correct"] = pd.array([None if v is None else bool(v) for v in frame["correct"]], dtype="boolean")
    # columns that are entirely absent for this task carry no information
    empty = [
        c
        for c in ("choices", "loglikelihoods", "pred_index", "pred_choice", "gold_index")
        if frame[c].isna().all()
    ]
    return frame.drop(columns=empty)


# ---------------------------------------------------------------------------------------------------------
# sources: a JSONL file or an in-memory list


class SampleSource:
    """The logged samples of one task, from a file (read lazily) or from memory.

    ``filters`` is the task's filter list in lm_eval's order; it labels 0.4.4 lines, which carry no filter.
    """

    def __init__(
        self,
        task: str,
        *,
        path: Path | None = None,
        records: list[dict[str, Any]] | None = None,
        filters: list[str] | None = None,
    ) -> None:
        self.task = task
        self.path = path
        self._records = records
        self.filters = list(filters or ["none"])
        self.problems: list[Problem] = []
        self._frame: pd.DataFrame | None = None
        self._heads: dict[str | None, tuple[list[dict[str, Any]], Iterator[dict[str, Any]] | None]] = {}
        self._line_count: int | None = None

    # -- raw records --------------------------------------------------------------------------------------
    def _iter_file(self, problems: list[Problem]) -> Iterator[tuple[int, dict[str, Any]]]:
        assert self.path is not None
        try:
            handle = self.path.open("rb")
        except OSError as exc:
            problems.append(Problem(self.path, None, f"cannot be read ({exc.strerror or exc})"))
            return
        with handle:
            for number, raw in enumerate(handle, start=1):
                if not raw.strip():
                    continue
                try:
                    record = json.loads(raw)
                except (UnicodeDecodeError, ValueError) as exc:
                    problems.append(Problem(self.path, number, f"not a JSON line ({_short(exc)})"))
                    continue
                if not isinstance(record, dict) or "doc_id" not in record:
                    problems.append(Problem(self.path, number, "not an lm_eval sample (no doc_id)"))
                    continue
                yield number, record

    def _iter_records(self, problems: list[Problem]) -> Iterator[tuple[int | None, dict[str, Any]]]:
        if self._records is not None:
            for record in self._records:
                yield None, record
        else:
            yield from self._iter_file(problems)

    def _labelled(self, problems: list[Problem]) -> Iterator[dict[str, Any]]:
        """Normalised rows in file order, each with its filter (inferred for 0.4.4 lines)."""
        seen: dict[Any, int] = {}
        for line, record in self._iter_records(problems):
            name = record.get("filter")
            if not isinstance(name, str):
                k = seen.get(record.get("doc_id"), 0)
                seen[record.get("doc_id")] = k + 1
                name = self.filters[k] if k < len(self.filters) else f"filter_{k}"
            yield normalize(record, name, line)

    # -- lazy paging ------------------------------------------------------------------------------------------
    def head(self, stop: int, filter: str | None = None) -> list[dict[str, Any]]:
        """The first ``stop`` normalised rows (of one filter, or of all), reading only as much as needed."""
        if self._frame is not None:
            frame = self._frame if filter is None else self._frame[self._frame["filter"] == filter]
            return frame.iloc[:stop].to_dict("records")
        rows, iterator = self._heads.get(filter, ([], None))
        if iterator is None and not rows:
            iterator = (r for r in self._labelled(self.problems) if filter is None or r["filter"] == filter)
        while iterator is not None and len(rows) < stop:
            try:
                rows.append(next(iterator))
            except StopIteration:
                iterator = None
        self._heads[filter] = (rows, iterator)
        return rows[:stop]

    def count_hint(self, filter: str | None = None) -> int | None:
        """The number of rows (of one filter) without parsing: exact when the frame is built, else estimated."""
        if self._frame is not None:
            return int(len(self._frame) if filter is None else (self._frame["filter"] == filter).sum())
        if self._records is not None:
            total = len(self._records)
        else:
            total = self.line_count()
        if filter is None:
            return total
        return -(-total // max(len(self.filters), 1))

    def line_count(self) -> int:
        """Lines in the file (fast: counts newlines in binary chunks)."""
        if self._line_count is None:
            count = 0
            last = b"\n"
            if self.path is not None and self.path.exists():
                with self.path.open("rb") as handle:
                    for chunk in iter(lambda: handle.read(1 << 24), b""):
                        count += chunk.count(b"\n")
                        last = chunk[-1:]
                count += last != b"\n"
            self._line_count = count
        return self._line_count

    # -- the whole table ------------------------------------------------------------------------------------
    def frame(self) -> pd.DataFrame:
        """Every row of the task (parsed once and kept)."""
        if self._frame is None:
            problems: list[Problem] = []
            rows = None
            if self.path is not None:
                rows = _rows_with_arrow(self.path, self.filters, self.line_count())
            if rows is None:
                rows = list(self._labelled(problems))
            self.problems = problems
            self._frame = frame_of(rows)
            self._heads.clear()
        return self._frame


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) < 120 else text[:117] + "..."


def _rows_with_arrow(path: Path, filters: list[str], line_count: int) -> list[dict[str, Any]] | None:
    """Parse a samples file with pyarrow's JSON reader (multi-threaded); None when it cannot (bad lines,
    mixed types, pyarrow missing): the caller then reads line by line and reports what is wrong."""
    try:
        import pyarrow as pa
        import pyarrow.json as pj
    except ImportError:  # pragma: no cover - pyarrow comes with datasets, which lm_eval needs
        return None
    table = None
    for block in (1 << 22, 1 << 26):  # small blocks parse in parallel; a line longer than a block needs more
        try:
            table = pj.read_json(path, read_options=pj.ReadOptions(block_size=block))
            break
        except (pa.ArrowException, OSError, ValueError):
            continue
    if table is None:
        return None
    names = set(table.column_names)
    if "doc_id" not in names or "arguments" not in names or table.num_rows != line_count:
        return None  # (blank lines would shift the line numbers: read line by line then)
    try:
        columns: dict[str, list[Any]] = {}
        for name in table.column_names:
            if name == "arguments":
                continue
            columns[name] = table.column(name).to_pylist()
        arguments = table.column("arguments")
        arg_type = arguments.type
        per_request: list[list[list[Any]]] = [[] for _ in range(table.num_rows)]
        if pa.types.is_struct(arg_type):
            for i in sorted(range(arg_type.num_fields), key=lambda i: _index_of(arg_type.field(i).name)):
                request = pa.chunked_array([chunk.field(i) for chunk in arguments.chunks])
                request_type = arg_type.field(i).type
                if not pa.types.is_struct(request_type):
                    return None
                fields = sorted(
                    range(request_type.num_fields), key=lambda j: _index_of(request_type.field(j).name)
                )
                values: list[list[Any] | None] = []
                for j in fields:
                    if i > 0 and j == 0:  # later requests repeat the prompt: not needed
                        values.append(None)
                        continue
                    values.append(pa.chunked_array([chunk.field(j) for chunk in request.chunks]).to_pylist())
                valid = pa.chunked_array([chunk.is_valid() for chunk in request.chunks]).to_pylist()
                for r in range(table.num_rows):
                    if valid[r]:
                        per_request[r].append([None if v is None else v[r] for v in values])
        else:
            return None
    except (pa.ArrowException, IndexError, TypeError, ValueError):
        return None
    rows = []
    seen: dict[Any, int] = {}
    keys = [k for k in columns]
    for r in range(table.num_rows):
        record: dict[str, Any] = {k: columns[k][r] for k in keys}
        if record.get("metrics") is None:
            record.pop("metrics", None)
            # absent metric keys come back as nulls from the union schema: drop them
            for k in [k for k in record if k not in RECORD_KEYS and record[k] is None]:
                del record[k]
        else:
            for k in [k for k in record if k not in RECORD_KEYS and k not in record["metrics"]]:
                del record[k]
        record["arguments"] = per_request[r]
        name = record.get("filter")
        if not isinstance(name, str):
            occurrence = seen.get(record.get("doc_id"), 0)
            seen[record.get("doc_id")] = occurrence + 1
            name = filters[occurrence] if occurrence < len(filters) else f"filter_{occurrence}"
        rows.append(normalize(record, name, r + 1))
    return rows
