"""Never lose data, part 2: hostile keys, races, temp files, secrets, bad input.

The promises proven here (numbered as in the issue "Never lose data"; 1-5
are in ``test_faults.py``, 11 in ``test_load.py``):

6. Hostile keys (``..`` segments, absolute ``/x`` paths, keys ending in
   ``/``, control characters) never write outside the destination directory
   of ``cp_r`` / ``sync`` / ``cp``: refused with a message naming the key,
   the rest copied, an exception raised (CLI: status 1).
7. ``open(key, 'x')`` and ``put_string(key, ..., replace=False)`` are
   conditional writes: of racing writer *processes* exactly one wins.
8. Temp files are owner-only (0600), in ``BAIJI_TMP`` when set, and removed
   on every path: success, an exception or KeyboardInterrupt inside a
   ``with s3.open(...)`` block, a failed download.
9. No secret key or session token ever appears in output, errors or ``-v``
   logs.
10. Bad input (malformed URLs, unknown schemes, missing or unwritable local
    paths, a file where a directory must go, invalid modes) raises the
    documented exception class with a one-line message naming the path, and
    changes nothing on disk or in the bucket.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import stat
import traceback
import uuid
from urllib.parse import quote

import pytest

from baiji import cli
from baiji.cli import redact
from baiji.connection import BulkCopyError, S3Connection
from baiji.exceptions import (InvalidSchemeException, KeyExists, KeyNotFound, S3Exception,
                              TransientError)
from support.helpers import get, key_exists, one_line, put, split, tree

MiB = 1024 * 1024


# -- helpers -----------------------------------------------------------------------------

def bucket_state(client, bucket: str) -> dict[str, str]:
    """``{key: etag}`` of every object, plus multipart uploads in progress."""
    state = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            state[obj["Key"]] = obj["ETag"]
    for up in client.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
        state["upload:" + up["Key"]] = up["UploadId"]
    return state


def run_cli(*argv, endpoint_url=None):
    out, err = io.StringIO(), io.StringIO()
    prefix = ["--endpoint-url", endpoint_url] if endpoint_url else []
    status = cli.main(prefix + [str(a) for a in argv], stdin=io.StringIO(), stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


def assert_cli_error(status, err, *named):
    assert status == 1, err
    assert err.startswith("s3: error: ") and err.count("\n") == 1, err
    for name in named:
        assert name in err, (name, err)


# == 6. hostile keys never escape the destination ========================================

ESCAPE = f"baiji-escape-{uuid.uuid4().hex[:8]}"

#: (case id, key below the source prefix, servers that store it as given)
HOSTILE = [
    ("dotdot", f"../{ESCAPE}.txt", ("moto",)),
    ("deep-dotdot", f"sub/../../{ESCAPE}.txt", ("moto",)),
    ("bare-dotdot", "..", ("moto",)),
    ("dot", f"./{ESCAPE}.txt", ("moto",)),
    ("absolute", f"/tmp/{ESCAPE}.txt", ("moto",)),
    ("newline", "new\nline.txt", ("seaweedfs",)),
    ("carriage-return", "carriage\rreturn.txt", ("moto", "seaweedfs")),
    ("escape-sequence", "color\x1b[31m.txt", ("moto", "seaweedfs")),
]
NOT_STORED = {
    "moto": "moto cannot store a key with a newline (its URL routing answers 404)",
    "seaweedfs": "SeaweedFS refuses '..' and '.' segments and rewrites '//' and a leading '/'",
}
GOOD = {"ok1.txt": b"one", "sub/ok2.txt": b"two", "sub/deeper/ok3.txt": b"three"}


def _hostile_source(client, s3dir, server_kind, key):
    """The good files plus one hostile key under ``s3dir + 'src/'``."""
    for rel, data in GOOD.items():
        put(client, s3dir + "src/" + rel, data)
    put(client, s3dir + "src/" + key, b"hostile")
    listed = client.list_objects_v2(Bucket=split(s3dir)[0], Prefix=split(s3dir)[1] + "src/")
    assert split(s3dir)[1] + "src/" + key in [o["Key"] for o in listed["Contents"]], \
        f"{server_kind} did not keep the key {key!r} as given"
    return s3dir + "src/" + key


def _assert_contained(tmp_path, dst_rel="outer/dst"):
    """Only the good files, only inside the destination, nothing at the escape targets."""
    found = tree(tmp_path, empty_dirs=True)
    expected = {f"{dst_rel}/{rel}": data for rel, data in GOOD.items()}
    assert found == expected
    escaped = os.path.join("/tmp", ESCAPE + ".txt")
    assert not os.path.exists(escaped), f"written outside the destination: {escaped}"


@pytest.fixture
def hostile_case(request, server_kind):
    case_id, key, kinds = request.param
    if server_kind not in kinds:
        pytest.skip(NOT_STORED[server_kind] if server_kind in NOT_STORED else "not storable here")
    return key


@pytest.mark.parametrize("hostile_case", HOSTILE, ids=[c[0] for c in HOSTILE], indirect=True)
@pytest.mark.parametrize("how", ["cp_r", "cp_r-parallel", "sync"])
def test_hostile_key_never_escapes(conn, client, s3dir, tmp_path, server_kind, hostile_case, how):
    url = _hostile_source(client, s3dir, server_kind, hostile_case)
    dst = tmp_path / "outer" / "dst"
    with pytest.raises(BulkCopyError) as info:
        if how == "sync":
            conn.sync(s3dir + "src/", str(dst))
        else:
            conn.cp_r(s3dir + "src/", str(dst) + "/", parallel=how == "cp_r-parallel")
    assert url in str(info.value)
    assert [src for src, _, _ in info.value.failures] == [url]
    _assert_contained(tmp_path)


def test_directory_markers_are_not_files(conn, client, s3dir, tmp_path):
    """Keys ending in '/' (with or without content) are skipped, not written, not errors."""
    for rel, data in GOOD.items():
        put(client, s3dir + "src/" + rel, data)
    put(client, s3dir + "src/marker/", b"")
    put(client, s3dir + "src/sub/", b"a marker with content")
    conn.cp_r(s3dir + "src/", str(tmp_path / "outer" / "dst") + "/")
    conn.sync(s3dir + "src/", str(tmp_path / "outer" / "dst"))
    _assert_contained(tmp_path)
    with pytest.raises(ValueError) as info:
        conn.cp(s3dir + "src/marker/", str(tmp_path / "outer" / "dst") + "/")
    assert "src/marker/" in str(info.value)
    _assert_contained(tmp_path)


@pytest.mark.servers("moto", reason=NOT_STORED["seaweedfs"])
def test_cp_of_a_dotdot_key_into_a_directory(conn, client, s3dir, tmp_path):
    """``cp s3://b/src/.. dir/`` would target ``dir/..``: refused, nothing written."""
    put(client, s3dir + "src/..", b"hostile")
    dst = tmp_path / "outer" / "dst"
    dst.mkdir(parents=True)
    with pytest.raises((S3Exception, ValueError)) as info:
        conn.cp(s3dir + "src/..", str(dst) + "/")
    assert "src/.." in str(info.value) and one_line(str(info.value))
    assert tree(tmp_path, empty_dirs=True) == {"outer/dst/": b""}


