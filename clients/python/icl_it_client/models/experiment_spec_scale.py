from enum import StrEnum


class ExperimentSpecScale(StrEnum):
    DEFAULT = "default"
    PAPER = "paper"
    SMOKE = "smoke"

    def __str__(self) -> str:
        return str(self.value)
