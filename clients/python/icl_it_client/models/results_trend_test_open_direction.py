from enum import StrEnum


class ResultsTrendTestOpenDirection(StrEnum):
    DECREASES = "decreases"
    DIFFERS = "differs"
    INCREASES = "increases"
    NONE = "none"

    def __str__(self) -> str:
        return str(self.value)
