from enum import StrEnum


class ExperimentSpecMetricsItem(StrEnum):
    CENTERED_COSINE = "centered_cosine"
    CKA = "cka"
    COSINE = "cosine"

    def __str__(self) -> str:
        return str(self.value)
