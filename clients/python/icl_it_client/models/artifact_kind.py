from enum import StrEnum


class ArtifactKind(StrEnum):
    ADAPTER_CONFIG = "adapter_config"
    ADAPTER_WEIGHTS = "adapter_weights"
    ANALYSIS = "analysis"
    FIGURE = "figure"
    PROMPTS = "prompts"
    REPORT = "report"
    RESULTS = "results"
    STATES = "states"
    TUNING = "tuning"

    def __str__(self) -> str:
        return str(self.value)
