# tests/test_agent.py
import pytest
from fastapi.testclient import TestClient
from app import app

client = TestClient(app)

def test_health_check():
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "healthy"

def test_process_request():
    response = client.post("/process", json={
        "user_id": "test123",
        "query": "Explain variables"
    })
    assert response.status_code == 200
    assert "response" in response.json()
