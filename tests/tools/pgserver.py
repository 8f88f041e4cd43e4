#!/usr/bin/env python3
"""A real PostgreSQL server for the tests, in a temporary directory.

Debian's `postgresql` package (deploy/install-deps.sh --test) brings initdb
and pg_ctl; no system service is used. As root, the server runs as the
`postgres` user (PostgreSQL refuses to run as root).

    python3 tests/tools/pgserver.py run -- CMD ARGS...
        starts a server, runs CMD with CG_TEST_PG set to a connection
        string of a fresh database (and CG_TEST_PG_ADMIN to the server's
        `postgres` database, for tests that make databases of their own),
        stops the server and exits with CMD's status.

From Python: `with PgServer() as pg: pg.create_database("x"); pg.url("x")`.
"""
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time


def _bindir():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        sys.exit("pgserver: PostgreSQL is not installed (deploy/install-deps.sh --test installs it)")
    return os.path.dirname(found[-1])


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    def __init__(self, port=None, ssl=None):
        """ssl: (certificate, key) files: TLS on (and allowed, not required)."""
        self.bin = _bindir()
        self.dir = tempfile.mkdtemp(prefix="cg-pg-")
        os.chmod(self.dir, 0o755)
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "server.log")
        self.port = port or _free_port()
        self.user = "cellgate"
        self.as_root = os.geteuid() == 0
        self.started = False
        self.ssl = ssl

    def _cmd(self, args):
        if self.as_root:
            return ["runuser", "-u", "postgres", "--"] + args
        return args

    def _run(self, args, **kw):
        return subprocess.run(self._cmd(args), check=True, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, **kw)

    def init(self):
        if self.as_root:
            shutil.chown(self.dir, "postgres")
        self._run([os.path.join(self.bin, "initdb"), "-D", self.data, "-U", self.user,
                   "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"])
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("listen_addresses = '127.0.0.1'\n")
            f.write(f"port = {self.port}\n")
            f.write(f"unix_socket_directories = '{self.dir}'\n")
            f.write("max_connections = 200\n")
            f.write("shared_buffers = 64MB\n")
            # a test server: durable as in production (the crash tests
            # need commits to survive a kill), but quick to check for
            f.write("fsync = on\n")
            f.write("log_min_messages = warning\n")
            if self.ssl:
                f.write("ssl = on\n")
                f.write(f"ssl_cert_file = '{self.dir}/server.crt'\n")
                f.write(f"ssl_key_file = '{self.dir}/server.key'\n")
        if self.ssl:
            # the server's own copies: its key must be the server user's, 0600
            for src, name in zip(self.ssl, ("server.crt", "server.key")):
                dst = os.path.join(self.dir, name)
                shutil.copy(src, dst)
                os.chmod(dst, 0o600)
                if self.as_root:
                    shutil.chown(dst, "postgres")

    def start(self):
        self._run([os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-l", self.log, "-w",
                   "-t", "60", "start"])
        self.started = True

    def stop(self, mode="fast"):
        if self.started:
            subprocess.run(self._cmd([os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-m",
                                      mode, "-w", "stop"]),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.started = False

    def restart(self, mode="fast", down_s=0.0):
        self.stop(mode)
        time.sleep(down_s)
        self.start()

    def psql(self, sql, db="postgres"):
        out = subprocess.run([os.path.join(self.bin, "psql"), "-X", "-q", "-t", "-A",
                              "-v", "ON_ERROR_STOP=1", "-h", self.dir, "-p", str(self.port),
                              "-U", self.user, "-d", db, "-c", sql],
                             check=True, capture_output=True, text=True)
        return out.stdout.strip()

    def create_database(self, name):
        self.psql(f'CREATE DATABASE "{name}"')

    def conninfo(self, db):
        """A libpq connection string (keywords) over the Unix socket."""
        return f"host={self.dir} port={self.port} user={self.user} dbname={db}"

    def url(self, db):
        """A URI over TCP, as an operator would write one."""
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{db}"

    def __enter__(self):
        self.init()
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


def main():
    if len(sys.argv) < 4 or sys.argv[1] != "run" or sys.argv[2] != "--":
        sys.exit("usage: pgserver.py run -- CMD ARGS...")
    with PgServer() as pg:
        pg.create_database("cellgate_test")
        env = dict(os.environ)
        env["CG_TEST_PG"] = "postgres:" + pg.conninfo("cellgate_test")
        env["CG_TEST_PG_ADMIN"] = "postgres:" + pg.conninfo("postgres")
        env["CG_TEST_PG_DIR"] = pg.dir
        env["CG_TEST_PG_PORT"] = str(pg.port)
        rc = subprocess.run(sys.argv[3:], env=env).returncode
    sys.exit(rc)


if __name__ == "__main__":
    main()
