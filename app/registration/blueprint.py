"""The registration blueprint and what its route modules share."""

from __future__ import annotations

from flask import (
    Blueprint,
)

bp = Blueprint("registration", __name__)

PUBLIC_LIMIT = "60 per minute; 600 per hour"
SUBMIT_LIMIT = "10 per minute; 60 per hour"
STATUS_LIMIT = "10 per minute; 50 per hour"
VALIDATE_LIMIT = "240 per minute"
PRIVACY = {
    "what": "姓名、身份证号、手机号、入党日期等党籍信息、工作或流动情况、居住地址。",
    "why": "用于党员到社区报到、组织关系和流动党员管理、联系服务和组织生活安排，不用于其他目的。",
    "who": "仅本社区（及所属街道）负责党员管理的工作人员和所在网格的网格员可以查看；"
    "身份证号加密保存，列表和打印件中只显示部分号码。",
    "how_long": "您成为本社区党员期间保存；未通过的登记在 1 年后删除；"
    "党员档案按党内规定期限保存。您可以登录后查看本人信息，并申请更正。",
}