@pytest.mark.parametrize("hostile_case", [c for c in HOSTILE if c[0] in ("dotdot", "escape-sequence")],
                         ids=["dotdot", "escape-sequence"], indirect=True)
@pytest.mark.parametrize("command", [["cp", "-r"], ["cp", "-R"], ["sync"]], ids=["cp-r", "cp-R", "sync"])
def test_hostile_key_cli(client, s3dir, tmp_path, server_kind, hostile_case, command):
    url = _hostile_source(client, s3dir, server_kind, hostile_case)
    dst = tmp_path / "outer" / "dst"
    status, out, err = run_cli(*command, s3dir + "src/", str(dst) + ("" if command == ["sync"] else "/"))
    assert_cli_error(status, err, url.replace("\x1b", "\\x1b"))  # control characters shown escaped
    assert "\x1b" not in err  # never sent raw to the terminal
    _assert_contained(tmp_path)


# == 7. conditional writes: exactly one racing writer wins ================================

WRITERS = 8


def _racer(endpoint_url, url, how, me, ready, go, results):
    conn = S3Connection(endpoint_url=endpoint_url)
    conn.exists(url)  # connect (and warm up) before the start
    ready.put(me)
    go.wait(30)
    try:
        if how == "open-x":
            with conn.open(url, "xb") as f:
                f.write(f"writer {me}".encode())
        else:
            conn.put_string(url, f"writer {me}", replace=False)
    except KeyExists:
        results.put((me, "lost"))
    except BaseException as err:  # anything else is a failure of the test
        results.put((me, f"error {type(err).__name__}: {err}"))
    else:
        results.put((me, "won"))


