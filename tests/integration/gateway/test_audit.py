"""The audit log records what was asked: the method used, whatever it was."""
from conftest import outcome


def test_audit_records_the_method_used(gateway):
    for method in ("GET", "PUT", "PATCH", "DELETE", "OPTIONS", "POST"):
        # A body only where one is served: the guard refuses one on GET,
        # DELETE and OPTIONS before any route is looked at.
        body = b"{}" if method in ("PUT", "PATCH", "POST") else None
        st, h, data = gateway.call(method, "/records", body=body)
        assert st in (405, 400, 422), (method, st, data[:200])
        outcome(data)
        last = gateway.audit()[-1]
        assert last["request_id"] == h["X-Request-Id"]
        assert last["method"] == method, last
