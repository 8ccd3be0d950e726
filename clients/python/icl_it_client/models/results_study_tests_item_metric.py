from enum import StrEnum


class ResultsStudyTestsItemMetric(StrEnum):
    CENTERED_COSINE = "centered_cosine"
    CKA = "cka"
    COSINE = "cosine"
    SHARED_FRACTION = "shared_fraction"
    SHIFT_COSINE = "shift_cosine"
    SHIFT_COSINE_MISMATCHED = "shift_cosine_mismatched"
    SHIFT_NORM = "shift_norm"
    SHIFT_PROJECTION = "shift_projection"

    def __str__(self) -> str:
        return str(self.value)
