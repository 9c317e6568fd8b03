from app.auth.models import User
from app.extensions import db


def test_create_admin_with_generated_password_must_change_it(runner, auth, client):
    result = runner.invoke(
        args=["users", "create-admin", "--username", "secretary", "--name", "王书记"]
    )
    assert result.exit_code == 0, result.output
    assert "已创建管理员 secretary" in result.output
    password = result.output.split("初始密码：")[1].split("（")[0]
    user = db.session.execute(db.select(User).filter_by(username="secretary")).scalar_one()
    assert user.role == "admin" and user.must_change_password
    response = auth.login("secretary", password)
    assert response.headers["Location"].endswith("/account/password")


def test_create_admin_refuses_weak_password_and_duplicates(runner):
    result = runner.invoke(args=["users", "create-admin", "--username", "a1", "--password", "123"])
    assert result.exit_code != 0
    assert "密码至少需要 10 个字符" in result.output
    ok = runner.invoke(
        args=["users", "create-admin", "--username", "a1", "--password", "Str0ng-Pass!x"]
    )
    assert ok.exit_code == 0
    again = runner.invoke(
        args=["users", "create-admin", "--username", "a1", "--password", "Str0ng-Pass!x"]
    )
    assert again.exit_code != 0 and "已存在" in again.output
