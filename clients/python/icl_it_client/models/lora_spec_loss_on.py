from enum import StrEnum


class LoraSpecLossOn(StrEnum):
    LABEL = "label"
    SEQUENCE = "sequence"

    def __str__(self) -> str:
        return str(self.value)
