from enum import StrEnum


class DemoSpecSelection(StrEnum):
    LEAST_SIMILAR = "least_similar"
    MOST_SIMILAR = "most_similar"
    RANDOM = "random"

    def __str__(self) -> str:
        return str(self.value)