@pytest.mark.parametrize("how", ["open-x", "put_string"])
def test_racing_writers_exactly_one_wins(fault_proxy, client, s3dir, how):
    ctx = multiprocessing.get_context("fork")
    url = s3dir + "contested.txt"
    ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=_racer, args=(fault_proxy.endpoint_url, url, how, i, ready, go, results))
             for i in range(WRITERS)]
    for p in procs:
        p.start()
    try:
        for _ in procs:
            ready.get(timeout=60)
        go.set()
        outcomes = dict(results.get(timeout=60) for _ in procs)
    finally:
        for p in procs:
            p.join(30)
            if p.is_alive():
                p.kill()
    assert not [o for o in outcomes.values() if o.startswith("error")], outcomes
    content = get(client, url).decode()
    puts = [r for r in fault_proxy.proxy.history if r.op == "PutObject"]
    if how == "open-x":
        winners = [me for me, outcome in outcomes.items() if outcome == "won"]
        assert len(winners) == 1, outcomes
        assert content == f"writer {winners[0]}"
        # 8 conditional placeholders (one created, 7 refused), then the winner's content
        assert sorted(r.status for r in puts) == [200, 200] + [412] * (WRITERS - 1)
    else:
        assert set(outcomes.values()) == {"won"}  # replace=False is a silent no-op for the losers
        assert content.startswith("writer ")
        assert sorted(r.status for r in puts) == [200] + [412] * (WRITERS - 1)


def test_put_string_replace_false_keeps_existing(conn, client, s3dir):
    put(client, s3dir + "k", b"first")
    conn.put_string(s3dir + "k", "second", replace=False)
    assert get(client, s3dir + "k") == b"first"
    with pytest.raises(KeyExists):
        conn.open(s3dir + "k", "x")
    assert get(client, s3dir + "k") == b"first"


# == 8. temp files: owner-only, in BAIJI_TMP, always removed ==============================

@pytest.fixture
def baiji_tmp(tmp_path, monkeypatch):
    path = tmp_path / "baiji-tmp"
    monkeypatch.setenv("BAIJI_TMP", str(path))
    saved = os.umask(0)  # prove 0600 comes from baiji, not from the umask
    try:
        yield path
    finally:
        os.umask(saved)


def _leftovers(path) -> list[str]:
    return sorted(os.listdir(path)) if os.path.isdir(path) else []


@pytest.mark.parametrize("mode", ["w", "wb", "x", "r", "rb"])
def test_temp_file_is_owner_only_in_baiji_tmp(conn, client, s3dir, baiji_tmp, mode):
    url = s3dir + "file.txt"
    if "r" in mode:
        put(client, url, b"content")
    with conn.open(url, mode) as f:
        assert os.path.dirname(f.name) == str(baiji_tmp)
        assert f.name.endswith(".txt")
        assert stat.S_IMODE(os.stat(f.name).st_mode) == 0o600
        assert f.remotename == url
        if "r" in mode:
            assert f.read() in (b"content", "content")
        else:
            f.write(b"new" if "b" in mode else "new")
    assert _leftovers(baiji_tmp) == []
    assert get(client, url) == (b"content" if "r" in mode else b"new")


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
@pytest.mark.parametrize("mode", ["w", "x"])
def test_temp_file_removed_when_the_block_raises(conn, client, s3dir, baiji_tmp, mode, error):
    url = s3dir + "file.bin"
    before = bucket_state(client, split(s3dir)[0])
    with pytest.raises(error):
        with conn.open(url, mode + "b") as f:
            f.write(b"never uploaded")
            name = f.name
            raise error("inside the block")
    assert not os.path.exists(name)
    assert _leftovers(baiji_tmp) == []
    assert bucket_state(client, split(s3dir)[0]) == before  # nothing uploaded, no placeholder


