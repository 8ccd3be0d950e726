"""A random-init model with LLaMA-2-7B's shapes and tokenizer conventions, built offline.

Shapes: hidden 4096, 32 heads (no GQA), intermediate 11008, vocab 32000, RMSNorm eps 1e-5,
untied embeddings; only ``n_layers`` blocks so it runs on a CPU. Tokenizer conventions of
LLaMA-2: ``<s>``/``</s>``/``<unk>``, BOS added in front, no pad token, metaspace pieces,
and the LLaMA-2 chat template ([INST] ... [/INST], BOS inside the template).
"""

from __future__ import annotations

from pathlib import Path

import torch
from tokenizers import (
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
    trainers,
)
from transformers import LlamaConfig, LlamaForCausalLM, LlamaTokenizerFast

from services.common.storage.datasets import load_builtin

# The chat template shipped with meta-llama/Llama-2-7b-chat-hf (tokenizer_config.json).
LLAMA2_CHAT_TEMPLATE = (
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
    "{% set system_message = messages[0]['content'] %}{% else %}"
    "{% set loop_messages = messages %}{% set system_message = false %}{% endif %}"
    "{% for message in loop_messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{% endif %}"
    "{% if loop.index0 == 0 and system_message != false %}"
    "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
    "{% else %}{% set content = message['content'] %}{% endif %}"
    "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}"
    "{% endif %}{% endfor %}"
)


def llama2_7b_config(n_layers: int, vocab_size: int = 32000) -> LlamaConfig:
    return LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=4096,
        intermediate_size=11008,
        num_hidden_layers=n_layers,
        num_attention_heads=32,
        num_key_value_heads=32,
        max_position_embeddings=4096,
        rms_norm_eps=1e-5,
        rope_theta=10000.0,
        tie_word_embeddings=False,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=None,
    )


def llama2_style_tokenizer() -> LlamaTokenizerFast:
    """A small BPE trained on the builtin data with LLaMA-2's special tokens and layout."""
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=False))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tok.pre_tokenizer = pre_tokenizers.Split("▁", behavior="merged_with_next")
    tok.decoder = decoders.Sequence(
        [
            decoders.Replace("▁", " "),
            decoders.ByteFallback(),
            decoders.Fuse(),
            decoders.Strip(" ", 1, 0),
        ]
    )
    texts = []
    for task in ("sentiment", "topic", "translation_en_fr"):
        for ex in load_builtin(task).examples:
            texts += [f"Review: {ex.text}\nSentiment: {ex.label}\n\n", ex.text, ex.label]
    texts += ["Headline: x\nTopic: y\n\nEnglish: a\nFrench: b\n\n[INST] [/INST] <<SYS>>"]
    trainer = trainers.BpeTrainer(
        vocab_size=2000, special_tokens=["<unk>", "<s>", "</s>"], show_progress=False
    )
    tok.train_from_iterator(texts, trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", 1)]
    )
    fast = LlamaTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        add_bos_token=True,
        add_eos_token=False,
    )
    fast.chat_template = LLAMA2_CHAT_TEMPLATE
    return fast


def save_llama2_shaped(path: Path, n_layers: int = 2, seed: int = 0) -> Path:
    tokenizer = llama2_style_tokenizer()
    torch.manual_seed(seed)
    model = LlamaForCausalLM(llama2_7b_config(n_layers)).to(torch.bfloat16)  # half the disk
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
