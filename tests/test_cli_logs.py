"""What cron jobs see (issue 19): silent on success; ``-v`` the per-file lines and the summary,
nothing from botocore; ``-vv``/``--debug`` the debug logs; ``-q``; ``--log-file``; a bulk
failure's one line names each cause once."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from baiji.report import by_cause
from support.helpers import PYTHON_M_BAIJI, keys_under, put, without_root_override, write_tree
from test_cli import assert_failed, assert_usage_error, lines, run

STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ "


@pytest.fixture
def tree(tmp_path):
    write_tree(tmp_path / "src", {"a.txt": b"a", "d/b.txt": b"bb"})
    return tmp_path / "src"


def test_silent_on_success(tree, s3dir):
    assert run("sync", f"{tree}/", s3dir) == (0, b"", "")
    assert run("cp", "-r", f"{tree}/", s3dir + "copy/") == (0, b"", "")


def test_v_prints_each_file_and_the_summary_but_no_debug_logs(tree, s3dir):
    status, out, err = run("-v", "sync", f"{tree}/", s3dir)
    assert status == 0
    assert sorted(lines(out)) == [f"[copied] {tree}/a.txt -> {s3dir}a.txt",
                                  f"[copied] {tree}/d/b.txt -> {s3dir}d/b.txt"]
    assert re.fullmatch(r"s3: 2 copied \(3 B\) in \d+\.\d s\n", err), err
    status, out, err = run("cp", "-v", tree / "a.txt", s3dir + "one.txt")
    assert (status, lines(out), err) == (0, [f"[copied] {tree}/a.txt -> {s3dir}one.txt"], "")


@pytest.mark.parametrize("flags", [["-vv"], ["--debug"], ["-v", "-v"]])
def test_vv_and_debug_turn_on_the_debug_logs(tree, s3dir, flags):
    status, out, err = run(*flags, "ls", s3dir)
    assert status == 0 and "baiji.cli DEBUG: running s3 ls" in err


def test_quiet_drops_the_deleted_lines_and_the_summary_not_errors(client, s3dir, tmp_path):
    put(client, s3dir + "k", b"x")
    assert run("-q", "rm", "-r", "-f", s3dir) == (0, b"", "")
    assert keys_under(client, s3dir) == []
    assert_failed(run("-q", "cat", s3dir + "missing"), "missing")
    assert_usage_error(run("-q", "-v", "ls", str(tmp_path)), "-q/--quiet and -v/--verbose/--debug contradict")


def test_log_file_appends_the_v_lines_with_their_time(tree, s3dir, tmp_path):
    log = tmp_path / "cron.log"
    assert run("sync", "--log-file", log, f"{tree}/", s3dir) == (0, b"", "")  # the terminal sees nothing
    (tree / "a.txt").write_bytes(b"changed")
    assert run("sync", "--log-file", log, f"{tree}/", s3dir)[0] == 0
    assert_failed(run("cat", "--log-file", log, s3dir + "missing"), "missing")
    text = log.read_text()
    assert all(re.match(STAMP, line) for line in text.splitlines()), text
    bodies = [line[21:] for line in text.splitlines()]
    assert bodies[:3] == [f"s3 sync {tree}/ {s3dir}", f"[copied] {tree}/a.txt -> {s3dir}a.txt",
                          f"[copied] {tree}/d/b.txt -> {s3dir}d/b.txt"]
    assert re.fullmatch(r"2 copied \(3 B\) in \d+\.\d s", bodies[3])
    assert bodies[4:6] == [f"s3 sync {tree}/ {s3dir}", f"[copied] {tree}/a.txt -> {s3dir}a.txt"]
    assert re.fullmatch(r"1 copied \(7 B\), 1 unchanged in \d+\.\d s", bodies[6])
    assert bodies[7] == f"s3 cat {s3dir}missing" and bodies[8].startswith("error: ") and len(bodies) == 9


def test_a_log_file_that_cannot_be_opened_is_one_line_and_nothing_is_done(tree, s3dir, client, tmp_path):
    assert_failed(run("sync", "--log-file", tmp_path / "no" / "such.log", f"{tree}/", s3dir),
                  f"--log-file {tmp_path}/no/such.log: No such file or directory")
    assert keys_under(client, s3dir) == []


def test_failures_with_one_cause_are_one_entry(tree, tmp_path):
    """A read-only destination: one cause for every file, said once (with -v, a line per file)."""
    write_tree(tree, {f"more/{i}.txt": b"x" for i in range(4)})
    dst = tmp_path / "ro-dest"
    dst.mkdir()
    dst.chmod(0o555)
    try:
        result = subprocess.run(without_root_override([*PYTHON_M_BAIJI, "cp", "-r", f"{tree}/", f"{dst}/"]),
                                capture_output=True, text=True)
    finally:
        dst.chmod(0o755)
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    assert re.fullmatch(rf"s3: error: 6 of 6 copies failed: Permission denied \({dst}/\S+ and 5 more\)\n",
                        result.stderr), result.stderr


def test_by_cause():
    many = [(f"/s/f{i}", f"/d/f{i}", PermissionError(f"/d/f{i}: Permission denied")) for i in range(302)]
    many.append(("/s/x", "/d/x", OSError("/d/x: No space left on device")))
    assert by_cause(many) == ("Permission denied (/d/f0 and 301 more); "
                              "/s/x -> /d/x: /d/x: No space left on device")
    few = [("/s/a", "/d/a", OSError("/d/a: symlink loop")), ("/s/b", "/d/b", OSError("/d/b: symlink loop"))]
    assert by_cause(few) == "symlink loop (/d/a, /d/b)"
    alone = [(f"s{i}", None, Exception(f"e{i}")) for i in range(21)]
    assert by_cause(alone).endswith("; e19; and 1 more")


def test_a_fifo_nobody_reads_as_log_file_is_an_error_not_a_hang(tmp_path):
    fifo = tmp_path / "log.fifo"
    os.mkfifo(fifo)
    result = subprocess.run([*PYTHON_M_BAIJI, "ls", "--log-file", fifo, tmp_path], capture_output=True, text=True,
                            timeout=60)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"s3: error: --log-file {fifo}: a FIFO nobody reads\n"
