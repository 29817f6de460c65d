"""Configuration (SPEC 6): credentials, region and endpoint from botocore's chain,
the original's environment names, no I/O at import or connection time.

Subprocess tests run Python with a cleared environment (no ``AWS_*``
variables, ``HOME`` an empty temp dir, instance metadata disabled) so that
nothing of this machine's or the session's configuration can help.  The
in-process tests change the environment with ``monkeypatch`` and build their
own ``S3Connection`` (never the shared default one).  Which credentials a
request was really signed with is read from its ``Authorization`` header
as a proxy in front of the server received it (the ``proxied`` fixture): it
sees every request, boto3's (control plane), obstore's (objects) and the
lister's alike.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

import pytest

from support import servers
from baiji import config
from baiji.connection import S3Connection
from baiji.exceptions import AWSCredentialsMissing, AWSError, KeyNotFound, S3Exception
from support.helpers import get, put
from test_cli import run

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CRED_VARS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
             "AWS_ACCESS_KEY", "AWS_SECRET", "AWS_CREDENTIAL_FILE", "AWS_PROFILE",
             "AWS_DEFAULT_PROFILE")


# Helpers ------------------------------------------------------------------------


def run_python(code: str, tmp_path, extra_env: dict | None = None, timeout: float = 120):
    """Run ``code`` in a fresh interpreter with a minimal environment; returns the CompletedProcess."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "PYTHONPATH": REPO,
        "AWS_EC2_METADATA_DISABLED": "true",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        "LANG": "C.UTF-8",
    }
    env.update(extra_env or {})
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, cwd=str(tmp_path),
                          capture_output=True, text=True, timeout=timeout)


def closed_port_url() -> str:
    """An endpoint on a loopback port nothing listens on."""
    return f"http://127.0.0.1:{servers.free_port()}"


def authorizations(proxied, action) -> list[str]:
    """Run ``action()`` and return the Authorization headers ('' for none) of every request
    it sent through ``proxied``; fails if it sent none (nothing would have been checked)."""
    start = len(proxied.seen)
    action()
    requests = proxied.seen[start:]
    assert requests, "the action sent no request through the proxy: nothing to check"
    return [info.headers.get("authorization", "") for info in requests]


def signed_with(proxied, action) -> list[str]:
    """Run ``action()`` and return the access keys (None: unsigned) of the requests it sent."""
    matches = [re.search(r"Credential=([^/]+)/", auth) for auth in authorizations(proxied, action)]
    return [match.group(1) if match else None for match in matches]


def scope_region(proxied, action) -> set[str]:
    """Run ``action()`` and return the regions (None: unsigned) of the credential scopes it signed with."""
    matches = [re.search(r"Credential=[^/]+/\d+/([^/]+)/", auth) for auth in authorizations(proxied, action)]
    return {match.group(1) if match else None for match in matches}


@pytest.fixture
def no_aws_files(monkeypatch, tmp_path):
    """AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE point at files that do not exist."""
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def no_credentials(monkeypatch, no_aws_files):
    """No credentials anywhere: env cleared, no config files, no instance metadata."""
    for name in CRED_VARS:
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if name.startswith("AWS_CONTAINER_"):
            monkeypatch.delenv(name, raising=False)


# Import and construction: no I/O, no credentials -----------------------------------


NO_NETWORK = """
import socket
def refuse(*args, **kwargs):
    raise AssertionError(f"network access: {args!r}")
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
"""


