import json

from django.test import Client


def test_healthz_reports_db_redis_and_worker_heartbeat_as_json(brand):
    response = Client(HTTP_HOST=brand.primary_host()).get("/healthz")
    status = json.loads(response.content)
    assert response.status_code == 200
    assert status["db"] == "ok"
    assert status["redis"] == "ok"
    assert "worker_heartbeat_age_s" in status


def test_healthz_on_the_public_host(brands, db):
    response = Client(HTTP_HOST="localhost").get("/healthz")
    assert response.json()["db"] == "ok"


def test_requests_are_logged_as_structured_json(brand, capsys):
    import logging

    from scrm.logs import JsonFormatter

    record = logging.LogRecord("scrm.request", logging.INFO, __file__, 1, "request", None, None)
    record.path = "/x"
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "request"
    assert line["path"] == "/x"
    assert line["schema"] == brand.schema_name
