from enum import StrEnum


class DemoSpecScope(StrEnum):
    PER_EXAMPLE = "per_example"
    SHARED = "shared"

    def __str__(self) -> str:
        return str(self.value)
