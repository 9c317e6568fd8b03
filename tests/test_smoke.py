def test_login_page_renders_in_chinese(client):
    response = client.get("/login")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    assert "用户登录" in html


def test_admin_logs_in_and_sees_dashboard(auth, client):
    auth.login_as("admin")
    response = client.get("/home")
    assert response.status_code == 200
    assert "工作台" in response.get_data(as_text=True)


def test_dashboard_figures_link_to_the_lists_behind_them(auth, client):
    auth.login_as("admin")
    html = client.get("/home").get_data(as_text=True)
    assert 'href="/members/?status=managed&amp;category=dual"' in html
    assert client.get("/members/?status=managed&category=dual").status_code == 200
