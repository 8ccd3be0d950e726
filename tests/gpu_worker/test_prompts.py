from __future__ import annotations

import pytest

from services.common.spec.catalog import BUILTIN_TASKS
from services.gpu_worker.prompts import Demo, PromptBuilder, encode

SENT = BUILTIN_TASKS["sentiment"]
TRANS = BUILTIN_TASKS["translation_en_fr"]
DEMOS = [
    Demo("The plot dragged and the jokes fell flat.", "negative", SENT),
    Demo("A warm, funny and clever film.", "positive", SENT),
]
QUERY = "Review this: the soundtrack alone is worth it."


@pytest.mark.parametrize("kind", ["plain", "chat"])
def test_icl_shares_the_anchor_query_tokens_exactly(smol_tokenizer, kind: str) -> None:
    b = PromptBuilder(smol_tokenizer, kind, SENT)
    anchor, icl = b.anchor(QUERY), b.icl(QUERY, DEMOS)
    query_ids = b._ids("query", QUERY)
    assert anchor.ids[-len(query_ids) :] == query_ids
    assert icl.ids[-len(query_ids) :] == query_ids
    assert len(icl.ids) > len(anchor.ids)


def test_joined_string_moves_token_boundaries_at_the_seam(smol_tokenizer) -> None:
    """Why prompts are built on ids: re-tokenising the joined text changes the seam."""
    b = PromptBuilder(smol_tokenizer, "plain", SENT)
    icl = b.icl(QUERY, DEMOS)
    retokenised = encode(smol_tokenizer, icl.text)
    assert retokenised != icl.ids  # "\n\n" + "Review" merge differently
    assert smol_tokenizer.decode(retokenised) == smol_tokenizer.decode(icl.ids)


def test_chat_pieces_add_up_to_the_rendered_conversation(smol_tokenizer) -> None:
    b = PromptBuilder(smol_tokenizer, "chat", SENT)
    messages = []
    for d in DEMOS:
        messages += [
            {"role": "user", "content": f"Review: {d.text}\nSentiment:"},
            {"role": "assistant", "content": d.label},
        ]
    messages.append({"role": "user", "content": f"Review: {QUERY}\nSentiment:"})
    rendered = smol_tokenizer.apply_chat_template(
        messages, tokenize=False, add_generation_prompt=True
    )
    assert b.icl(QUERY, DEMOS).text == rendered
    assert b.anchor(QUERY).text == smol_tokenizer.apply_chat_template(
        messages[-1:], tokenize=False, add_generation_prompt=True
    )


def test_task_mismatch_demos_use_their_own_fields(smol_tokenizer) -> None:
    b = PromptBuilder(smol_tokenizer, "plain", SENT)
    text = b.icl(QUERY, [Demo("Good morning.", "Bonjour.", TRANS)]).text
    assert text.startswith("English: Good morning.\nFrench: Bonjour.\n\nReview: ")


def test_training_pair_is_query_layout_plus_label(smol_tokenizer) -> None:
    b = PromptBuilder(smol_tokenizer, "plain", SENT)
    prompt, target = b.training_pair(DEMOS[0])
    assert prompt == b.anchor(DEMOS[0].text).ids
    assert smol_tokenizer.decode(target) == " negative"
    ids = b.label_token_ids(SENT.labels)
    assert len(set(ids)) == 2
