"""deploy/cellgate.example.yaml as shipped works: in a copy of the layout it
expects (../certs/dev from its folder), only its port changed to a free one."""
import os
import pathlib
import signal
import subprocess
import time

from conftest import BIN, SRC, free_port, wait_port


def test_the_example_configuration_works_as_shipped(pki, tmp_path):
    ex = str(tmp_path / "example")
    os.makedirs(f"{ex}/deploy")
    os.makedirs(f"{ex}/certs")
    os.symlink(pki, f"{ex}/certs/dev")
    port = free_port()
    with open(f"{SRC}/deploy/cellgate.example.yaml") as f:
        example = f.read()
    assert "port: 8443" in example
    with open(f"{ex}/deploy/cellgate.example.yaml", "w") as f:
        f.write(example.replace("port: 8443", f"port: {port}"))

    with open(f"{ex}/gateway.log", "w") as err:
        proc = subprocess.Popen([BIN, "serve", "--config", f"{ex}/deploy/cellgate.example.yaml",
                                 "--mappings", f"{SRC}/mappings"], stderr=err)
    try:
        assert wait_port(port, proc)
        # ready for signals once it says so (see Gateway.start)
        deadline = time.time() + 30
        log = pathlib.Path(f"{ex}/gateway.log")
        while '"listening on ' not in log.read_text() and time.time() < deadline:
            time.sleep(0.05)
        with open(f"{SRC}/tests/data/records/valid-heart-failure.json", "rb") as f:
            body = f.read()
        r = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
                            "--cacert", f"{pki}/ca.crt", "--cert", f"{pki}/ehr.crt",
                            "--key", f"{pki}/ehr.key", "-H", "Content-Type: application/json",
                            "--data-binary", "@-", f"https://localhost:{port}/records"],
                           input=body, capture_output=True, timeout=20)
        files = os.listdir(f"{ex}/var/ndjson") if os.path.isdir(f"{ex}/var/ndjson") else []
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=40)
    assert r.stdout == b"200", (r.stdout, r.stderr)
    assert any(n.startswith("records-") for n in files), "folders made, record stored"
    assert code == 0, "a clean stop"
    with open(f"{ex}/gateway.log") as f:
        odd = [x for x in f.read().splitlines() if x and not x.startswith("{")]
    assert not odd, odd[:20]