def test_import_and_local_work_need_no_network_and_no_credentials(tmp_path):
    code = NO_NETWORK + """
import os, sys
import baiji, baiji.s3, baiji.path, baiji.cli
from baiji import s3
base = os.path.join(os.getcwd(), "work")
os.makedirs(base)
src = os.path.join(base, "a.txt")
with s3.open(src, "w") as f:
    f.write("hello")
s3.cp(src, os.path.join(base, "copy", "b.txt"))
assert sorted(s3.ls(base)) == ["a.txt", "copy/b.txt"], s3.ls(base)
assert s3.md5(src) == "5d41402abc4b2a76b9719d911017c592"
assert s3.etag(src) == "5d41402abc4b2a76b9719d911017c592"
with s3.open(os.path.join(base, "copy", "b.txt")) as f:
    assert f.read() == b"hello"
assert s3.exists(src) and not s3.exists(src + ".nope")
assert s3.size(src) == 5 and s3.info(src)["size"] == 5
s3.put_string(os.path.join(base, "s.txt"), "str")
assert s3.get_string(os.path.join(base, "s.txt")) == "str"
s3.touch(os.path.join(base, "t"))
s3.sync(base, os.path.join(os.getcwd(), "mirror"))
assert sorted(s3.ls(os.path.join(os.getcwd(), "mirror"))) == ["a.txt", "copy/b.txt", "s.txt", "t"]
s3.mv(os.path.join(base, "t"), os.path.join(base, "t2"))
s3.rm(os.path.join(base, "t2"))
assert s3.isdir(base) and s3.isfile(src)
print("LOCAL-OK")
"""
    proc = run_python(code, tmp_path, {"AWS_ENDPOINT_URL": closed_port_url()})
    assert proc.returncode == 0, proc.stderr
    assert "LOCAL-OK" in proc.stdout


def test_import_does_not_create_a_client(tmp_path):
    code = """
import boto3, botocore.session
made = []
real = botocore.session.Session.create_client
def spy(self, *args, **kwargs):
    made.append(args)
    return real(self, *args, **kwargs)
botocore.session.Session.create_client = spy
from baiji import s3
from baiji.connection import S3Connection
S3Connection(); S3Connection(profile="no-such-profile"); s3.default_connection()
s3.exists("/nonexistent/path")
assert made == [], made
print("NO-CLIENT")
"""
    proc = run_python(code, tmp_path, {"AWS_ENDPOINT_URL": closed_port_url()})
    assert proc.returncode == 0, proc.stderr
    assert "NO-CLIENT" in proc.stdout


def test_s3connection_does_no_io(monkeypatch, no_credentials, tmp_path):
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access: {args!r}")

    made = []
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(config, "make_client", lambda *a, **k: made.append(a))
    monkeypatch.setenv("AWS_ENDPOINT_URL", closed_port_url())
    conns = [S3Connection(), S3Connection(profile="no-such-profile"),
             S3Connection(region="eu-west-1", endpoint_url=closed_port_url())]
    for conn in conns:
        assert conn.settings()["profile"] in (None, "no-such-profile")
        (tmp_path / "f").write_bytes(b"x")
        assert conn.exists(str(tmp_path / "f"))  # local work needs no client either
    assert made == []


# Missing credentials ------------------------------------------------------------------


def test_missing_credentials_raise_at_first_s3_call(tmp_path, endpoint_url, bucket):
    env = {"AWS_ENDPOINT_URL": endpoint_url} if endpoint_url else {}
    code = f"""
from baiji import s3
import baiji.exceptions as exc
results = []
calls = [
    ("exists", lambda: s3.exists("s3://{bucket}/key")),
    ("ls", lambda: list(s3.ls("s3://{bucket}/"))),
    ("get_string", lambda: s3.get_string("s3://{bucket}/key")),
    ("put_string", lambda: s3.put_string("s3://{bucket}/key", "x")),
    ("list_buckets", lambda: s3.list_buckets()),
]
for name, call in calls:
    try:
        call()
        results.append((name, "no error"))
    except Exception as e:
        results.append((name, type(e).__module__ + "." + type(e).__name__))
        message = str(e)
for name, kind in results:
    print(name, kind)
print("MESSAGE:", message)
"""
    proc = run_python(code, tmp_path, env)
    assert proc.returncode == 0, proc.stderr
    lines = dict(line.split(" ", 1) for line in proc.stdout.splitlines() if not line.startswith("MESSAGE"))
    assert lines == {name: "baiji.exceptions.AWSCredentialsMissing"
                     for name in ("exists", "ls", "get_string", "put_string", "list_buckets")}
    message = proc.stdout.split("MESSAGE:", 1)[1]
    assert "AWS_ACCESS_KEY_ID" in message and "credentials" in message


def test_missing_credentials_in_process(no_credentials, s3dir, endpoint_url):
    conn = S3Connection(endpoint_url=endpoint_url)
    with pytest.raises(AWSCredentialsMissing, match="AWS_ACCESS_KEY_ID"):
        conn.exists(s3dir + "key")
    assert issubclass(AWSCredentialsMissing, AWSError)


# The original's environment names -------------------------------------------------------


