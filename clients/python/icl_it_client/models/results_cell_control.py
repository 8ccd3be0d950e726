from enum import StrEnum


class ResultsCellControl(StrEnum):
    NONE = "none"
    RANDOM_INIT = "random_init"

    def __str__(self) -> str:
        return str(self.value)
