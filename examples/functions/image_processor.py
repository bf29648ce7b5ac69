"""Resizes an image with Pillow and leaves it in /output (a download link on the job).

Needs the "fat" image: deploy with runtime "python3-fat" (nanogrid/python-fat:3,
which has numpy, pandas, pillow and requests).

Event: {"image": "<base64 PNG/JPEG/...>", "width": 64, "height": 32}
  (height defaults to keeping the aspect ratio)
Result: {"original": {"width", "height", "format"}, "resized": {"width", "height"},
         "file": "resized.png", "bytes": 1234}
"""
import base64
import binascii
import io
import os

from PIL import Image, UnidentifiedImageError


def handler(event, context):
    encoded = (event or {}).get("image")
    if not encoded:
        raise ValueError('send {"image": "<base64>", "width": 64}')
    try:
        image = Image.open(io.BytesIO(base64.b64decode(encoded, validate=True)))
        image.load()
    except (binascii.Error, UnidentifiedImageError) as e:
        raise ValueError(f"image is not a base64-encoded picture: {e}") from None

    width = int(event.get("width", 128))
    height = int(event.get("height") or max(1, round(image.height * width / image.width)))
    if not (0 < width <= 8192 and 0 < height <= 8192):
        raise ValueError("width and height must be between 1 and 8192")

    resized = image.convert("RGBA").resize((width, height), Image.LANCZOS)
    path = os.path.join(os.environ.get("OUTPUT_DIR", "/output"), "resized.png")
    resized.save(path, "PNG")
    return {
        "original": {"width": image.width, "height": image.height, "format": image.format},
        "resized": {"width": width, "height": height},
        "file": "resized.png",
        "bytes": os.path.getsize(path),
    }
