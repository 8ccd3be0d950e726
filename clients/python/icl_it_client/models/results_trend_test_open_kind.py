from enum import StrEnum


class ResultsTrendTestOpenKind(StrEnum):
    BETWEEN_LEVEL_SS = "between_level_ss"
    PAGE = "page"
    SPEARMAN = "spearman"

    def __str__(self) -> str:
        return str(self.value)
