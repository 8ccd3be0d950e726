from enum import StrEnum


class ArtifactKind(StrEnum):
    ANALYSIS = "analysis"
    FIGURE = "figure"
    PROMPTS = "prompts"
    REPORT = "report"
    RESULTS = "results"
    STATES = "states"

    def __str__(self) -> str:
        return str(self.value)
