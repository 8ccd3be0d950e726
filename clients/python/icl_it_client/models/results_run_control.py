from enum import StrEnum


class ResultsRunControl(StrEnum):
    NONE = "none"
    RANDOM_INIT = "random_init"

    def __str__(self) -> str:
        return str(self.value)
