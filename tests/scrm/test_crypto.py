import pytest

from scrm import crypto


def test_secrets_round_trip_and_are_not_stored_in_clear():
    token = crypto.encrypt("app-secret-汉字")
    assert "app-secret" not in token
    assert crypto.decrypt(token) == "app-secret-汉字"


def test_a_tampered_secret_fails_clearly():
    token = crypto.encrypt("s3cret")
    with pytest.raises(ValueError, match="cannot be decrypted") as error:
        crypto.decrypt(token[:-4] + "AAAA")
    assert "s3cret" not in str(error.value)
