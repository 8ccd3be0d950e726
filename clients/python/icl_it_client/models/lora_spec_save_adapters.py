from enum import StrEnum


class LoraSpecSaveAdapters(StrEnum):
    ALL = "all"
    AUTO = "auto"
    NONE = "none"

    def __str__(self) -> str:
        return str(self.value)
