from enum import StrEnum


class ExperimentSpecControlsItem(StrEnum):
    RANDOM_INIT = "random_init"
    UNTUNED_ADAPTER = "untuned_adapter"

    def __str__(self) -> str:
        return str(self.value)
