"""baiji: S3 keys and local paths, interchangeable. Importing does no I/O.

The package root sits above every layer, so it wires the one hook that runs
across them: :data:`baiji.path.default_connection` (see :mod:`baiji.path`).
"""

from baiji import path as _path

__version__ = "3.0.0"


def _default_connection():
    """:func:`baiji.s3.default_connection`, the API imported on the first call, not at import."""
    from baiji import s3

    return s3.default_connection()


_path.default_connection = _default_connection
