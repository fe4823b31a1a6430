"""What an uploaded file is, read from its bytes alone (the client's name and media type are not
trusted), and what is kept of it: photos re-encoded with their orientation applied and every
metadata block dropped (EXIF with GPS and camera serial, XMP, ICC profiles, text chunks), the
capture time kept as the evidence date, a thumbnail; PDFs kept byte for byte, their pages
counted."""

from __future__ import annotations

import datetime as dt
import io
import warnings
from dataclasses import dataclass

import pypdf
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from riskengine.errors import Invalid, TooLarge
from riskengine.refusals import refused

try:  # HEIC (iPhones' default) when pillow-heif reads it here; re-encoded as JPEG below
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIC = True
except ImportError:  # pragma: no cover - pillow-heif is a dependency; a build without it
    HEIC = False

JPEG, PNG, WEBP, HEIF, PDF = ("image/jpeg", "image/png", "image/webp", "image/heic",
                              "application/pdf")
ACCEPTED = (JPEG, PNG, WEBP, *((HEIF,) if HEIC else ()), PDF)
THUMBNAIL_SIDE = 320
# Past this many pixels a "photo" is a decompression bomb, not evidence: Pillow's own warning
# level (89 MP: a 108 MP phone sensor bins to 12 MP by default), about 270 MB decoded.
MAX_PIXELS = Image.MAX_IMAGE_PIXELS or 89_478_485
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
_EXIF_IFD, _DATE_TAKEN, _OFFSET_TAKEN = 0x8769, 36867, 36881
# What each kept image is saved as: a photo of any type a browser shows; HEIC as JPEG.
_SAVED = {JPEG: ("JPEG", JPEG), PNG: ("PNG", PNG), WEBP: ("WEBP", WEBP), HEIF: ("JPEG", JPEG)}


@dataclass(frozen=True)
class Prepared:
    """An upload as it is kept."""

    data: bytes
    media_type: str
    thumbnail: bytes | None = None
    width: int | None = None
    height: int | None = None
    pages: int | None = None
    captured_at: str | None = None


def sniff(data: bytes) -> str | None:
    """The media type the bytes' magic numbers say, among those accepted (None: another)."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    if HEIC and data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return HEIF
    if data.startswith(b"%PDF-"):
        return PDF
    return None


def prepare(data: bytes, limit: int) -> Prepared:
    """Check an upload (not empty, within `limit` bytes, of an accepted type, readable) and
    return what is kept of it; refuse anything else with a worded error."""
    if not data:
        raise refused(Invalid, "file", "file_empty")
    if len(data) > limit:
        raise refused(TooLarge, "file", "file_too_large", mb=limit // (1024 * 1024), limit=limit)
    kind = sniff(data)
    if kind is None:
        raise refused(Invalid, "file", "file_type", code="unsupported_type") if not HEIC \
            else refused(Invalid, "file", "file_type_heic", code="unsupported_type")
    return _pdf(data) if kind == PDF else _image(data, kind)


def _corrupt(what: str) -> Exception:
    return refused(Invalid, "file", f"{what}_corrupt", code="corrupt_file")


def _pdf(data: bytes) -> Prepared:
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        pages = None if reader.is_encrypted else len(reader.pages)
    except (pypdf.errors.PyPdfError, ValueError, KeyError, TypeError, OSError) as error:
        raise _corrupt("pdf") from error
    return Prepared(data, PDF, pages=pages)


def _image(data: bytes, kind: str) -> Prepared:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as opened:
                if opened.width * opened.height > MAX_PIXELS:
                    raise Image.DecompressionBombError(f"{opened.size}")
                opened.load()
                captured = _captured_at(opened)
                upright = ImageOps.exif_transpose(opened)
                kept = _clean(upright)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise refused(Invalid, "file", "photo_too_many_pixels", code="too_many_pixels",
                      megapixels=MAX_PIXELS // 1_000_000) from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as error:
        raise _corrupt("photo") from error
    saved_as, media_type = _SAVED[kind]
    return Prepared(_encode(kept, saved_as), media_type, _thumbnail(kept), kept.width,
                    kept.height, captured_at=captured)


def _captured_at(image: Image.Image) -> str | None:
    """EXIF DateTimeOriginal (the camera's local time) as ISO 8601, with OffsetTimeOriginal
    when the camera wrote it; None when absent or not a date."""
    taken = image.getexif().get_ifd(_EXIF_IFD)
    raw, offset = taken.get(_DATE_TAKEN), taken.get(_OFFSET_TAKEN)
    try:
        when = dt.datetime.strptime(str(raw).strip("\x00 "), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    text = when.isoformat()
    offset = str(offset or "").strip("\x00 ")
    if len(offset) == 6 and offset[0] in "+-" and offset[3] == ":":
        text += offset
    return text


def _clean(image: Image.Image) -> Image.Image:
    """The pixels alone: colours converted to sRGB when a profile came with them, then a new
    image of the same pixels, so no EXIF, XMP, ICC or text block can come along."""
    profile = image.info.get("icc_profile")
    if profile and image.mode in ("RGB", "RGBA"):
        try:
            image = ImageCms.profileToProfile(
                image, ImageCms.ImageCmsProfile(io.BytesIO(profile)),
                ImageCms.createProfile("sRGB"), outputMode=image.mode) or image
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # an unreadable profile: the pixels as they are
    if image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA" if "transparency" in image.info or image.mode == "PA"
                              else "RGB")
    return Image.frombytes(image.mode, image.size, image.tobytes())


def _encode(image: Image.Image, saved_as: str) -> bytes:
    out = io.BytesIO()
    if saved_as == "JPEG":
        flat = image if image.mode in ("RGB", "L") else _flatten(image)
        flat.save(out, "JPEG", quality=90, optimize=True)
    elif saved_as == "WEBP":
        image.save(out, "WEBP", quality=90)
    else:
        image.save(out, "PNG", optimize=True)
    return out.getvalue()


def _flatten(image: Image.Image) -> Image.Image:
    """A transparent image on white (JPEG has no transparency)."""
    rgba = image.convert("RGBA")
    background = Image.new("RGB", rgba.size, "white")
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background


def _thumbnail(image: Image.Image) -> bytes:
    small = _flatten(image) if image.mode in ("RGBA", "LA") else image.convert("RGB")
    small.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    out = io.BytesIO()
    small.save(out, "JPEG", quality=80)
    return out.getvalue()