def test_temp_file_removed_when_read_block_raises(conn, client, s3dir, baiji_tmp):
    put(client, s3dir + "file.bin", b"content")
    with pytest.raises(KeyboardInterrupt):
        with conn.open(s3dir + "file.bin") as f:
            name = f.name
            raise KeyboardInterrupt
    assert not os.path.exists(name) and _leftovers(baiji_tmp) == []


def test_temp_files_removed_when_downloads_fail(fault_proxy, client, s3dir, baiji_tmp, tmp_path):
    """Every GET truncated: open() and cp() fail; no temp file anywhere."""
    put(client, s3dir + "file.bin", os.urandom(100_000))
    fault_proxy.proxy.fail_always("truncate", match="GetObject", nbytes=1000)
    conn = fault_proxy.conn
    with pytest.raises((S3Exception, TransientError)):
        conn.open(s3dir + "file.bin")
    with pytest.raises((S3Exception, TransientError)):
        conn.get_string(s3dir + "file.bin")
    dst = tmp_path / "dst"
    with pytest.raises((S3Exception, TransientError)):
        conn.cp(s3dir + "file.bin", str(dst) + "/")
    assert _leftovers(baiji_tmp) == []
    assert _leftovers(dst) == []
    assert fault_proxy.proxy.faults >= 3


def test_temp_files_removed_when_uploads_fail(fault_proxy, client, s3dir, baiji_tmp, tmp_path, monkeypatch):
    """A gzip upload (compressed into a temp file) and an open('w') whose upload fails."""
    import botocore.retries.standard

    monkeypatch.setattr(botocore.retries.standard.ExponentialBackoff, "delay_amount", lambda self, c: 0.001)
    src = tmp_path / "plain.txt"
    src.write_bytes(b"compress me " * 1000)
    fault_proxy.proxy.fail_always("reset_before", match="PutObject")
    with pytest.raises((S3Exception, TransientError)):
        fault_proxy.conn.cp(str(src), s3dir + "packed.txt", gzip=True)
    with pytest.raises((S3Exception, TransientError)):
        with fault_proxy.conn.open(s3dir + "written.txt", "w") as f:
            f.write("x")
    assert _leftovers(baiji_tmp) == []
    assert not key_exists(client, s3dir + "packed.txt") and not key_exists(client, s3dir + "written.txt")


def test_download_temp_beside_destination_is_owner_only(fault_proxy, client, s3dir, tmp_path):
    """The download's temp file (beside the destination) is 0600 while it exists."""
    put(client, s3dir + "f.bin", os.urandom(50_000))
    seen = []

    def look(info):
        if info.op == "GetObject":
            for name in os.listdir(tmp_path / "dst"):
                seen.append((name, stat.S_IMODE(os.stat(tmp_path / "dst" / name).st_mode)))
        return None

    (tmp_path / "dst").mkdir()
    fault_proxy.proxy.handler = look
    saved = os.umask(0)
    try:
        fault_proxy.conn.cp(s3dir + "f.bin", str(tmp_path / "dst" / "f.bin"))
    finally:
        os.umask(saved)
    temps = [(n, m) for n, m in seen if n.startswith(".baiji-")]
    assert temps and all(m == 0o600 for _, m in temps), seen
    assert os.listdir(tmp_path / "dst") == ["f.bin"]


# == 9. no secret in output, errors or -v logs ===========================================

SECRET = "SECRETzz9" + uuid.uuid4().hex + "/+Kq"
TOKEN = "TOKENzz9" + uuid.uuid4().hex + "/+Tq=="


def _secret_forms() -> list[str]:
    forms = []
    for value in (SECRET, TOKEN):
        forms += [value, quote(value, safe=""), quote(value), value[9:30]]
    return forms


