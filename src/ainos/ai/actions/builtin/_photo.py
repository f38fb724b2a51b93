"""Describe a photo: its format, size and the EXIF metadata the camera wrote (via Pillow)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path
from typing import ClassVar

from ainos.ai.actions._context import ActionInvocationContext
from ainos.ai.actions._entities import PhotoActionEntity
from ainos.ai.actions._provider import ActionProvider
from ainos.errors import ActionError

__all__ = ["DescribePhotoProvider", "photo_metadata"]

_GPS_IFD = 0x8825
_EXIF_IFD = 0x8769
_SHOWN_TAGS = (
    "Make",
    "Model",
    "LensModel",
    "DateTimeOriginal",
    "DateTime",
    "ExposureTime",
    "FNumber",
    "ISOSpeedRatings",
    "FocalLength",
    "Flash",
    "Orientation",
    "Software",
    "Artist",
    "Copyright",
    "ImageDescription",
)


def _plain(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace").strip("\0 ")
    if isinstance(value, tuple):
        return ", ".join(_plain(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    if hasattr(value, "numerator") and hasattr(value, "denominator"):
        fraction = Fraction(int(value.numerator), int(value.denominator or 1))
        return (
            str(fraction) if fraction.denominator != 1 and fraction < 1 else f"{float(fraction):g}"
        )
    return str(value).strip("\0 ")


def _degrees(value: object, reference: object) -> float | None:
    """A GPS coordinate from EXIF's (degrees, minutes, seconds) rationals."""
    if not isinstance(value, tuple) or len(value) != 3:
        return None
    try:
        d, m, s = (float(part) for part in value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    sign = -1.0 if str(reference).upper() in ("S", "W") else 1.0
    return sign * (d + m / 60 + s / 3600)


def photo_metadata(path: Path) -> list[tuple[str, str]]:
    """(property, value) pairs, the basics first, then EXIF tags in a fixed order."""
    from PIL import ExifTags, Image, UnidentifiedImageError  # heavy: imported only when used

    try:
        image = Image.open(path)
    except FileNotFoundError:
        raise ActionError(f"no such file: {path}") from None
    except (UnidentifiedImageError, OSError) as exc:
        raise ActionError(f"{path} is not an image Pillow can read: {exc}") from None
    with image:
        rows = [
            ("File", str(path)),
            ("File size", f"{path.stat().st_size} bytes"),
            ("Format", image.format or "unknown"),
            ("Dimensions", f"{image.width}x{image.height}"),
            ("Megapixels", f"{image.width * image.height / 1e6:.1f}"),
            ("Color mode", image.mode),
        ]
        frames = getattr(image, "n_frames", 1)
        if frames > 1:
            rows.append(("Frames", str(frames)))
        dpi = image.info.get("dpi")
        if isinstance(dpi, tuple) and len(dpi) == 2:
            rows.append(("Resolution", f"{float(dpi[0]):g}x{float(dpi[1]):g} dpi"))
        exif = image.getexif()
        tags: dict[str, object] = {ExifTags.TAGS.get(k, str(k)): v for k, v in exif.items()}
        tags |= {ExifTags.TAGS.get(k, str(k)): v for k, v in exif.get_ifd(_EXIF_IFD).items()}
        gps: Mapping[int, object] = exif.get_ifd(_GPS_IFD)
    rows.extend((name, _plain(tags[name])) for name in _SHOWN_TAGS if name in tags)
    rows = [(name, value) for name, value in rows if value]
    latitude = _degrees(gps.get(2), gps.get(1, "N"))
    longitude = _degrees(gps.get(4), gps.get(3, "E"))
    if latitude is not None and longitude is not None:
        rows.append(("GPS position", f"{latitude:.6f}, {longitude:.6f}"))
    others = len(tags) - sum(1 for name in _SHOWN_TAGS if name in tags)
    if others > 0:
        rows.append(("Other EXIF tags", str(others)))
    return rows


def describe(rows: list[tuple[str, str]]) -> str:
    values = dict(rows)
    camera = " ".join(v for v in (values.get("Make"), values.get("Model")) if v)
    taken = values.get("DateTimeOriginal") or values.get("DateTime")
    sentence = f"A {values['Dimensions']} {values['Format']} image"
    if camera:
        sentence += f" taken with {camera}"
    if taken:
        sentence += f" on {taken}"
    if "GPS position" in values:
        sentence += f" at {values['GPS position']}"
    if "Make" not in values and "DateTimeOriginal" not in values:
        sentence += "; it carries no camera metadata"
    return sentence + "."


class DescribePhotoProvider(ActionProvider):
    definition_file: ClassVar[str | None] = "describe_photo.json"

    async def invoke(self, context: ActionInvocationContext) -> None:
        photo = context.get_input("Photo")
        if not isinstance(photo, PhotoActionEntity):
            raise ActionError(f"{context.action_id} needs a Photo")
        rows = await asyncio.to_thread(photo_metadata, Path(photo.full_path))
        factory = context.entity_factory
        context.set_output_entity(
            "Metadata", factory.create_table_entity_from_rows([("Property", "Value"), *rows])
        )
        context.set_output_entity("Description", factory.create_text_entity(describe(rows)))
