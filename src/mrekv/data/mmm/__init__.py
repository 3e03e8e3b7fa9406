"""The MMM / OIELLM format: one record (:mod:`.record`) and whole files (:mod:`.files`)."""

from __future__ import annotations

from mrekv.data.mmm.files import (
    FileFormat,
    MMMReader,
    MMMValidation,
    OnError,
    read_mmm,
    validate_mmm,
    write_mmm,
)
from mrekv.data.mmm.record import (
    MAX_MERGE,
    check_lang,
    format_mmm_record,
    mmm_record_to_json,
    parse_mmm_record,
)

__all__ = [
    "MAX_MERGE",
    "FileFormat",
    "MMMReader",
    "MMMValidation",
    "OnError",
    "check_lang",
    "format_mmm_record",
    "mmm_record_to_json",
    "parse_mmm_record",
    "read_mmm",
    "validate_mmm",
    "write_mmm",
]
