"""The application boots on the test database and serves its public pages."""


def test_home_and_health(client):
    r = client.get("/")
    assert r.status_code == 200
    assert "工业碳效码平台" in r.get_data(as_text=True)
    h = client.get("/api/v1/health")
    assert h.status_code == 200, h.get_json()
    assert h.get_json()["components"]["database"]["ok"] is True


def test_login_page_is_chinese(client):
    r = client.get("/auth/login")
    assert r.status_code == 200
    assert "登录" in r.get_data(as_text=True) or "密码" in r.get_data(as_text=True)
