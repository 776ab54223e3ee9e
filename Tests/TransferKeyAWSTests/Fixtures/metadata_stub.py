"""A tiny stand-in for EC2 instance metadata (IMDSv2) and the ECS credentials agent, on 127.0.0.1.

Prints its port on the first line of stdout, then serves until stdin closes.
"""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "imds-session-token"
ECS_AUTH = "ecs-auth-token"
HITS = []


def document(key):
    return json.dumps({
        "Code": "Success", "AccessKeyId": key, "SecretAccessKey": "stub-secret",
        "Token": "stub-session-token", "Expiration": "2099-01-01T00:00:00Z",
    }).encode()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body=b""):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_PUT(self):
        HITS.append("PUT " + self.path)
        if self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            return self.reply(200, TOKEN.encode())
        self.reply(400)

    def do_GET(self):
        HITS.append("GET " + self.path)
        if self.path == "/_hits":
            return self.reply(200, json.dumps(HITS).encode())
        if self.path.startswith("/latest/meta-data/iam/security-credentials/"):
            if self.headers.get("X-aws-ec2-metadata-token") != TOKEN:
                return self.reply(401)
            role = self.path.rsplit("/", 1)[1]
            if role == "":
                return self.reply(200, b"stub-role\n")
            if role == "stub-role":
                return self.reply(200, document("ASIAIMDS"))
            return self.reply(404)
        if self.path == "/ecs/relative":
            return self.reply(200, document("ASIAECSRELATIVE"))
        if self.path == "/ecs/full":
            if self.headers.get("Authorization") != ECS_AUTH:
                return self.reply(403)
            return self.reply(200, document("ASIAECSFULL"))
        self.reply(404)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
sys.stdin.read()
server.shutdown()