def _assert_no_secret(*texts):
    for text in texts:
        for form in _secret_forms():
            assert form not in text, f"secret leaked: {form!r} in {text[:2000]!r}"


@pytest.fixture
def secret_env(monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)


def test_no_secret_in_cli_output_errors_or_verbose_logs(client, s3dir, tmp_path, server_kind, secret_env):
    """Neither output, error messages nor -v logs show the secret, through every client.

    Data-plane commands (objects through obstore, listings through baiji's
    lister) log no HTTP through ``logging``; the control-plane ones (boto3's
    HEAD) must show botocore's debug logs, redacted.  (Not ``s3 url``: a
    presigned URL carries the session token by design.)
    """
    bucket = split(s3dir)[0]
    put(client, s3dir + "existing.txt", b"hello")
    (tmp_path / "up.txt").write_text("upload me")
    runs = [  # (argv, control plane: botocore's debug logs expected)
        (("ls", s3dir), False),
        (("ls", "-l", s3dir), False),
        (("cp", "-f", str(tmp_path / "up.txt"), s3dir + "up.txt"), False),
        (("cp", "-f", s3dir + "existing.txt", str(tmp_path / "down.txt")), False),
        (("cat", s3dir + "missing.txt"), False),
        (("cp", s3dir + "missing.txt", str(tmp_path / "never.txt")), False),
        (("sync", str(tmp_path), s3dir + "synced/"), False),
        (("info", s3dir + "existing.txt"), True),
        (("info", s3dir + "missing.txt"), True),
        (("exists", s3dir + "existing.txt"), True),
    ]
    verbose_bytes = 0
    for argv, control in runs:
        for verbose in (False, True):
            status, out, err = run_cli(*(["-vv"] if verbose else []), *argv)
            _assert_no_secret(out, err)
            if verbose:
                verbose_bytes += len(err)
                assert "baiji.cli DEBUG: running s3" in err  # the debug logs are really on
                if control:
                    assert "botocore" in err and redact.REDACTED in err  # HTTP-level logs, redacted
            if server_kind == "seaweedfs":  # it checks signatures: the wrong secret is refused
                assert status == 1
                if not verbose:
                    assert_cli_error(status, err, bucket)
                    assert "Permission denied" in err, err
            elif "missing.txt" in " ".join(argv):
                assert status == 1 and "missing.txt" in err
            else:
                assert status == 0, err
    assert verbose_bytes > 10_000


def test_no_secret_in_library_errors(s3dir, tmp_path, server_kind, secret_env):
    conn = S3Connection(endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    bucket = split(s3dir)[0]
    calls = [
        lambda: conn.get_string(s3dir + "missing.txt"),
        lambda: conn.cp(s3dir + "missing.txt", str(tmp_path / "x")),
        lambda: list(conn.ls("s3://no-such-bucket-" + uuid.uuid4().hex[:8] + "/")),
        lambda: conn.put_string(s3dir + "k", "v") or conn.put_string(s3dir + "k", "v", replace=False)
        or conn.open(s3dir + "k", "x"),
    ]
    for call in calls:
        with pytest.raises(Exception) as info:
            call()
        err = info.value
        texts = [str(err), repr(err), "".join(traceback.format_exception(type(err), err, err.__traceback__))]
        _assert_no_secret(*texts)
        assert one_line(str(err))
        if server_kind == "seaweedfs" and "no-such-bucket" not in str(err):
            assert "Permission denied" in str(err) and bucket in str(err), str(err)


# == 10. bad input: the right exception, one line naming the path, nothing changed =========

def _snapshot(client, bucket, tmp_path):
    return tree(tmp_path, empty_dirs=True), bucket_state(client, bucket)


@pytest.fixture
def sandbox(conn, client, s3dir, tmp_path):
    """A local dir and an s3 prefix with a few files, to check bad calls change nothing."""
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "a.txt").write_bytes(b"a")
    (tmp_path / "afile").write_bytes(b"I am a file")
    put(client, s3dir + "a.txt", b"a")
    put(client, s3dir + "sub/b.txt", b"b")
    return tmp_path, s3dir


