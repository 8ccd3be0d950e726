from enum import StrEnum


class DemoSpecContrast(StrEnum):
    LABEL_SKEWED = "label_skewed"
    NONE = "none"
    VERBALIZER_SWAPPED = "verbalizer_swapped"

    def __str__(self) -> str:
        return str(self.value)
