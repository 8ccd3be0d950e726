"""Experiment tags: short labels a researcher files experiments under (``icl-it list --tag``).

Tags are a top-level field of the spec because the submit body *is* the spec (one model
for the CLI, the API, the SDK and the docs): a wrapper body would change every client.
They describe the experiment, like ``name`` and ``description``, and are not part of any
run's configuration, so they never change a run's key or a cell. The API stores them in
their own column as well, where ``GET /v1/experiments?tag=`` filters on them.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

MAX_TAGS = 16
MAX_TAG_CHARS = 32
# Letters, digits and a few separators ("baseline", "k=8", "llama-2:7b"); no spaces, no
# commas, nothing that needs quoting on a command line or escaping in a query string.
TAG_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:=-]*$"
TAG_CHARS = "letters, digits and _ . : = - (starting with a letter or digit)"

Tag = Annotated[str, Field(min_length=1, max_length=MAX_TAG_CHARS, pattern=TAG_PATTERN)]


def _unique(tags: list[str]) -> list[str]:
    if len(set(tags)) != len(tags):
        raise ValueError("tags must be unique")
    return tags


Tags = Annotated[
    list[Tag],
    Field(
        max_length=MAX_TAGS,
        description=f"Labels to find the experiment by (GET /v1/experiments?tag=): at most "
        f"{MAX_TAGS}, each 1..{MAX_TAG_CHARS} characters of {TAG_CHARS}.",
    ),
    AfterValidator(_unique),
]
