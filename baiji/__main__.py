"""`python -m baiji` runs the `s3` command."""

from baiji.cli import main

raise SystemExit(main())
