"""baiji: S3 keys and local paths, interchangeable. Importing does no I/O."""

__version__ = "3.0.0"
