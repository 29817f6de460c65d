"""Packaging for baiji: `pip install .` gives the library and the `s3` command."""

import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
VERSION = re.search(r'__version__ = "([^"]+)"', (HERE / "baiji" / "__init__.py").read_text()).group(1)

setup(
    name="baiji",
    version=VERSION,
    description="High-level Python abstraction layer for Amazon S3: S3 keys and local paths, interchangeable",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["baiji", "baiji.*"]),
    install_requires=(HERE / "requirements.txt").read_text().split(),
    entry_points={"console_scripts": ["s3 = baiji.cli:main"]},
    classifiers=[
        "License :: OSI Approved :: Apache Software License",
        "Programming Language :: Python :: 3",
        "Topic :: System :: Archiving :: Mirroring",
    ],
)
