"""deploy/cellgate.registry.yaml as shipped works: in a copy of the layout it
expects (../certs/dev, with the pseudonym.key that certs/make-dev-pki.sh
makes, and ../var), unchanged, its ports and upstream from the environment.
A record with consent for STEMCELL-REG is answered 202 and reaches the FHIR
server pseudonymised and de-identified; one without is refused 422; and
`cellgate deidentify` with the same file gives what was sent."""
import json
import os
import pathlib
import shutil
import signal
import subprocess

from conftest import BIN, SRC, outcome, wait_port
from test_outbox import wait_for
from test_queue_config import environment, post, run

CONFIG = "deploy/cellgate.registry.yaml"


def test_the_registry_configuration_works_as_shipped(pki, tmp_path, fhirstore):
    ex = str(tmp_path / "registry")
    os.makedirs(f"{ex}/deploy")
    os.makedirs(f"{ex}/certs")
    os.symlink(pki, f"{ex}/certs/dev")
    shutil.copy(f"{SRC}/{CONFIG}", f"{ex}/{CONFIG}")
    assert oct(os.stat(f"{pki}/pseudonym.key").st_mode & 0o777) == "0o600"
    env = environment(f"{fhirstore.url}/fhir")
    port = int(env["CELLGATE_PORT"])
    p = run("serve", "--check-config", CONFIG, env=env, cwd=ex)
    assert p.returncode == 0, p.stdout + p.stderr

    with open(f"{SRC}/tests/data/records/valid-heart-failure.json") as f:
        rec = json.load(f)
    rec["consent"] = {"research": True, "registries": ["STEMCELL-REG"], "date": "2024-01-02"}
    log = pathlib.Path(f"{ex}/gateway.log")
    with open(log, "w") as err:
        proc = subprocess.Popen([BIN, "serve", "--config", CONFIG, "--mappings",
                                 f"{SRC}/mappings"], cwd=ex, env=env, stderr=err)
    try:
        assert wait_port(port, proc), log.read_text()
        assert wait_for(lambda: '"listening on ' in log.read_text()), log.read_text()
        st, _, body = post(pki, port, json.dumps(rec).encode())
        assert st == 202, body
        no_consent = dict(rec, recordId="HF-2024-0002")
        del no_consent["consent"]
        st, _, body = post(pki, port, json.dumps(no_consent).encode())
        assert st == 422, body
        assert outcome(body)["issue"][0]["details"]["coding"][0]["code"] == "consent-required"
        got = wait_for(lambda: fhirstore.received())
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=40)
    assert code == 0
    sent = json.dumps(got)
    for secret in ["MRN-004211", "REG-77", "HF-2024-0001", "ENC-88812", "1961-04-17",
                   "2024-03-05", "1234567893", "Example Cell Therapy Lab"]:
        assert secret not in sent, secret
    proc_sent = [e["resource"] for b in got for e in b["entry"]
                 if e["resource"]["resourceType"] == "Procedure"]
    assert proc_sent[0]["subject"]["identifier"]["system"] == \
        "urn:cellgate:pseudonym:STEMCELL-REG"
    # the command line applies the same policy from the same file
    f = tmp_path / "rec.json"
    f.write_text(json.dumps(rec))
    p = run("deidentify", "--config", CONFIG, "--destination", "registry", "--mappings",
            f"{SRC}/mappings", str(f), env=env, cwd=ex)
    assert p.returncode == 0, p.stderr
    mine = [e["resource"] for e in json.loads(p.stdout)["entry"]
            if e["resource"]["resourceType"] == "Procedure"]
    assert mine == proc_sent
