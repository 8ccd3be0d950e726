from enum import StrEnum


class Control(StrEnum):
    CROSS_ADAPTER = "cross_adapter"
    RANDOM_INIT = "random_init"
    RANDOM_LORA = "random_lora"
    SHUFFLED_LABELS = "shuffled_labels"
    UNTUNED_ADAPTER = "untuned_adapter"

    def __str__(self) -> str:
        return str(self.value)
