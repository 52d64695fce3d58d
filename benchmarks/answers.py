"""Provider answers for the benchmark: recorded snapshots where present, synthetic ones otherwise.

The recorded answers live in ``/work/shared/snapshots/models_<name>.json`` (or ``$VEXY_SNAPSHOTS``).
That folder is not part of the repository, so every built-in provider also has a row in
:data:`SIZES` and a synthetic answer of the same record count and byte size can stand in for it:
the benchmark then still exercises the same amount of HTTP, JSON and SQLite work.
"""

from __future__ import annotations

import json
import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_SNAPSHOTS = Path("/work/shared/snapshots")

# (provider, records, bytes of the answer as served: json.dumps of the decoded file).
# Rows for providers with a snapshot were measured off the September 2025 recordings; the nine
# without one (avian .. xai) are estimates of what such a provider lists, so that all 40
# built-ins are served.
SIZES: list[tuple[str, int, int]] = [
    ("aihorde", 30, 10_013),
    ("anthropic", 9, 1_256),
    ("atlascloud", 30, 11_615),
    ("avian", 8, 4_000),
    ("baseten", 11, 5_774),
    ("cerebras", 9, 836),
    ("chutes", 66, 42_730),
    ("deepinfra", 151, 73_750),
    ("deepseek", 2, 168),
    ("enfer", 4, 458),
    ("featherless", 6_504, 1_577_456),
    ("fireworks", 37, 9_390),
    ("friendli", 20, 8_000),
    ("gemini", 62, 5_208),
    ("groq", 21, 4_075),
    ("huggingface", 105, 35_719),
    ("hyperbolic", 24, 5_950),
    ("inference", 16, 1_392),
    ("infermatic", 25, 2_704),
    ("litellm", 1_554, 587_976),
    ("llm7", 38, 4_954),
    ("lmstudio", 64, 5_720),
    ("mancer", 10, 3_000),
    ("mistral", 67, 39_624),
    ("moonshot", 12, 3_044),
    ("morphllm", 4, 800),
    ("nebius", 65, 6_732),
    ("nineteenai", 10, 2_500),
    ("novita", 90, 60_000),
    ("openai", 83, 7_828),
    ("openrouter", 326, 450_701),
    ("parasail", 34, 2_684),
    ("poe", 287, 73_396),
    ("pollinations", 17, 1_531),
    ("redpill", 220, 229_668),
    ("sambanova", 11, 2_591),
    ("targon", 20, 6_000),
    ("togetherai", 200, 120_000),
    ("xai", 12, 3_000),
    ("zai", 2, 194),
]

# The built-ins with no recording: their SIZES rows are estimates.
ESTIMATED = frozenset(
    {"avian", "friendli", "mancer", "morphllm", "nineteenai", "novita", "targon", "togetherai", "xai"}
)
# The providers whose answers were recorded (shared/snapshots): what the fetch rows serve.
RECORDED = [name for name, _, _ in SIZES if name not in ESTIMATED]

KINDS = {"anthropic": "anthropic", "litellm": "url"}

_WORDS = (
    "model instruct chat reasoning vision tool context window tokens fast large small base "
    "tuned preview latest stable multilingual code math agent open weights distilled quantized"
).split()
_FAMILIES = ("llama", "qwen", "mistral", "gemma", "deepseek", "phi", "glm", "kimi", "granite", "olmo")


@dataclass
class Answer:
    """One provider's answer as the fake server sends it."""

    provider: str
    kind: str  # openai, anthropic (body is the record list, paged by the server) or url
    body: Any
    records: int
    source: str  # snapshot or synthetic

    def encoded(self) -> bytes:
        return json.dumps(self.body).encode("utf-8")

    def payload(self) -> Any:
        """The decoded answer as vexy stores it (Anthropic's pages merged into one data list)."""
        return {"data": self.body} if self.kind == "anthropic" else self.body


def snapshot_dir() -> Path:
    """``$VEXY_SNAPSHOTS``, else the shared/ folder beside the checkout (where CI puts its copy),
    else /work/shared/snapshots."""
    if os.environ.get("VEXY_SNAPSHOTS"):
        return Path(os.environ["VEXY_SNAPSHOTS"])
    beside = Path(__file__).resolve().parent.parent.parent / "shared" / "snapshots"
    return beside if beside.is_dir() else DEFAULT_SNAPSHOTS


def _text(rng: random.Random, length: int) -> str:
    words: list[str] = []
    size = 0
    while size < length:
        word = rng.choice(_WORDS)
        words.append(word)
        size += len(word) + 1
    return " ".join(words)[:length]


