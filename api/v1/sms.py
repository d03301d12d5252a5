"""``POST /v1/sms/segments``: what an SMS body costs, computed as Twilio does."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.deps import CallerDep
from api.v1.routing import v1_router
from dramtrade.sms_segments import count_segments

router = v1_router("sms")


class SegmentsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: str = Field(max_length=1600)
    smart_encoding: bool = False


class SegmentsOut(BaseModel):
    encoding: Literal["GSM-7", "UCS-2"]
    segments: int
    characters: int
    per_segment_limit: int
    remaining_in_segment: int
    non_gsm_characters: list[str]


@router.post("/sms/segments", summary="Count the segments and encoding of an SMS body")
def segments(body: SegmentsIn, _caller: CallerDep) -> SegmentsOut:
    info = count_segments(body.body, smart_encoding=body.smart_encoding)
    return SegmentsOut(
        encoding=info.encoding,
        segments=info.segments,
        characters=info.characters,
        per_segment_limit=info.per_segment_limit,
        remaining_in_segment=info.remaining_in_segment,
        non_gsm_characters=list(info.non_gsm_characters),
    )
