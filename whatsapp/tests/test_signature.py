import json

from conftest import FIXTURES_DIR
from whatsapp.signature import sign, signature_is_valid


def vector() -> dict:
    return json.loads((FIXTURES_DIR / "signature_test_vector.GENERATED.json").read_text())


def test_published_vector_verifies_over_the_exact_file_bytes() -> None:
    v = vector()
    body = (FIXTURES_DIR / v["file"]).read_bytes()
    assert sign(body, v["app_secret"]) == v["X-Hub-Signature-256"]
    assert signature_is_valid(body, v["X-Hub-Signature-256"], v["app_secret"])


def test_reserialised_body_does_not_verify() -> None:
    v = vector()
    body = (FIXTURES_DIR / v["file"]).read_bytes()
    compact = json.dumps(json.loads(body), separators=(",", ":")).encode()
    assert not signature_is_valid(compact, v["X-Hub-Signature-256"], v["app_secret"])


def test_missing_malformed_or_foreign_signatures_are_rejected() -> None:
    body = b'{"object":"whatsapp_business_account","entry":[]}'
    good = sign(body, "secret")
    assert signature_is_valid(body, good, "secret")
    assert not signature_is_valid(body, None, "secret")
    assert not signature_is_valid(body, "", "secret")
    assert not signature_is_valid(body, good.removeprefix("sha256="), "secret")
    assert not signature_is_valid(body, sign(body, "other-secret"), "secret")
    assert not signature_is_valid(body + b" ", good, "secret")


def test_an_unconfigured_secret_accepts_nothing() -> None:
    body = b"{}"
    assert not signature_is_valid(body, sign(body, ""), "")
