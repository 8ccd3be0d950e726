from enum import StrEnum


class UploadDatasetFormat(StrEnum):
    AUTO = "auto"
    CSV = "csv"
    JSONL = "jsonl"
    PARQUET = "parquet"

    def __str__(self) -> str:
        return str(self.value)