def _bad_inputs(tmp, s3dir):
    """(id, call, expected exception class, text the message must contain)."""
    missing = str(tmp / "missing.txt")
    under_file = str(tmp / "afile" / "sub" / "x.txt")
    cases = []
    for name, url, exc in [("no-bucket", "s3:///x", ValueError),
                           ("bad-bucket", "s3://bad!bucket/x", ValueError),
                           ("gs-scheme", "gs://b/k", InvalidSchemeException),
                           ("http-scheme", "http://example.com/k", InvalidSchemeException)]:
        cases += [
            (f"{name}-cp-src", lambda u=url: (u, str(tmp / "dir" / "new.txt")), "cp", exc, url),
            (f"{name}-cp-dst", lambda u=url: (str(tmp / "dir" / "a.txt"), u), "cp", exc, url),
            (f"{name}-cp_r", lambda u=url: (u + "/", str(tmp / "dir") + "/"), "cp_r", exc, url),
            (f"{name}-sync", lambda u=url: (str(tmp / "dir"), u + "/"), "sync", exc, url),
            (f"{name}-ls", lambda u=url: (u,), "ls", exc, url),
            (f"{name}-exists", lambda u=url: (u,), "exists", exc, url),
            (f"{name}-open", lambda u=url: (u,), "open", exc, url),
            (f"{name}-open-w", lambda u=url: (u, "w"), "open", exc, url),
            (f"{name}-put_string", lambda u=url: (u, "x"), "put_string", exc, url),
            (f"{name}-rm", lambda u=url: (u,), "rm", exc, url),
            (f"{name}-info", lambda u=url: (u,), "info", exc, url),
            (f"{name}-mv", lambda u=url: (s3dir + "a.txt", u), "mv", exc, url),
        ]
    cases += [
        ("missing-cp", lambda: (missing, s3dir + "new.txt"), "cp", KeyNotFound, missing),
        ("missing-cp-local", lambda: (missing, str(tmp / "dir" / "new.txt")), "cp", KeyNotFound, missing),
        ("missing-cp_r", lambda: (str(tmp / "nodir") + "/", s3dir + "new/"), "cp_r", KeyNotFound,
         str(tmp / "nodir")),
        ("missing-sync", lambda: (str(tmp / "nodir"), s3dir + "new/"), "sync", ValueError, str(tmp / "nodir")),
        ("missing-open", lambda: (missing,), "open", KeyNotFound, missing),
        ("missing-rm", lambda: (missing,), "rm", KeyNotFound, missing),
        ("missing-info", lambda: (missing,), "info", KeyNotFound, missing),
        ("missing-md5", lambda: (missing,), "md5", KeyNotFound, missing),
        ("missing-mv", lambda: (missing, s3dir + "new.txt"), "mv", KeyNotFound, missing),
        ("file-as-dir-download", lambda: (s3dir + "a.txt", under_file), "cp", S3Exception, str(tmp / "afile")),
        ("file-as-dir-local", lambda: (str(tmp / "dir" / "a.txt"), under_file), "cp", S3Exception,
         str(tmp / "afile")),
        ("file-as-dir-open", lambda: (under_file, "w"), "open", S3Exception, str(tmp / "afile")),
        ("file-as-dir-sync", lambda: (s3dir, str(tmp / "afile")), "sync", ValueError, str(tmp / "afile")),
        ("file-as-cp_r-src", lambda: (str(tmp / "afile"), s3dir + "new/"), "cp_r", ValueError,
         str(tmp / "afile")),
        ("dir-as-file-open", lambda: (str(tmp / "dir"),), "open", IsADirectoryError, str(tmp / "dir")),
        ("dir-as-file-cp", lambda: (str(tmp / "dir"), s3dir + "new.txt"), "cp", ValueError, str(tmp / "dir")),
        ("mode-rw", lambda: (s3dir + "a.txt", "rw"), "open", ValueError, "'rw'"),
        ("mode-q", lambda: (s3dir + "a.txt", "q"), "open", ValueError, "'q'"),
        ("mode-bt", lambda: (str(tmp / "dir" / "a.txt"), "rbt"), "open", ValueError, "'rbt'"),
        ("mode-a-s3", lambda: (s3dir + "a.txt", "a"), "open", NotImplementedError, s3dir + "a.txt"),
        ("mode-rplus-s3", lambda: (s3dir + "a.txt", "r+"), "open", NotImplementedError, s3dir + "a.txt"),
    ]
    return cases


