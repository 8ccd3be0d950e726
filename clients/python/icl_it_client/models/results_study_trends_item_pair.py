from enum import StrEnum


class ResultsStudyTrendsItemPair(StrEnum):
    ANCHOR_ICL = "anchor_icl"
    ANCHOR_IT = "anchor_it"
    ANCHOR_IT_CROSS = "anchor_it_cross"
    ANCHOR_IT_RANDOM = "anchor_it_random"
    ANCHOR_IT_SHUFFLED = "anchor_it_shuffled"
    DEMONSTRATION_SPECIFIC = "demonstration_specific"
    ICL_IT = "icl_it"
    ICL_IT_CROSS = "icl_it_cross"
    ICL_IT_RANDOM = "icl_it_random"
    ICL_IT_SHUFFLED = "icl_it_shuffled"
    ICL_IT_UNTUNED = "icl_it_untuned"
    MATCHED_MISMATCHED = "matched-mismatched"

    def __str__(self) -> str:
        return str(self.value)
