"""What the direct upload tells a listener as it happens (the streaming ingestion of
docs/streaming.md listens; by default nothing does). Each call comes after its change was
committed, in the request's thread, and must return at once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class RecordedPart:
    store_id: str
    upload_id: str
    file_type: str  # the upload's sourceFileType
    source: str  # "SOURCE1" or "SOURCE2"
    number: int
    blob_key: str
    size: int
    replaced: bool  # an earlier part of the same number was dropped


class UploadEvents(Protocol):
    def part_recorded(self, part: RecordedPart) -> None: ...

    def completed(self, upload_id: str, sources: dict[str, list[str]]) -> None:
        """Complete listed these blob keys per source ("source1", "source2"), in order."""

    def ended(self, upload_id: str) -> None:
        """The upload was aborted."""


class NoEvents:
    def part_recorded(self, part: RecordedPart) -> None:
        pass

    def completed(self, upload_id: str, sources: dict[str, list[str]]) -> None:
        pass

    def ended(self, upload_id: str) -> None:
        pass