def test_legacy_access_key_and_secret(monkeypatch, no_credentials, local_only, proxied, s3dir,
                                      client):
    monkeypatch.setenv("AWS_ACCESS_KEY", servers.DEFAULT_ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET", servers.DEFAULT_SECRET_KEY)
    conn = S3Connection(endpoint_url=proxied.endpoint_url)
    # every request, of the data plane (put, get), the lister and the control plane (HEAD)
    assert set(signed_with(proxied, lambda: conn.put_string(s3dir + "legacy", "ok"))) == {"testing"}
    assert set(signed_with(proxied, lambda: conn.get_string(s3dir + "legacy"))) == {"testing"}
    assert set(signed_with(proxied, lambda: list(conn.ls(s3dir)))) == {"testing"}
    assert set(signed_with(proxied, lambda: conn.exists(s3dir + "legacy"))) == {"testing"}
    assert client.get_object(Bucket=s3dir[5:].split("/")[0],
                             Key=s3dir.split("/", 3)[3] + "legacy")["Body"].read() == b"ok"


def test_standard_names_beat_legacy_ones(monkeypatch, local_only, proxied, s3dir):
    monkeypatch.setenv("AWS_ACCESS_KEY", "LEGACYKEY")
    monkeypatch.setenv("AWS_SECRET", "legacy-secret")
    conn = S3Connection(endpoint_url=proxied.endpoint_url)
    for action in (lambda: conn.exists(s3dir + "x"), lambda: conn.put_string(s3dir + "x", "ok"),
                   lambda: list(conn.ls(s3dir))):
        assert set(signed_with(proxied, action)) == {servers.DEFAULT_ACCESS_KEY}


def test_legacy_credential_file(monkeypatch, no_credentials, local_only, proxied, s3dir, tmp_path):
    path = tmp_path / "aws-credentials.txt"
    path.write_text(f"AWSAccessKeyId={servers.DEFAULT_ACCESS_KEY}\n"
                    f"AWSSecretKey={servers.DEFAULT_SECRET_KEY}\n")
    monkeypatch.setenv("AWS_CREDENTIAL_FILE", str(path))
    conn = S3Connection(endpoint_url=proxied.endpoint_url)
    assert set(signed_with(proxied, lambda: conn.put_string(s3dir + "from-file", "ok"))) == {"testing"}
    got = []
    assert set(signed_with(proxied, lambda: got.append(conn.get_string(s3dir + "from-file")))) == {"testing"}
    assert got == ["ok"]
    assert set(signed_with(proxied, lambda: list(conn.ls(s3dir)))) == {"testing"}
    assert set(signed_with(proxied, lambda: conn.exists(s3dir + "from-file"))) == {"testing"}


def test_missing_credential_file_is_no_error(monkeypatch, local_only, endpoint_url, s3dir, tmp_path):
    monkeypatch.setenv("AWS_CREDENTIAL_FILE", str(tmp_path / "does-not-exist"))
    conn = S3Connection(endpoint_url=endpoint_url)
    assert conn.exists(s3dir + "x") is False  # env credentials still work


def test_missing_credential_file_and_nothing_else(monkeypatch, no_credentials, endpoint_url, s3dir,
                                                 tmp_path):
    monkeypatch.setenv("AWS_CREDENTIAL_FILE", str(tmp_path / "does-not-exist"))
    conn = S3Connection(endpoint_url=endpoint_url)
    with pytest.raises(AWSCredentialsMissing):
        conn.exists(s3dir + "x")


# Endpoint, profile, region ----------------------------------------------------------------


def test_aws_endpoint_url_is_honoured(monkeypatch, local_only, endpoint_url, s3dir):
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint_url)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    conn = S3Connection()
    assert conn.client.meta.endpoint_url == endpoint_url
    assert conn.client.meta.config.s3["addressing_style"] == "path"
    conn.put_string(s3dir + "via-env", "ok")
    assert conn.get_string(s3dir + "via-env") == "ok"


def test_aws_endpoint_url_s3_is_honoured(monkeypatch, local_only, endpoint_url, s3dir):
    monkeypatch.setenv("AWS_ENDPOINT_URL", closed_port_url())
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", endpoint_url)
    conn = S3Connection()
    assert conn.client.meta.endpoint_url == endpoint_url
    assert conn.exists(s3dir + "x") is False