def _record(provider: str, kind: str, i: int, rng: random.Random) -> tuple[str, dict[str, Any]]:
    family = _FAMILIES[i % len(_FAMILIES)]
    model_id = f"{family}-{rng.choice((7, 8, 32, 70, 405))}b-{provider}-{i:05d}"
    if kind == "anthropic":
        return model_id, {
            "type": "model",
            "id": model_id,
            "display_name": f"{family.title()} {i}",
            "created_at": "2025-02-19T00:00:00Z",
        }
    if kind == "url":
        return model_id, {
            "max_tokens": 8192,
            "max_input_tokens": 131072,
            "input_cost_per_token": rng.randint(1, 5000) * 1e-9,
            "output_cost_per_token": rng.randint(1, 5000) * 4e-9,
            "litellm_provider": provider,
            "mode": "chat",
            "supports_function_calling": rng.random() < 0.5,
        }
    return model_id, {"id": model_id, "object": "model", "created": 1_700_000_000 + i, "owned_by": provider}


def synthetic_answer(provider: str, count: int, nbytes: int) -> Answer:
    """An answer of ``count`` records whose JSON is about ``nbytes`` long, in the provider's shape."""
    kind = KINDS.get(provider, "openai")
    rng = random.Random(provider)
    per_record = max(0, nbytes // max(count, 1) - 4)
    records: list[tuple[str, dict[str, Any]]] = []
    for i in range(count):
        model_id, record = _record(provider, kind, i, rng)
        # Pad with a description so the answer carries the same bytes as the real one.
        pad = per_record - len(json.dumps(record)) - len(', "description": ""')
        if pad > 0:
            record["description"] = _text(rng, pad)
        records.append((model_id, record))
    body: Any
    if kind == "anthropic":
        body = [r for _, r in records]
    elif kind == "url":
        body = {model_id: r for model_id, r in records}
    elif provider == "llm7":
        body = [r for _, r in records]  # llm7 answers with a bare list
    else:
        body = {"object": "list", "data": [r for _, r in records]}
    return Answer(provider, kind, body, count, "synthetic")


def load_answers(names: list[str] | None = None, folder: Path | None = None) -> dict[str, Answer]:
    """The answers of the named built-ins (all 40 when None), recorded where a snapshot exists."""
    folder = snapshot_dir() if folder is None else folder
    sizes = {name: (count, nbytes) for name, count, nbytes in SIZES}
    out: dict[str, Answer] = {}
    for name in names or list(sizes):
        path = folder / f"models_{name}.json"
        kind = KINDS.get(name, "openai")
        if path.is_file():
            body = json.loads(path.read_text(encoding="utf-8"))
            if kind == "anthropic":
                # The recording is one page; the fake server pages the bare record list itself.
                body = body["data"]
            if isinstance(body, list):
                count = len(body)
            elif isinstance(body.get("data"), list):
                count = len(body["data"])
            else:
                count = len([k for k in body if k != "sample_spec"])
            out[name] = Answer(name, kind, body, count, "snapshot")
        else:
            count, nbytes = sizes[name]
            out[name] = synthetic_answer(name, count, nbytes)
    return out


# An OpenRouter-shaped record trimmed to ~300 bytes: the scale test's unit of work.
_SCALE_RECORD = (
    '{{"id":"{family}-{size}b/model-{i:07d}","name":"{title} {size}B {i}","created":{created},'
    '"context_length":{ctx},"architecture":{{"modality":"text->text","input_modalities":["text"],'
    '"output_modalities":["text"]}},"pricing":{{"prompt":"0.{p:010d}","completion":"0.{c:010d}"}},'
    '"top_provider":{{"context_length":{ctx},"max_completion_tokens":{out}}}}}'
)


def scale_body(count: int) -> bytes:
    """``{"data": [...]}`` with ``count`` ~300-byte records, built as bytes (a 1M-record answer
    as Python objects would cost the parent process gigabytes)."""
    parts = []
    for i in range(count):
        family = _FAMILIES[i % len(_FAMILIES)]
        parts.append(
            _SCALE_RECORD.format(
                family=family,
                title=family.title(),
                size=(7, 8, 32, 70, 405)[i % 5],
                i=i,
                created=1_700_000_000 + i,
                ctx=(8192, 32768, 131072, 1048576)[i % 4],
                p=(i * 7919) % 10_000_000,
                c=(i * 104_729) % 10_000_000,
                out=(4096, 8192, 16384)[i % 3],
            )
        )
    return b'{"object":"list","data":[' + ",".join(parts).encode("utf-8") + b"]}"
