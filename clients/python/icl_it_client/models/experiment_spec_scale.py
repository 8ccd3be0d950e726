from enum import StrEnum


class ExperimentSpecScale(StrEnum):
    DEFAULT = "default"
    PAPER = "paper"
    POWERED = "powered"
    SMOKE = "smoke"

    def __str__(self) -> str:
        return str(self.value)