def test_endpoint_url_argument_beats_environment(monkeypatch, local_only, endpoint_url):
    monkeypatch.setenv("AWS_ENDPOINT_URL", closed_port_url())
    assert S3Connection(endpoint_url=endpoint_url).client.meta.endpoint_url == endpoint_url


def test_default_region_is_us_east_1(monkeypatch, no_aws_files):
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    assert config.DEFAULT_REGION == "us-east-1"
    assert S3Connection().client.meta.region_name == "us-east-1"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    assert S3Connection().client.meta.region_name == "eu-central-1"
    assert S3Connection(region="ap-south-1").client.meta.region_name == "ap-south-1"


@pytest.fixture
def profile_files(monkeypatch, tmp_path):
    """A temp AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE with a profile ``other``
    (list it after ``no_credentials``, which points those variables at nothing)."""
    creds = tmp_path / "credentials"
    creds.write_text(f"[other]\naws_access_key_id = {servers.DEFAULT_ACCESS_KEY}\n"
                     f"aws_secret_access_key = {servers.DEFAULT_SECRET_KEY}\n")
    cfg = tmp_path / "config"
    cfg.write_text("[profile other]\nregion = eu-west-1\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(cfg))
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    return "other"


def test_profile_argument(monkeypatch, profile_files, local_only, proxied, s3dir):
    # wrong credentials in the environment: an explicit profile must win over them
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "ENVKEYNOTUSED")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret-not-used")
    conn = S3Connection(profile=profile_files, endpoint_url=proxied.endpoint_url)
    assert conn.client.meta.region_name == "eu-west-1"
    for action in (lambda: conn.put_string(s3dir + "profiled", "ok"), lambda: list(conn.ls(s3dir)),
                   lambda: conn.get_string(s3dir + "profiled"), lambda: conn.exists(s3dir + "profiled")):
        assert set(signed_with(proxied, action)) == {"testing"}
        assert scope_region(proxied, action) == {"eu-west-1"}  # the profile's region, everywhere


def test_aws_profile_environment(monkeypatch, no_credentials, profile_files, local_only,
                                 proxied, s3dir):
    monkeypatch.setenv("AWS_PROFILE", profile_files)
    conn = S3Connection(endpoint_url=proxied.endpoint_url)
    assert conn.client.meta.region_name == "eu-west-1"
    for action in (lambda: conn.exists(s3dir + "x"), lambda: conn.put_string(s3dir + "x", "ok"),
                   lambda: list(conn.ls(s3dir))):
        assert scope_region(proxied, action) == {"eu-west-1"}
        assert set(signed_with(proxied, action)) == {"testing"}


def test_unknown_profile_is_a_baiji_error(no_credentials, s3dir, endpoint_url):
    import botocore.exceptions

    conn = S3Connection(profile="no-such-profile", endpoint_url=endpoint_url)
    for call in (lambda: conn.exists(s3dir + "x"), lambda: list(conn.ls(s3dir)),
                 lambda: conn.list_buckets(), lambda: conn.put_string(s3dir + "x", "x")):
        with pytest.raises(AWSError) as info:
            call()
        assert not isinstance(info.value, botocore.exceptions.BotoCoreError)
        assert "no-such-profile" in str(info.value)


# Secrets never appear in messages -----------------------------------------------------


SECRET = "baijiTopSecretValue0123456789abcdefXYZ"
TOKEN = "baijiSessionTokenValue9876543210zyxwv"


def _chain(err):
    while err is not None:
        yield err
        err = err.__cause__ or err.__context__