_CASE_IDS = [c[0] for c in _bad_inputs(__import__("pathlib").Path("/t"), "s3://b/p/")]


@pytest.mark.parametrize("case_id", _CASE_IDS)
def test_bad_input_is_refused_and_changes_nothing(conn, client, sandbox, case_id):
    tmp, s3dir = sandbox
    _, make_args, method, exc, named = next(c for c in _bad_inputs(tmp, s3dir) if c[0] == case_id)
    args = make_args()
    before = _snapshot(client, split(s3dir)[0], tmp)
    with pytest.raises(exc) as info:
        result = getattr(conn, method)(*args)
        if hasattr(result, "__next__"):
            list(result)
        if hasattr(result, "close"):
            result.close()
    message = str(info.value)
    assert named in message, message
    assert one_line(message), message
    assert "botocore" not in type(info.value).__module__
    assert _snapshot(client, split(s3dir)[0], tmp) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root bypasses file permissions (running as root)")
def test_permission_denied_local_paths(conn, client, sandbox):
    tmp, s3dir = sandbox
    locked = tmp / "locked"
    locked.mkdir()
    (locked / "secret.txt").write_bytes(b"s")
    os.chmod(locked / "secret.txt", 0)
    os.chmod(locked, 0o500)
    try:
        before = _snapshot(client, split(s3dir)[0], tmp)
        for call in (lambda: conn.cp(str(locked / "secret.txt"), s3dir + "x"),
                     lambda: conn.cp(s3dir + "a.txt", str(locked / "new.txt")),
                     lambda: conn.open(str(locked / "new.txt"), "w")):
            with pytest.raises(S3Exception) as info:
                call()
            assert str(locked) in str(info.value) and one_line(str(info.value))
        assert _snapshot(client, split(s3dir)[0], tmp) == before
    finally:
        os.chmod(locked, 0o700)
        os.chmod(locked / "secret.txt", 0o600)


@pytest.mark.parametrize("argv, named", [
    (["ls", "s3:///x"], "s3:///x"),
    (["cp", "s3://bad!bucket/x", "{tmp}/dir/"], "s3://bad!bucket/x"),
    (["cp", "gs://b/k", "{tmp}/dir/"], "gs://b/k"),
    (["cp", "{tmp}/missing.txt", "{s3}new.txt"], "{tmp}/missing.txt"),
    (["cp", "{s3}a.txt", "{tmp}/afile/sub/x.txt"], "{tmp}/afile"),
    (["cp", "-r", "{tmp}/nodir/", "{s3}new/"], "{tmp}/nodir"),
    (["sync", "{tmp}/nodir", "{s3}new/"], "{tmp}/nodir"),
    (["sync", "{s3}", "{tmp}/afile"], "{tmp}/afile"),
    (["rm", "{tmp}/missing.txt"], "{tmp}/missing.txt"),
    (["cat", "gs://b/k"], "gs://b/k"),
    (["info", "s3:///x"], "s3:///x"),
], ids=["ls-no-bucket", "cp-bad-bucket", "cp-gs", "cp-missing", "cp-file-as-dir", "cp-r-missing",
        "sync-missing", "sync-file-as-dir", "rm-missing", "cat-gs", "info-no-bucket"])
def test_bad_input_cli(client, sandbox, argv, named):
    tmp, s3dir = sandbox
    argv = [a.format(tmp=tmp, s3=s3dir) for a in argv]
    named = named.format(tmp=tmp, s3=s3dir)
    before = _snapshot(client, split(s3dir)[0], tmp)
    status, out, err = run_cli(*argv)
    assert_cli_error(status, err, named)
    assert out == ""
    assert _snapshot(client, split(s3dir)[0], tmp) == before
