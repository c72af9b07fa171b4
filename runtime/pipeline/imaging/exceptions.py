"""Errors of the image core, split by what the pipeline should do about them.

``InvalidImageError`` is permanent: the upload itself is unusable, retrying cannot help, and
its message is shown to the user as the image's ``error``. Every other exception escaping the
core (``MemoryError``, an ``OSError`` from ``/tmp``, a bug) is treated as transient by the
pipeline: the step is retried and, if it keeps failing, the image is marked failed with a
generic reason. Step Functions tells them apart by the error name, so ``InvalidImageError``
must never wrap or be wrapped by a transient failure.
"""

from __future__ import annotations

from runtime.common.errors import UnprocessableError


class InvalidImageError(UnprocessableError):
    """The uploaded file cannot become an image; ``message`` says why in the user's terms."""