def test_no_secret_in_exception_messages(monkeypatch, endpoint_url, server_kind, s3dir, tmp_path):
    """Errors of every kind (not found, missing bucket, and on SeaweedFS, which checks signatures,
    permission denied for the wrong secret) never show the secret key or session token."""
    if server_kind == "aws":
        pytest.skip("would send a bogus secret to real AWS")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
    conn = S3Connection(endpoint_url=endpoint_url)
    calls = [
        lambda: conn.info(s3dir + "missing"),
        lambda: conn.get_string(s3dir + "missing"),
        lambda: list(conn.ls("s3://baiji-no-such-bucket-zz9/x")),
        lambda: conn.cp(s3dir + "missing", str(tmp_path / "dst")),
        lambda: conn.put_string("s3://baiji-no-such-bucket-zz9/x", "x"),
        lambda: conn.md5(s3dir + "missing"),
        lambda: conn.get_url(s3dir + "missing", 60),
        lambda: conn.bucket_info("baiji-no-such-bucket-zz9"),
    ]
    seen = 0
    for call in calls:
        try:
            call()
        except Exception as err:
            seen += 1
            assert isinstance(err, (AWSError, ValueError)), repr(err)
            for e in _chain(err):
                for text in (str(e), repr(e)):
                    assert SECRET not in text and TOKEN not in text, text
    assert seen >= len(calls) - 1
    if server_kind == "seaweedfs":  # the wrong secret is refused: permission denied
        with pytest.raises(S3Exception, match="Permission denied") as info:
            conn.put_string(s3dir + "x", "x")
        assert not isinstance(info.value, KeyNotFound)
        assert SECRET not in str(info.value)
    # no credentials at all
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)  # partial credentials
    conn = S3Connection(endpoint_url=endpoint_url)
    with pytest.raises(AWSError) as info:
        conn.exists(s3dir + "x")
    for e in _chain(info.value):
        assert SECRET not in str(e) and TOKEN not in str(e)


def test_credential_chain_runs_once_per_connection(monkeypatch, profile_files, local_only, endpoint_url, s3dir):
    """Off the fast path, the data plane's target and the control plane's client share one
    botocore session: an assumed role or SSO login is resolved once, not twice."""
    made = []
    real = config.make_session
    monkeypatch.setattr(config, "make_session", lambda profile=None: made.append(profile) or real(profile))
    conn = S3Connection(profile=profile_files, endpoint_url=endpoint_url)
    conn.put_string(s3dir + "once", "ok")  # the target (engine)
    assert conn.exists(s3dir + "once")  # the client (HEAD)
    assert made == [profile_files]


# -- credentials: every plane signs with what botocore would pick ----------------------------------

def _signers(fault_proxy, argv_list, tmp_path):
    """Run the CLI commands through the proxy; ``{(op, access key, token)}`` of every request."""
    import re

    seen = set()

    def handler(info):
        auth = info.headers.get("authorization", "")
        found = re.search(r"Credential=([^/]+)/", auth)
        seen.add((info.op, found.group(1) if found else None, info.headers.get("x-amz-security-token")))
        return None
    fault_proxy.proxy.handler = handler
    results = [run("--endpoint-url", fault_proxy.endpoint_url, *argv) for argv in argv_list]
    fault_proxy.proxy.handler = None
    return results, seen


def _commands(s3dir, tmp_path, profile=None):
    (tmp_path / "up.txt").write_bytes(b"payload")
    pre = ["--profile", profile] if profile else []
    return [[*pre, "cp", str(tmp_path / "up.txt"), s3dir + "k.txt"],  # engine PUT (conditional)
            [*pre, "ls", s3dir],  # the lister
            [*pre, "cp", s3dir + "k.txt", str(tmp_path / "down.txt")],  # engine GET
            [*pre, "cp", s3dir + "k.txt", s3dir + "k2.txt"],  # HEAD (boto3) + engine copy
            [*pre, "info", s3dir + "k.txt"],  # boto3 HEAD/ACL
            [*pre, "rm", s3dir + "k.txt"]]  # engine DELETE


