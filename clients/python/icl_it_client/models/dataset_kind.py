from enum import StrEnum


class DatasetKind(StrEnum):
    CLASSIFICATION = "classification"
    TRANSLATION = "translation"

    def __str__(self) -> str:
        return str(self.value)
