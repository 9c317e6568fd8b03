"""The WSGI entry point (gunicorn ``wsgi:app``, ``flask --app wsgi``)."""

import os
import sys

from app import create_app

app = create_app()

if not os.environ.get("LINLI_CONFIG"):
    # A server started without LINLI_CONFIG runs the development configuration: say so loudly.
    banner = "!" * 78
    print(
        f"{banner}\n"
        "WARNING: LINLI_CONFIG is not set, so Linli runs the DEVELOPMENT configuration.\n"
        f"Keys come from: {app.config['KEY_SOURCE']}.\n"
        "For a real deployment set LINLI_CONFIG=production and SECRET_KEY, ID_HASH_KEY, DATA_KEY.\n"
        "警告：未设置 LINLI_CONFIG，当前以开发配置运行；正式部署请设置 LINLI_CONFIG=production 及三个密钥。\n"
        f"{banner}",
        file=sys.stderr,
        flush=True,
    )
