"""The base of every protocol record: immutable, strict about unknown fields, JSON-ready."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Record(BaseModel):
    """A typed, immutable record that crosses a layer or process boundary.

    Optional fields that were not measured stay ``None`` and are left out of JSON
    (``to_json``), so a missing reading is absent rather than a misleading zero.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    def to_json(self) -> str:
        return self.model_dump_json(exclude_none=True)

    def to_dict(self) -> dict[str, object]:
        return self.model_dump(mode="json", exclude_none=True)