@pytest.fixture
def aws_files(tmp_path, monkeypatch):
    creds = tmp_path / "aws-credentials"
    creds.write_text("[default]\naws_access_key_id = FILEDEFAULT\naws_secret_access_key = s1\n"
                     "[prof]\naws_access_key_id = FILEPROFILE\naws_secret_access_key = s2\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    return creds


@pytest.mark.moto_only(reason="moto accepts any credentials: the test only reads which ones sign")
@pytest.mark.parametrize("case", ["explicit-profile", "env-profile", "legacy", "legacy-after-file", "token",
                                  "file-only"])
def test_every_plane_signs_with_botocores_choice(fault_proxy, s3dir, tmp_path, monkeypatch, aws_files, case):
    profile, expected, token = None, servers_key(), None
    if case == "explicit-profile":  # botocore: an explicit profile beats the environment
        profile, expected = "prof", "FILEPROFILE"
    elif case == "env-profile":  # AWS_PROFILE is no explicit profile: the environment wins
        monkeypatch.setenv("AWS_PROFILE", "prof")
        expected = servers_key()
    elif case.startswith("legacy"):  # the original's names: after the profile's own credentials
        monkeypatch.delenv("AWS_ACCESS_KEY_ID")
        monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
        monkeypatch.setenv("AWS_ACCESS_KEY", "LEGACYKEY")
        monkeypatch.setenv("AWS_SECRET", "legacysecret")
        expected = "FILEDEFAULT"
        if case == "legacy":
            monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
            monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
            expected = "LEGACYKEY"
    elif case == "token":
        monkeypatch.setenv("AWS_SESSION_TOKEN", "the-session-token")
        expected, token = servers_key(), "the-session-token"
    elif case == "file-only":
        monkeypatch.delenv("AWS_ACCESS_KEY_ID")
        monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
        expected = "FILEDEFAULT"
    results, seen = _signers(fault_proxy, _commands(s3dir, tmp_path, profile), tmp_path)
    assert [r[0] for r in results] == [0] * len(results), [r[2] for r in results]
    assert {(key, tok) for _, key, tok in seen} == {(expected, token)}, sorted(seen, key=str)


def servers_key():
    from support import servers

    return servers.DEFAULT_ACCESS_KEY


# -- credentials missing, partial or wrong: one line, exit 1 ---------------------------------------

@pytest.mark.parametrize("argv", [["cp", "{tmp}/up.txt", "{dir}k"], ["cat", "{dir}k"], ["ls", "{dir}"],
                                  ["cp", "{dir}k", "{tmp}/down"], ["rm", "{dir}k"]],
                         ids=["upload", "cat", "ls", "download", "rm"])
def test_missing_credentials_one_line_exit_1(s3dir, tmp_path, monkeypatch, endpoint_url, argv):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    (tmp_path / "up.txt").write_bytes(b"x")
    status, out, err = run("--endpoint-url", endpoint_url, *[a.format(tmp=tmp_path, dir=s3dir) for a in argv])
    assert status == 1 and err.count("\n") == 1 and "no AWS credentials found" in err, err
    assert sorted(os.listdir(tmp_path)) == ["up.txt"]


@pytest.mark.parametrize("argv", [["cp", "{tmp}/up.txt", "{dir}k"], ["cat", "{dir}k"], ["ls", "{dir}"],
                                  ["cp", "{dir}k", "{tmp}/down"], ["rm", "{dir}k"]],
                         ids=["upload", "cat", "ls", "download", "rm"])
def test_partial_environment_credentials_one_line_exit_1(s3dir, tmp_path, monkeypatch, endpoint_url, argv):
    """AWS_ACCESS_KEY_ID without AWS_SECRET_ACCESS_KEY: botocore's PartialCredentialsError
    must come out as one line (AWSCredentialsMissing), exit 1, never a traceback."""
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    (tmp_path / "up.txt").write_bytes(b"x")
    status, out, err = run("--endpoint-url", endpoint_url, *[a.format(tmp=tmp_path, dir=s3dir) for a in argv])
    assert status == 1 and err.count("\n") == 1 and "Traceback" not in err, err
    assert "secret" not in err.lower() or "AWS_SECRET_ACCESS_KEY" in err


@pytest.mark.servers("seaweedfs", reason="only SeaweedFS checks signatures")
@pytest.mark.parametrize("argv", [["cp", "{tmp}/up.txt", "{dir}k"], ["cat", "{dir}k"], ["ls", "{dir}"],
                                  ["cp", "{dir}k", "{tmp}/down"], ["rm", "{dir}k"],
                                  ["cp", "-f", "{dir}k", "{dir}k2"]],
                         ids=["upload", "cat", "ls", "download", "rm", "copy"])
def test_wrong_secret_one_line_permission_denied(s3dir, client, tmp_path, monkeypatch, endpoint_url, argv):
    put(client, s3dir + "k", b"x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "WRONG-secret-value")
    (tmp_path / "up.txt").write_bytes(b"x")
    status, out, err = run("--endpoint-url", endpoint_url, *[a.format(tmp=tmp_path, dir=s3dir) for a in argv])
    assert status == 1 and err.count("\n") == 1, err
    assert "ermission denied" in err and s3dir.split("/")[2] in err, err
    assert "WRONG-secret-value" not in err
    assert get(client, s3dir + "k") == b"x" and sorted(os.listdir(tmp_path)) == ["up.txt"]
