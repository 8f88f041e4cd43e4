"""Signals at awkward moments: a SIGHUP as soon as the port accepts (a deploy
script reloading right after a start) must reload, never end the process."""
import signal
import socket
import subprocess
import time

from conftest import BIN, SRC, Gateway


def test_sighup_right_after_the_port_opens(pki, tmp_path):
    for n in range(8):
        # Eight workers: the first listener accepts while the others are
        # still being made, which is when the signal used to find no handler.
        gw = Gateway(pki, str(tmp_path / f"gw{n}"), workers=8)
        err = open(gw.stderr_path, "w")
        proc = subprocess.Popen(
            [BIN, "serve", "--config", gw.config, "--mappings", f"{SRC}/mappings"],
            cwd=gw.dir, stderr=err)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", gw.port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.001)
        proc.send_signal(signal.SIGHUP)
        time.sleep(0.3)
        alive = proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
        err.close()
        assert alive and code == 0, f"start {n}: exit {proc.returncode}: {gw.log_text()[-500:]}"
        assert "reload: configuration, mappings and certificates loaded" in gw.log_text()
