"""Prompts built by concatenating token ids, never by re-tokenising a joined string.

Tokenising ``demos + query`` as one string moves token boundaries at the seams (seen with
SmolLM2 on "\\n\\n" followed by "Review"), so ICL would not share the anchor's exact query
tokens. Every piece is tokenised on its own and the ids are concatenated:

    anchor = prefix + query(x)
    ICL    = prefix + demo(d1) + ... + demo(dk) + query(x)
    IT     = anchor ids, run through the model with the tuned adapter

For the chat template the pieces are cut out of the model's own rendered conversation
(header, one user+assistant turn per demonstration, the query turn with the generation
prompt); ``ChatPieces`` checks that they add up to the rendered whole.
"""

from __future__ import annotations

from dataclasses import dataclass

from transformers import PreTrainedTokenizerBase

from services.common.spec.catalog import TaskInfo


class TemplateError(ValueError):
    """The model's chat template cannot be cut into pieces that add up to the whole."""


@dataclass(frozen=True)
class Demo:
    """One demonstration: its input text, the label it is shown with, and its task."""

    text: str
    label: str
    task: TaskInfo


TrainingPair = tuple[list[int], list[int]]  # (prompt ids, target ids)


@dataclass(frozen=True)
class Prompt:
    """A prompt's token ids and their decoded text (the text recorded for readers)."""

    ids: list[int]
    text: str


def encode(tokenizer: PreTrainedTokenizerBase, text: str) -> list[int]:
    """Token ids of ``text`` with no special tokens: one piece of a prompt."""
    return list(tokenizer(text, add_special_tokens=False).input_ids)


def decode(tokenizer: PreTrainedTokenizerBase, ids: list[int]) -> str:
    """The text of one sequence of ids."""
    text = tokenizer.decode(ids)
    if not isinstance(text, str):  # a list of texts is what a batch of sequences decodes to
        raise TypeError(f"decode gave {type(text).__name__}, not str")
    return text


def special_prefix(tokenizer: PreTrainedTokenizerBase) -> list[int]:
    """The ids the tokenizer adds in front of a text (BOS for LLaMA-2, none for SmolLM2)."""
    with_special = list(tokenizer("a", add_special_tokens=True).input_ids)
    plain = encode(tokenizer, "a")
    return (
        with_special[: len(with_special) - len(plain)]
        if with_special[-len(plain) :] == plain
        else []
    )


def plain_query(task: TaskInfo, text: str) -> str:
    """The plain template's query: ``{input_field}: text\\n{output_field}:``."""
    return f"{task.input_field}: {text}\n{task.output_field}:"


def plain_demo(demo: Demo) -> str:
    """The plain template's demonstration: its query, the label, and a blank line."""
    return f"{plain_query(demo.task, demo.text)} {demo.label}\n\n"


class PromptBuilder:
    """Builds anchor / ICL prompts, IT training pairs and label continuations for one
    (tokenizer, template kind, inference task)."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase, kind: str, task: TaskInfo):
        if kind == "chat" and not getattr(tokenizer, "chat_template", None):
            raise TemplateError("template.kind=chat but the model has no chat template")
        self.tok = tokenizer
        self.kind = kind
        self.task = task
        self.prefix = special_prefix(tokenizer) if kind == "plain" else []
        self._cache: dict[tuple[str, ...], list[int]] = {}

    # -- chat rendering -------------------------------------------------------------
    def _render(self, messages: list[dict[str, str]], generation: bool) -> str:
        return str(
            self.tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation)
        )

    @staticmethod
    def _user(task: TaskInfo, text: str) -> dict[str, str]:
        return {"role": "user", "content": plain_query(task, text)}

    _PROBE = ("probe input", "probe")

    def _chat_demo_piece(self, demo: Demo) -> str:
        probe = [self._user(demo.task, self._PROBE[0]), {"role": "assistant", "content": "x"}]
        before = self._render(probe, False)
        after = self._render(
            probe
            + [self._user(demo.task, demo.text), {"role": "assistant", "content": demo.label}],
            False,
        )
        if not after.startswith(before):
            raise TemplateError("chat template is not prefix-consistent across turns")
        return after[len(before) :]

    def _chat_query_piece(self, text: str) -> str:
        probe = [self._user(self.task, self._PROBE[0]), {"role": "assistant", "content": "x"}]
        before = self._render(probe, False)
        after = self._render(probe + [self._user(self.task, text)], True)
        if not after.startswith(before):
            raise TemplateError("chat template is not prefix-consistent at the query turn")
        return after[len(before) :]

    def _chat_header(self, text: str) -> str:
        whole = self._render([self._user(self.task, text)], True)
        piece = self._chat_query_piece(text)
        if not whole.endswith(piece):
            raise TemplateError("chat template renders the first turn differently")
        return whole[: len(whole) - len(piece)]

    # -- pieces as token ids --------------------------------------------------------
    def _ids(self, *key: str) -> list[int]:
        if key not in self._cache:
            kind, *args = key
            if kind == "query":
                text = (
                    plain_query(self.task, args[0])
                    if self.kind == "plain"
                    else self._chat_query_piece(args[0])
                )
            elif kind == "header":
                text = "" if self.kind == "plain" else self._chat_header(args[0])
            else:
                raise KeyError(kind)
            self._cache[key] = encode(self.tok, text) if text else []
        return self._cache[key]

    def demo_text(self, demo: Demo) -> str:
        """One demonstration in this builder's template: plain text or a chat turn."""
        return plain_demo(demo) if self.kind == "plain" else self._chat_demo_piece(demo)

    def anchor(self, query: str) -> Prompt:
        """The anchor prompt: prefix, chat header (if any) and the query, no demonstrations."""
        ids = self.prefix + self._ids("header", query) + self._ids("query", query)
        return Prompt(ids, decode(self.tok, ids))

    def icl(self, query: str, demos: list[Demo]) -> Prompt:
        """The ICL prompt: the anchor's pieces with each demonstration, tokenised on its own,
        before the query."""
        ids = list(self.prefix) + self._ids("header", query)
        for demo in demos:
            ids += encode(self.tok, self.demo_text(demo))
        ids += self._ids("query", query)
        return Prompt(ids, decode(self.tok, ids))

    def label_continuation(self, label: str) -> list[int]:
        """Ids that follow the query when the answer is ``label``."""
        if self.kind == "plain":
            return encode(self.tok, f" {label}")
        probe = self._user(self.task, self._PROBE[0])
        before = self._render([probe], True)
        after = self._render([probe, {"role": "assistant", "content": label}], False)
        if not after.startswith(before):
            raise TemplateError("chat template is not prefix-consistent at the answer")
        return encode(self.tok, after[len(before) :])

    def training_pair(self, demo: Demo) -> TrainingPair:
        """(prompt ids, target ids) for tuning on one demonstration: the demonstration's
        input laid out exactly like an inference query, followed by its label."""
        same = demo.task == self.task
        builder = self if same else PromptBuilder(self.tok, self.kind, demo.task)
        prompt = builder.anchor(demo.text).ids
        if self.kind == "plain":
            target = encode(self.tok, f" {demo.label}")
        else:
            target = builder.label_continuation(demo.label)
        return prompt, target

    def label_token_ids(self, labels: tuple[str, ...]) -> list[int]:
        """First token of each label's continuation; they must differ to score labels."""
        first = [self.label_continuation(label)[0] for label in labels]
        if len(set(first)) != len(first):
            raise TemplateError(f"labels {labels} share a first token; cannot score them")
        return first
