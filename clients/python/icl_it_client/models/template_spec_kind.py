from enum import StrEnum


class TemplateSpecKind(StrEnum):
    CHAT = "chat"
    PLAIN = "plain"

    def __str__(self) -> str:
        return str(self.value)
