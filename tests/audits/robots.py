"""Local stand-ins for the vendors' robot servers, on 127.0.0.1: each checks a request the way
its vendor's server does (the credential in the URL, the signature recomputed here with hmac,
the timestamp within the vendor's one-hour window, the message shape and size) and answers
with the vendor's own success or error bodies. Nothing here imports riskengine's signing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

WINDOW_SECONDS = 3600  # DingTalk and Feishu: the timestamp may be at most an hour off

OK = {"wecom": {"errcode": 0, "errmsg": "ok"}, "dingtalk": {"errcode": 0, "errmsg": "ok"},
      "feishu": {"code": 0, "data": {}, "msg": "success"}}
RATE_LIMITED = {
    "wecom": {"errcode": 45009, "errmsg": "api freq out of limit"},
    "dingtalk": {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"},
    "feishu": {"code": 11232, "data": {}, "msg": "frequency limited psm[lark.oapi.app_platform_"
               "runtime]appID[1]"},
}
BAD_SIGNATURE = {
    "dingtalk": {"errcode": 310000, "errmsg": "sign not match, more: [https://ding-doc."
                 "dingtalk.com/doc#/serverapi2/qf2nxq]"},
    "feishu": {"code": 19021, "data": {},
               "msg": "sign match fail or timestamp is not within one hour from current time"},
}
BAD_TOKEN = {
    "wecom": {"errcode": 93000, "errmsg": "invalid webhook url, hint: [1]"},
    "dingtalk": {"errcode": 300001, "errmsg": "token is not exist"},
    "feishu": {"code": 19001, "data": {}, "msg": "param invalid: incoming webhook access token "
               "invalid"},
}


class Robot:
    """One robot of one vendor: `messages` holds what it accepted; `answers` (vendor bodies)
    are sent instead of judging, one per request, while any are left."""

    def __init__(self, vendor: str, token: str, secret: str | None = None) -> None:
        self.vendor, self.token, self.secret = vendor, token, secret
        self.messages: list[dict[str, Any]] = []
        self.refusals: list[dict[str, Any]] = []
        self.answers: list[dict[str, Any]] = []
        robot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                data = self.rfile.read(int(self.headers["Content-Length"]))
                answer = robot.answers.pop(0) if robot.answers else robot.judge(self.path, data)
                if answer["errcode" if "errcode" in answer else "code"] != 0:
                    robot.refusals.append(answer)
                text = json.dumps(answer).encode()
                self.send_response(200)  # the vendors answer 200 and put the refusal in the body
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port: int = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        base = f"http://127.0.0.1:{self.port}"
        return {"wecom": f"{base}/cgi-bin/webhook/send?key={self.token}",
                "dingtalk": f"{base}/robot/send?access_token={self.token}",
                "feishu": f"{base}/open-apis/bot/v2/hook/{self.token}"}[self.vendor]

    def judge(self, path: str, data: bytes) -> dict[str, Any]:
        parts = urllib.parse.urlsplit(path)
        query = urllib.parse.parse_qs(parts.query)
        body = json.loads(data)
        answer: dict[str, Any] = getattr(self, f"_{self.vendor}")(parts.path, query, body, data)
        return answer

    def _wecom(self, path: str, query: dict[str, list[str]], body: dict[str, Any],
               data: bytes) -> dict[str, Any]:
        if path != "/cgi-bin/webhook/send" or query.get("key") != [self.token]:
            return BAD_TOKEN["wecom"]
        if body.get("msgtype") != "markdown" or set(body) != {"msgtype", "markdown"}:
            return {"errcode": 40008, "errmsg": "invalid message type"}
        content = body["markdown"].get("content")
        if not isinstance(content, str) or not content:
            return {"errcode": 44004, "errmsg": "empty content"}
        if len(content.encode()) > 4096:
            return {"errcode": 40058, "errmsg": "markdown.content exceed max length 4096"}
        self.messages.append(body)
        return OK["wecom"]

    def _dingtalk(self, path: str, query: dict[str, list[str]], body: dict[str, Any],
                  data: bytes) -> dict[str, Any]:
        if path != "/robot/send" or query.get("access_token") != [self.token]:
            return BAD_TOKEN["dingtalk"]
        assert self.secret is not None
        try:
            stamp = int(query["timestamp"][0])
            sign = query["sign"][0]  # parse_qs undoes the URL encoding, as DingTalk's does
        except (KeyError, ValueError):
            return BAD_SIGNATURE["dingtalk"]
        expected = base64.b64encode(hmac.new(
            self.secret.encode(), f"{stamp}\n{self.secret}".encode(), hashlib.sha256).digest())
        if (abs(time.time() * 1000 - stamp) > WINDOW_SECONDS * 1000
                or not hmac.compare_digest(expected.decode(), sign)):
            return BAD_SIGNATURE["dingtalk"]
        markdown = body.get("markdown") or {}
        if body.get("msgtype") != "markdown" or not markdown.get("title") or not markdown.get(
                "text"):
            return {"errcode": 40035, "errmsg": "缺少参数 markdown"}
        self.messages.append(body)
        return OK["dingtalk"]

    def _feishu(self, path: str, query: dict[str, list[str]], body: dict[str, Any],
                data: bytes) -> dict[str, Any]:
        if path != f"/open-apis/bot/v2/hook/{self.token}":
            return BAD_TOKEN["feishu"]
        assert self.secret is not None
        if len(data) > 20 * 1024:
            return {"code": 9499, "data": {}, "msg": "Bad Request"}
        try:
            stamp = int(body["timestamp"])
        except (KeyError, ValueError, TypeError):
            return BAD_SIGNATURE["feishu"]
        key = f"{stamp}\n{self.secret}".encode()
        expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
        if (abs(time.time() - stamp) > WINDOW_SECONDS
                or not hmac.compare_digest(expected, str(body.get("sign", "")))):
            return BAD_SIGNATURE["feishu"]
        post = (body.get("content") or {}).get("post") or {}
        if body.get("msg_type") != "post" or not post or not all(
                isinstance(v.get("title"), str) and isinstance(v.get("content"), list)
                for v in post.values()):
            return {"code": 9499, "data": {}, "msg": "Bad Request"}
        self.messages.append(body)
        return OK["feishu"]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def robot(vendor: str, token: str = "tok-0123456789abcdef", secret: str | None = None
          ) -> Iterator[Robot]:
    served = Robot(vendor, token, secret)
    try:
        yield served
    finally:
        served.stop()


SECRETS = {"wecom": None, "dingtalk": "SEC" + "0123456789abcdef" * 4,
           "feishu": "nIMtb7r3N9pkXyXdtAbx6e"}


def text_of(vendor: str, message: dict[str, Any]) -> str:
    """Everything a person reads in a message."""
    if vendor == "wecom":
        return str(message["markdown"]["content"])
    if vendor == "dingtalk":
        return f"{message['markdown']['title']}\n{message['markdown']['text']}"
    lines = []
    for locale in message["content"]["post"].values():
        lines.append(locale["title"])
        lines.extend(part.get("text", "") for row in locale["content"] for part in row)
    return "\n".join(lines)
