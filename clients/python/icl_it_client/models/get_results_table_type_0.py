from enum import StrEnum


class GetResultsTableType0(StrEnum):
    CELLS = "cells"
    EXAMPLES = "examples"

    def __str__(self) -> str:
        return str(self.value)
