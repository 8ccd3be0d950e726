"""What ``icl-it --help`` says: the science in a paragraph, examples, every setting by its
environment variable; and the shell completion scripts."""

from __future__ import annotations

import argparse

DESCRIPTION = """\
Does in-context learning behave like implicit instruction tuning on your model?
(Duan et al., arXiv 2311.10367.) For each inference example x and demonstration set D,
the service takes the last-prompt-token hidden state at every layer in three conditions:
anchor (zero-shot), ICL (D in the prompt) and IT (no D, but a LoRA adapter tuned on D).
Both mostly learn the answer format, so the primary measure compares shifts from the
anchor: does example i's ICL shift agree with its own IT shift more than with other
examples' (matched vs mismatched shift cosine), and more than with the same input through
another example's adapter (cross-adapter control)? Also: the paper's cosine, centered
cosine, CKA with a permutation null, shuffled-label and random-LoRA controls, a random-init
model, label-space mass, exact sign-flip tests, max-T over layers and Holm over studies.
"""

EPILOG = """\
examples:
  icl-it run examples/default.yaml --out out/default
  icl-it run --preset duan2023 --scale smoke --out out/smoke
  icl-it up                      # API on 127.0.0.1:8000 (ICL_IT_PORT) + workers
  icl-it submit examples/default.yaml --wait
  icl-it results <experiment id> > results.json
  icl-it export <experiment id> --format parquet -o cells.parquet
  icl-it events <experiment id> --follow
  source <(icl-it completion bash)

environment (client):
  ICL_IT_URL           API base URL for the remote commands and the SDK (default: where
                       `icl-it up` listens, http://$ICL_IT_HOST:$ICL_IT_PORT, 127.0.0.1:8000)
  ICL_IT_API_KEY       sent as a Bearer token (default: the local key the stack writes to
                       $ICL_IT_HOME/api_key); experiments are visible only to the same key
  icl-it keys create --name NAME [--admin] | keys list | keys revoke ID_OR_NAME
"""

# Settings without a description in services/common/runtime/settings.py get one here.
_SETTING_HELP = {
    "DATABASE_URL": "Postgres URL (default: SQLite under $ICL_IT_HOME)",
    "REDIS_URL": "Celery broker (default: Celery's SQLAlchemy transport on SQLite)",
    "ARTIFACT_URL": "artifact store, any fsspec URL (default: $ICL_IT_HOME/artifacts)",
    "ICL_IT_HOME": "embedded state directory (default: ./var)",
    "ICL_IT_MODEL_CACHE": "converted embedded-model cache (default: $ICL_IT_HOME/models)",
    "ICL_IT_PORT": "API port for `icl-it up`, and where the client looks without ICL_IT_URL "
    "(default 8000)",
    "ICL_IT_HOST": "API host for `icl-it up`, and where the client looks without ICL_IT_URL "
    "(default 127.0.0.1)",
    "ICL_IT_DEVICE": "torch device for the GPU worker (default: cuda if available, else cpu)",
    "ICL_IT_TASK_TIME_LIMIT": "seconds a GPU task may run (default 14400)",
}


def settings_help() -> str:
    """Every setting of services.common.runtime.settings.Settings, by its environment variable."""
    import textwrap

    from services.common.runtime.settings import Settings

    lines = ["environment (services; services/common/runtime/settings.py):"]
    for name, field in Settings.model_fields.items():
        env = str(field.validation_alias or name.upper())
        text = _SETTING_HELP.get(env) or (field.description or "").strip()
        wrapped = textwrap.wrap(text, width=66) or [""]
        lines.append(f"  {env:26s} {wrapped[0]}")
        lines += [f"  {'':26s} {more}" for more in wrapped[1:]]
    return "\n".join(lines) + "\n"


def completion_script(parser: argparse.ArgumentParser, shell: str) -> str:
    """A bash (or zsh, through bashcompinit) completion script built from the parser."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    cases = []
    for name, p in sub.choices.items():
        words = [o for a in p._actions for o in a.option_strings]
        nested = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
        for a in nested:
            words += list(a.choices)
        for a in p._actions:
            if (
                a.choices
                and not isinstance(a, argparse._SubParsersAction)
                and a.option_strings == []
            ):
                words += [str(c) for c in a.choices]
        cases.append(f'    {name}) opts="{" ".join(words)}" ;;')
    top = " ".join([*sub.choices, "-h", "--help"])
    script = f"""# icl-it completion ({shell}): source <(icl-it completion {shell})
_icl_it() {{
  local cur="${{COMP_WORDS[COMP_CWORD]}}" cmd="${{COMP_WORDS[1]}}" opts
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "{top}" -- "$cur")); return
  fi
  case "$cmd" in
{chr(10).join(cases)}
    *) opts="" ;;
  esac
  COMPREPLY=($(compgen -W "$opts" -- "$cur") $(compgen -f -- "$cur"))
}}
complete -F _icl_it icl-it
"""
    if shell == "zsh":
        script = "autoload -U +X bashcompinit && bashcompinit\n" + script
    return script
