#!/usr/bin/env python3
"""Checks docs/openapi.yaml against real lapor-node processes, both ways.

Starts a small federation from the binary given (a hub 00 that witnesses member 32's log, the
member 32, and a standalone node 35 with a restricted log and tight edge limits; a fourth
identity, 33, is only a key in the hub's manifest that this script signs requests with), then
calls every operation of the spec, its successes and its error cases, and fails when:

  - a reply's status is not documented for its operation, or is not the one the call expects;
  - its Content-Type is not a documented media type of that status, a documented required
    header is missing or does not match, or X-Request-Id is missing;
  - a JSON body does not validate against the documented schema (response objects are closed:
    a field the node adds, drops or retypes fails), or a text body against its string schema;
  - a request the node accepted (2xx) does not conform to the spec (undocumented or invalid
    query parameter, missing required parameter, body not valid against the request schema,
    no credential of the operation's security schemes), or a request the script sends as
    invalid per the spec is valid per the spec or is not refused;
  - an operation refuses (or ignores) an unknown query parameter contrary to `x-unknown-query`,
    or a method a path does not document is not answered as `x-undocumented-methods` says;
  - a route template the node knows (node/metrics.cc RouteOf) has no path in the spec, a spec
    path maps to no route template, an operation or a documented query parameter is never
    exercised, or the nodes' own /metrics label a request with a route that is not a template.

Needs python3-yaml, python3-jsonschema and python3-cryptography (deploy/install-deps.sh).
Usage: openapi_check.py --node build/node/lapor-node [--source .] [--keep]
"""

import argparse
import base64
import ctypes
import hashlib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

try:
    import jsonschema
    import yaml
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (Ed25519PrivateKey,
                                                                   Ed25519PublicKey)
except ImportError as e:  # pragma: no cover
    print(f"openapi_check: {e}: install python3-yaml, python3-jsonschema and "
          "python3-cryptography (deploy/install-deps.sh)", file=sys.stderr)
    sys.exit(2)

HTTP_TIMEOUT_S = 60       # one request on a busy machine
START_TIMEOUT_S = 120     # a node answering /healthz after `run`
CONDITION_TIMEOUT_S = 90  # anything else waited for
PROBE_PARAM = "zz_undocumented_probe"
# Reply headers every response has (the spec's info says so); any other must be documented.
GENERAL_HEADERS = {"content-type", "content-length", "cache-control", "x-request-id",
                   "connection"}
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class CheckFailed(Exception):
    pass


def eventually(what, fn, timeout=CONDITION_TIMEOUT_S, interval=0.2):
    """Waits for fn() to return a true value; fails naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise CheckFailed(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


# ---------------------------------------------------------------------------------------------
# HTTP over raw sockets: the script needs requests a library would not send (a declared body
# it never sends, oversized headers) and exact replies (status, headers, bytes).

class Reply:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case name -> value
        self.body = body

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def text(self):
        return self.body.decode("utf-8")

    def __repr__(self):
        return f"{self.status} {self.headers.get('content-type')} {self.body[:300]!r}"


def read_reply(sock, head_request=False):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise CheckFailed(f"connection closed before a complete reply: {data[:200]!r}")
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return Reply(status, headers, rest[:length])


def http(port, method, target, headers=(), body=b"", declared_length=None):
    """One request on its own connection (Connection: close). `declared_length` sends that
    Content-Length and no body (the node must refuse before reading it)."""
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers]
    if declared_length is not None:
        lines.append(f"Content-Length: {declared_length}")
        body = b""
    elif body or method in ("POST", "PUT"):
        lines.append(f"Content-Length: {len(body)}")
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body
    with socket.create_connection(("127.0.0.1", port), timeout=HTTP_TIMEOUT_S) as s:
        try:
            s.sendall(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before the request was read: its reply may still be there
        return read_reply(s)


# ---------------------------------------------------------------------------------------------
# Protobuf (proto/lapor/v1/event.proto) by hand: the few messages the script sends.

def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def pb_varint(field, value):
    return varint(field << 3) + varint(value) if value else b""


def pb_bytes(field, value):
    if isinstance(value, str):
        value = value.encode("utf-8")
    return varint((field << 3) | 2) + varint(len(value)) + value if value else b""


def pae(payload_type, payload):
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


# ---------------------------------------------------------------------------------------------
# Keys and signatures.

class NodeKey:
    """A node's Ed25519 key, from node.key (hex libsodium secret key: seed || public key)."""

    def __init__(self, data_dir):
        with open(os.path.join(data_dir, "node.key")) as f:
            secret = bytes.fromhex(f.read().strip())
        self.private = Ed25519PrivateKey.from_private_bytes(secret[:32])
        self.public = secret[32:64]

    def sign(self, message):
        return self.private.sign(message)

    def keyid(self):
        return hashlib.sha256(self.public).digest()[:8].hex()


def member_headers(key, sender, destination, method, target, body):
    """The four X-Lapor-* headers of a node-to-node request (federation/request_auth.h)."""
    ts = str(int(time.time() * 1000))
    nonce = os.urandom(16).hex()
    signed = (f"lapor-request-v2\n{method}\n{target}\n{destination}\n"
              f"{hashlib.sha256(body).hexdigest()}\n{ts}\n{nonce}\n").encode()
    return [("X-Lapor-Node", sender), ("X-Lapor-Timestamp", ts), ("X-Lapor-Nonce", nonce),
            ("X-Lapor-Signature", base64.b64encode(key.sign(signed)).decode())]


def verify_reply_signature(reply, responder_id, responder_public, requester, nonce):
    signed = (f"lapor-response-v1\n{responder_id}\n{requester}\n{nonce}\n"
              f"{hashlib.sha256(reply.body).hexdigest()}\n").encode()
    sig = base64.b64decode(reply.headers.get("x-lapor-signature", ""))
    Ed25519PublicKey.from_public_bytes(responder_public).verify(sig, signed)  # raises if bad


def sign_note(text, origin, keyid4, key):
    """A C2SP signed note of `text` by the log key `key` (keyid from the log's vkey)."""
    sig = key.sign(text.encode())
    return text + "\n" + f"— {origin} " + base64.b64encode(keyid4 + sig).decode() + "\n"


# ---------------------------------------------------------------------------------------------
# Nodes.

def pick_port(rng, avoid=()):
    """A port below the ephemeral range (32768-) that nothing is bound to now."""
    for _ in range(200):
        port = rng.randrange(20000, 32000)
        if port in avoid:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise CheckFailed("no free port found")


def die_with_parent():
    """In the child before exec: SIGTERM when the checker dies (a ctest timeout kills it), so
    no node outlives it."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class Node:
    def __init__(self, binary, root, name, jurisdiction, rng, init_args=()):
        self.binary = binary
        self.name = name
        self.dir = os.path.join(root, name)
        self.rng = rng
        self.proc = None
        self.port = None
        self.log_path = os.path.join(root, name + ".log")
        self.run_cli(["init", "--data-dir", self.dir, "--jurisdiction", jurisdiction,
                      "--listen", "127.0.0.1:8080", *init_args])
        self.key = NodeKey(self.dir)

    def run_cli(self, args):
        r = subprocess.run([self.binary, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=120)
        if r.returncode != 0:
            raise CheckFailed(f"lapor-node {' '.join(args)} failed ({r.returncode}): {r.stdout}")
        return r.stdout

    @property
    def node_json(self):
        return os.path.join(self.dir, "node.json")

    def config(self):
        with open(self.node_json) as f:
            return json.load(f)

    def set_config(self, **values):
        c = self.config()
        for k, v in values.items():
            if k == "edge":
                c["edge"].update(v)
            else:
                c[k] = v
        with open(self.node_json, "w") as f:
            f.write(json.dumps(c, indent=2) + "\n")

    def operator(self, role, agency=None):
        args = ["operator", "add", "--data-dir", self.dir, "--name", f"openapi-{role}",
                "--role", role]
        if agency:
            args += ["--agency", agency]
        m = re.search(r"\b(lpt_[A-Z2-7]+)\b", self.run_cli(args))
        if not m:
            raise CheckFailed(f"no token in the output of operator add ({self.name})")
        return m.group(1)

    def vkey(self, witness=False):
        return self.run_cli(["vkey", "--data-dir", self.dir] +
                            (["--witness"] if witness else [])).strip()

    def start(self, preferred_port=None):
        tried = set()
        for attempt in range(10):
            port = preferred_port if attempt == 0 and preferred_port else \
                pick_port(self.rng, tried)
            tried.add(port)
            log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(
                [self.binary, "run", "--data-dir", self.dir, "--listen", f"127.0.0.1:{port}"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                preexec_fn=die_with_parent)
            log.close()
            self.port = port

            def up():
                if self.proc.poll() is not None:
                    return "exited"
                try:
                    return "up" if http(port, "GET", "/healthz").status == 200 else None
                except OSError:
                    return None
            state = eventually(f"node {self.name} to answer /healthz on port {port}", up,
                               timeout=START_TIMEOUT_S)
            if state == "up":
                return
            self.proc = None
            with open(self.log_path, errors="replace") as f:
                text = f.read()
            if "Address already in use" not in text:
                raise CheckFailed(f"node {self.name} exited at start; its log:\n{text[-3000:]}")
        raise CheckFailed(f"node {self.name}: no port it could listen on in 10 tries")

    def stop(self):
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=90)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


# ---------------------------------------------------------------------------------------------
# The spec.

def resolve_refs(node, root, seen=()):
    """The document with every local $ref replaced by (a copy of) its target."""
    if isinstance(node, dict):
        if "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith("#/"):
                raise CheckFailed(f"only local $refs are supported: {ref}")
            extra = set(node) - {"$ref", "description", "summary"}
            if extra:
                raise CheckFailed(f"$ref {ref} has sibling keys {sorted(extra)}")
            if ref in seen:
                raise CheckFailed(f"recursive $ref {ref}")
            target = root
            for part in ref[2:].split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                if part not in target:
                    raise CheckFailed(f"$ref {ref} does not resolve")
                target = target[part]
            return resolve_refs(target, root, seen + (ref,))
        return {k: resolve_refs(v, root, seen) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve_refs(v, root, seen) for v in node]
    return node


class Spec:
    def __init__(self, path):
        try:
            with open(path, encoding="utf-8") as f:
                self.raw = yaml.safe_load(f)
        except (OSError, yaml.YAMLError) as e:
            raise CheckFailed(f"cannot read the spec {path}: {e}")
        if not str(self.raw.get("openapi", "")).startswith("3.1"):
            raise CheckFailed("the spec must be OpenAPI 3.1 (its schemas are JSON Schema 2020-12)")
        self.doc = resolve_refs(self.raw, self.raw)
        self.ops = {}  # (path, METHOD) -> operation
        for path, item in self.doc["paths"].items():
            common = item.get("parameters", [])
            for method in METHODS:
                if method in item:
                    op = item[method]
                    op["_params"] = common + op.get("parameters", [])
                    self.ops[(path, method.upper())] = op
        self.check_schemas()

    def check_schemas(self):
        """Every schema in the spec is a valid JSON Schema 2020-12, every response is keyed by a
        status code, every operation has an operationId."""
        def walk(node, where):
            if isinstance(node, dict):
                for k, v in node.items():
                    if k == "schema":
                        try:
                            jsonschema.Draft202012Validator.check_schema(v)
                        except jsonschema.SchemaError as e:
                            raise CheckFailed(f"invalid schema at {where}: {e.message}")
                    walk(v, f"{where}/{k}")
            elif isinstance(node, list):
                for i, v in enumerate(node):
                    walk(v, f"{where}/{i}")
        walk(self.doc, "#")
        for name, schema in self.doc["components"].get("schemas", {}).items():
            try:
                jsonschema.Draft202012Validator.check_schema(schema)
            except jsonschema.SchemaError as e:
                raise CheckFailed(f"invalid schema #/components/schemas/{name}: {e.message}")
        tags = {t["name"] for t in self.doc.get("tags", [])}
        op_ids = set()
        for (path, method), op in self.ops.items():
            where = f"{method} {path}"
            if "operationId" not in op or op["operationId"] in op_ids:
                raise CheckFailed(f"{where}: no operationId, or one another operation has")
            op_ids.add(op["operationId"])
            for t in op.get("tags", []):
                if t not in tags:
                    raise CheckFailed(f"{where}: tag {t!r} is not declared under tags")
            for code, resp in op["responses"].items():
                if not re.fullmatch(r"[1-5][0-9][0-9]", str(code)):
                    raise CheckFailed(f"{where}: response key {code!r} is not a status")
                if "description" not in resp:
                    raise CheckFailed(f"{where}: response {code} has no description")
            seen = set()
            for p in op["_params"]:
                if p.get("in") not in ("query", "header", "path", "cookie") or "name" not in p \
                        or "schema" not in p:
                    raise CheckFailed(f"{where}: a parameter without name, in or schema: {p}")
                if (p["in"], p["name"]) in seen:
                    raise CheckFailed(f"{where}: parameter {p['name']} twice")
                seen.add((p["in"], p["name"]))
                if p["in"] == "path" and not p.get("required"):
                    raise CheckFailed(f"{where}: path parameter {p['name']} must be required")
            declared = {name for where_, name in seen if where_ == "path"}
            if declared != set(re.findall(r"\{([^}]+)\}", path)):
                raise CheckFailed(f"{where}: path parameters {sorted(declared)} do not match "
                                  "the path's template")

    def security(self, op):
        return op.get("security", self.doc.get("security", []))


def validate(schema, instance, what):
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(instance),
                    key=lambda e: list(e.absolute_path))
    if errors:
        lines = []
        for e in errors[:5]:
            at = "/".join(str(p) for p in e.absolute_path) or "(root)"
            lines.append(f"at {at}: {e.message[:400]}")
            for sub in (e.context or [])[:4]:
                sat = "/".join(str(p) for p in sub.absolute_path) or "(root)"
                lines.append(f"    ({sat}: {sub.message[:200]})")
        return f"{what} does not match the spec:\n      " + "\n      ".join(lines)
    return None


def coerce(value, schema):
    """A query or header string as the JSON value its schema describes."""
    types = schema.get("type")
    types = types if isinstance(types, list) else [types]
    if "integer" in types and re.fullmatch(r"-?[0-9]+", value):
        return int(value)
    if "boolean" in types and value in ("true", "false"):
        return value == "true"
    return value


def route_templates(metrics_cc):
    """The route templates of node/metrics.cc RouteOf, the labels of its request metrics."""
    with open(metrics_cc) as f:
        src = f.read()
    start = src.find("std::string RouteOf(")
    if start < 0:
        raise CheckFailed(f"no RouteOf in {metrics_cc}")
    body = src[start:src.index("\n}\n", start)]
    templates = set()
    for m in re.finditer(r"return\s+([^;]+);", body):
        expr = m.group(1)
        plus = re.search(r'"([^"]*)"\s*\+\s*s\[(\d+)\]', expr)
        if plus:
            sets = re.findall(r"In\(s\[" + plus.group(2) + r"\],\s*\{([^}]*)\}\)",
                              body[:m.start()])
            if not sets:
                raise CheckFailed(f"RouteOf: no In(s[{plus.group(2)}], ...) before {expr}")
            templates |= {plus.group(1) + n for n in re.findall(r'"([^"]*)"', sets[-1])}
        else:
            templates |= {lit for lit in re.findall(r'"([^"]*)"', expr) if lit.startswith("/")}
    if len(templates) < 10:
        raise CheckFailed(f"RouteOf parsed to too few templates: {sorted(templates)}")
    return templates


def template_of(spec_path, templates):
    """The route template a spec path is labelled with: itself, or the longest template it
    extends by path parameters only (/log/tile/{level}/{index} -> /log/tile)."""
    if spec_path in templates:
        return spec_path
    best = None
    for t in templates:
        rest = spec_path[len(t):]
        if spec_path.startswith(t + "/") and all(re.fullmatch(r"\{[^}]+\}", seg)
                                                 for seg in rest.strip("/").split("/")):
            if best is None or len(t) > len(best):
                best = t
    return best


# ---------------------------------------------------------------------------------------------
# The checker.

class Checker:
    def __init__(self, spec):
        self.spec = spec
        self.failures = []
        self.calls = 0
        self.exercised = set()         # (path, METHOD)
        self.params_sent = set()       # (path, METHOD, in, name)
        self.statuses = set()          # (path, METHOD, status)
        self.references = {}           # (path, METHOD) -> kwargs of a call answered 2xx

    def fail(self, msg):
        self.failures.append(msg)
        print("FAIL " + msg, flush=True)

    def call(self, node, method, path, params=None, query=(), headers=(), body=b"",
             content_type=None, expect=200, field=None, invalid=False, signer=None,
             declared_length=None, note=""):
        """Sends one request of operation (path, method) to `node` and checks the reply against
        the spec. `params`: path parameters; `query`: (name, value) pairs; `body`: bytes, or a
        JSON value (sent as application/json unless `content_type`); `expect`: the status (or
        a set); `field`: the error body must name it; `invalid`: the request is invalid per
        the spec (so must the node find it); `signer(method, target, body)` adds headers."""
        kwargs = dict(locals())
        del kwargs["self"]
        self.calls += 1
        key = (path, method)
        op = self.spec.ops.get(key)
        label = f"{method} {path}" + (f" [{note}]" if note else "")
        if op is None:
            self.fail(f"{label}: the spec has no such operation (checker bug)")
            return None
        self.exercised.add(key)
        target = path
        for k, v in (params or {}).items():
            target = target.replace("{" + k + "}", v)
        if query:
            target += "?" + urllib.parse.urlencode(list(query))
        headers = list(headers)
        json_body = None
        if not isinstance(body, (bytes, bytearray)):
            json_body = body
            body = json.dumps(body).encode()
            content_type = content_type or "application/json"
        if content_type:
            headers.append(("Content-Type", content_type))
        if signer:
            headers += signer(method, target, body)
        try:
            reply = http(node.port, method, target, headers, body, declared_length)
        except (OSError, CheckFailed) as e:
            self.fail(f"{label} on {node.name}: no reply: {e}")
            return None
        self.statuses.add((path, method, reply.status))
        for where, name, _ in self._params_of(op, query, headers):
            self.params_sent.add((path, method, where, name))
        problems = self.check_reply(op, reply, label)
        expected = expect if isinstance(expect, (set, frozenset)) else {expect}
        if reply.status not in expected:
            want = "2xx" if expected == set(range(200, 300)) else \
                "not 400" if len(expected) > 100 else sorted(expected)
            problems.append(f"status {reply.status}, expected {want}: {reply.body[:400]!r}")
        if field is not None and reply.headers.get("content-type") == "application/json":
            try:
                got = reply.json().get("error", {}).get("field")
            except ValueError:
                got = None
            if got != field:
                problems.append(f"the error names field {got!r}, expected {field!r}")
        request_problems = self.check_request(op, path, method, query, headers, json_body,
                                              content_type, body)
        if invalid:
            if not request_problems:
                problems.append("sent as invalid per the spec, but the spec accepts it")
            if reply.status < 400:
                problems.append("the spec refuses this request but the node accepted it")
        elif 200 <= reply.status < 300:
            problems += [f"the node accepted a request the spec refuses: {p}"
                         for p in request_problems]
            self.references.setdefault(key, kwargs)
        for p in problems:
            self.fail(f"{label} on {node.name}: {p}")
        return reply

    def observe(self, node, method, path, reply, expect, note, request_id_optional=False):
        """Checks a reply the caller got on its own connection (the connection-cap tests)."""
        self.calls += 1
        op = self.spec.ops[(path, method)]
        self.exercised.add((path, method))
        self.statuses.add((path, method, reply.status))
        label = f"{method} {path} [{note}]"
        problems = self.check_reply(op, reply, label, request_id_optional)
        if reply.status != expect:
            problems.append(f"status {reply.status}, expected {expect}: {reply.body[:300]!r}")
        for p in problems:
            self.fail(f"{label} on {node.name}: {p}")

    @staticmethod
    def _params_of(op, query, headers):
        """(in, name, value) of the request's query parameters and documented headers."""
        out = [("query", k, v) for k, v in query]
        documented = {p["name"].lower() for p in op["_params"] if p["in"] == "header"}
        out += [("header", k.lower(), v) for k, v in headers if k.lower() in documented]
        return out

    def check_request(self, op, path, method, query, headers, json_body, content_type,
                      raw_body):
        problems = []
        params = {(p["in"], p["name"].lower() if p["in"] == "header" else p["name"]): p
                  for p in op["_params"]}
        sent_query = dict(query)
        for name, value in query:
            p = params.get(("query", name))
            if p is None:
                problems.append(f"query parameter {name!r} is not documented")
                continue
            err = validate(p["schema"], coerce(value, p["schema"]), f"query {name}={value!r}")
            if err:
                problems.append(err)
        sent_headers = {k.lower(): v for k, v in headers}
        for (where, name), p in params.items():
            present = name in sent_query if where == "query" else \
                name in sent_headers if where == "header" else True
            if p.get("required") and not present:
                problems.append(f"required {where} parameter {name!r} missing")
            if where == "header" and present:
                err = validate(p["schema"], sent_headers[name], f"header {name}")
                if err:
                    problems.append(err)
        rb = op.get("requestBody")
        if rb is not None:
            media = (content_type or "").split(";")[0].strip()
            if media not in rb["content"] and not ("text/plain" in rb["content"]):
                problems.append(f"request media type {media!r} is not documented")
            elif json_body is not None and media in rb["content"]:
                err = validate(rb["content"][media]["schema"], json_body, "request body")
                if err:
                    problems.append(err)
            elif "text/plain" in rb["content"] and raw_body:
                try:
                    err = validate(rb["content"]["text/plain"]["schema"],
                                   raw_body.decode("utf-8"), "request text")
                except UnicodeDecodeError:
                    err = "request text is not UTF-8"
                if err:
                    problems.append(err)
        security = self.spec.security(op)
        if security and {} not in security:
            has = {
                "operatorToken": "authorization" in sent_headers,
                "accessCode": "x-access-code" in sent_headers or
                              (isinstance(json_body, dict) and "access_code" in json_body),
                "accessCodeQuery": "access_code" in sent_query,
                "memberSignature": "x-lapor-signature" in sent_headers,
                "sessionCookie": "lapor_session=" in sent_headers.get("cookie", ""),
            }
            if not any(all(has.get(s, False) for s in req) for req in security):
                problems.append("no credential of the operation's security schemes "
                                f"({[list(r) for r in security]})")
        return problems

    def check_reply(self, op, reply, label, request_id_optional=False):
        problems = []
        if "x-request-id" not in reply.headers and not request_id_optional:
            problems.append("no X-Request-Id header")
        doc = op["responses"].get(str(reply.status)) or op["responses"].get(reply.status)
        if doc is None:
            return problems + [f"status {reply.status} is not documented for the operation "
                               f"({sorted(op['responses'])}): {reply.body[:300]!r}"]
        documented = {n.lower() for n in (doc.get("headers") or {})}
        for name in sorted(set(reply.headers) - GENERAL_HEADERS - documented):
            problems.append(f"header {name} is not documented for {reply.status}")
        for name, h in (doc.get("headers") or {}).items():
            value = reply.headers.get(name.lower())
            if value is None:
                if h.get("required"):
                    problems.append(f"documented header {name} missing")
                continue
            err = validate(h.get("schema", {}), value, f"header {name}")
            if err:
                problems.append(err)
        content = doc.get("content")
        ctype = reply.headers.get("content-type", "")
        if not content:
            if reply.body:
                problems.append(f"a body ({ctype}) where the spec documents none")
            return problems
        if ctype not in content:
            return problems + [f"Content-Type {ctype!r} is not documented for {reply.status} "
                               f"({sorted(content)})"]
        schema = content[ctype].get("schema", {})
        media = ctype.split(";")[0].strip()
        if media == "application/json":
            try:
                value = reply.json()
            except ValueError as e:
                return problems + [f"body is not JSON: {e}"]
            err = validate(schema, value, f"{reply.status} body")
        elif media.startswith("text/"):
            try:
                err = validate(schema, reply.text(), f"{reply.status} text")
            except UnicodeDecodeError:
                err = "text body is not UTF-8"
        else:
            err = None  # binary (tiles, protobuf): the media type is the contract
        if err:
            problems.append(err)
        return problems

    # -- generic probes --------------------------------------------------------------------

    def probe_unknown_query(self):
        """Every operation, replayed from a call it answered 2xx with one more, undocumented
        query parameter: refused (400 naming it), or ignored if `x-unknown-query: ignored`."""
        for key, op in sorted(self.spec.ops.items()):
            ref = self.references.get(key)
            if ref is None:
                self.fail(f"{key[1]} {key[0]}: never answered 2xx, so it could not be probed "
                          "with an unknown query parameter")
            elif op.get("x-unknown-query") == "ignored":
                self._replay_with_probe(ref)
            else:
                kw = dict(ref)
                kw.update(query=list(ref["query"]) + [(PROBE_PARAM, "1")], expect=400,
                          field=PROBE_PARAM, invalid=True, note="unknown query parameter")
                self.call(**kw)

    def probe_query_values(self):
        """Every documented enum value of a query parameter is accepted, a value outside it is
        refused (400 naming the parameter); an integer with a minimum and a maximum is accepted
        at both and refused one beyond each. Replays of a call each operation answered 2xx."""
        for key, op in sorted(self.spec.ops.items()):
            ref = self.references.get(key)
            if ref is None:
                continue
            for p in op["_params"]:
                if p["in"] != "query":
                    continue
                schema, name = p["schema"], p["name"]
                cases = []  # (value, accepted)
                if "enum" in schema:
                    cases += [(str(v), True) for v in schema["enum"]]
                    cases.append(("zz-not-in-the-enum", False))
                elif schema.get("type") == "boolean":
                    cases += [("true", True), ("false", True), ("maybe", False)]
                elif schema.get("type") == "integer" and "minimum" in schema and \
                        "maximum" in schema:
                    lo, hi = schema["minimum"], schema["maximum"]
                    cases += [(str(lo), True), (str(hi), True), (str(lo - 1), False),
                              (str(hi + 1), False)]
                for value, accepted in cases:
                    kw = dict(ref)
                    kw["query"] = [(k, v) for k, v in ref["query"] if k != name] + [(name, value)]
                    kw["note"] = f"{name}={value}"
                    if accepted:
                        kw.update(expect=set(range(200, 300)), field=None, invalid=False)
                    else:
                        kw.update(expect=400, field=name, invalid=True)
                    self.call(**kw)

    def _replay_with_probe(self, kw):
        """Sends kw's request with the probe parameter appended, checking only the reply (the
        probe is undocumented on purpose): anything documented but a 400."""
        op = self.spec.ops[(kw["path"], kw["method"])]
        label = f"{kw['method']} {kw['path']} [unknown query parameter, ignored]"
        target = kw["path"]
        for k, v in (kw["params"] or {}).items():
            target = target.replace("{" + k + "}", v)
        target += "?" + urllib.parse.urlencode(list(kw["query"]) + [(PROBE_PARAM, "1")])
        body = kw["body"]
        headers = list(kw["headers"])
        ctype = kw["content_type"]
        if not isinstance(body, (bytes, bytearray)):
            body = json.dumps(body).encode()
            ctype = ctype or "application/json"
        if ctype:
            headers.append(("Content-Type", ctype))
        if kw["signer"]:
            headers += kw["signer"](kw["method"], target, body)
        self.calls += 1
        reply = http(kw["node"].port, kw["method"], target, headers, body)
        problems = self.check_reply(op, reply, label)
        if reply.status == 400:
            problems.append(f"x-unknown-query is 'ignored' but the node refused it: "
                            f"{reply.body[:200]!r}")
        for p in problems:
            self.fail(f"{label} on {kw['node'].name}: {p}")
        return reply

    def probe_methods(self, node_for_path):
        """A method each path does not document (PUT, DELETE) is answered as
        `x-undocumented-methods` says, with an Error body."""
        schemas = self.spec.doc["components"]["schemas"]
        for path, item in sorted(self.spec.doc["paths"].items()):
            want = item.get("x-undocumented-methods")
            if want not in (404, 405):
                self.fail(f"{path}: x-undocumented-methods must be 404 or 405, not {want!r}")
                continue
            node = node_for_path(path)
            target = path.replace("{id}", "32-AAAAAAAAAA").replace("{level}", "0") \
                .replace("{index}", "000").replace("{name}", "app.css").replace("{sha256}", "ab" * 32)
            for method in ("PUT", "DELETE"):
                if method.lower() in item:
                    continue
                self.calls += 1
                reply = http(node.port, method, target)
                problems = []
                if reply.status != want:
                    problems.append(f"status {reply.status}, x-undocumented-methods says {want}")
                try:
                    schema = schemas["ErrorNotFound" if want == 404 else "ErrorMethodNotAllowed"]
                    err = validate(schema, reply.json(), f"{reply.status} body")
                    if err:
                        problems.append(err)
                except ValueError:
                    problems.append(f"not a JSON error body: {reply.body[:200]!r}")
                for p in problems:
                    self.fail(f"{method} {path} (undocumented method) on {node.name}: {p}")

    def coverage(self, templates, metrics_routes):
        spec_paths = set(self.spec.doc["paths"])
        mapped = {}
        for p in sorted(spec_paths):
            t = template_of(p, templates)
            if t is None:
                self.fail(f"spec path {p} is no route of the node (node/metrics.cc RouteOf)")
            else:
                mapped.setdefault(t, []).append(p)
        for t in sorted(templates - set(mapped)):
            self.fail(f"the node's route {t} (node/metrics.cc RouteOf) is not in the spec")
        for key in sorted(set(self.spec.ops) - self.exercised):
            self.fail(f"{key[1]} {key[0]} is in the spec but the checker never called it")
        for (path, method), op in sorted(self.spec.ops.items()):
            for p in op["_params"]:
                if p["in"] in ("query", "header") and \
                        (path, method, p["in"], p["name"] if p["in"] == "query"
                         else p["name"].lower()) not in self.params_sent:
                    self.fail(f"{method} {path}: documented {p['in']} parameter {p['name']} "
                              "never sent")
        for r in sorted(metrics_routes - templates - {"other"}):
            self.fail(f"the nodes' /metrics label requests with route {r!r}, which RouteOf "
                      "parsing did not find")
        for t in sorted(templates - metrics_routes):
            self.fail(f"route {t}: no node counted a request on it in /metrics (was it called?)")


# ---------------------------------------------------------------------------------------------
# The scenario.

def metrics_routes(checker, node, token):
    reply = checker.call(node, "GET", "/metrics", headers=[("Authorization", f"Bearer {token}")],
                         note="routes counted")
    if reply is None or reply.status != 200:
        return set()
    return set(re.findall(r'^lapor_http_requests_total\{[^}]*route="([^"]*)"', reply.text(), re.M))


def run_scenario(c, binary, root, rng):
    nodes = []
    try:
        hub = Node(binary, root, "hub", "00", rng)
        nodes.append(hub)
        hub_pub = hub.config()["public_key"]
        member_args = ("--hub-key", hub_pub, "--hub-url", "http://127.0.0.1:1")
        m = Node(binary, root, "m32", "32", rng, member_args)
        nodes.append(m)
        i33 = Node(binary, root, "id33", "33", rng, member_args)  # a key only: never runs
        e = Node(binary, root, "e35", "35", rng)
        nodes.append(e)

        m_port = pick_port(rng)
        dead_port = pick_port(rng, {m_port})  # 33's URL: nothing listens there
        for node, port in ((m, m_port), (i33, dead_port)):
            hub.run_cli(["federation", "add-member", "--data-dir", hub.dir, "--jurisdiction",
                         node.config()["node_id"], "--url", f"http://127.0.0.1:{port}",
                         "--key", node.config()["public_key"]])
        m_vkey = m.vkey()
        hub.set_config(witness_of=[m_vkey])
        m.set_config(edge={"filings_per_minute": 0, "access_per_minute": 0},
                     retry_max_ms=2000)
        # 35: the log restricted to auditors, and edge bounds small enough to reach.
        e.set_config(log_requires_auditor=True,
                     edge={"filings_per_minute": 1, "access_per_minute": 1,
                           "max_connections": 32, "connection_reserve": 8,
                           "header_timeout_ms": 120000, "reserve_header_timeout_ms": 120000})

        tok = {
            "hub": hub.operator("admin"),
            "hub_auditor": hub.operator("auditor"),
            "hub_liaison": hub.operator("liaison", "dinas-pu"),
            "admin": m.operator("admin"),
            "auditor": m.operator("auditor"),
            "liaison": m.operator("liaison", "dinas-pu"),
            "liaison2": m.operator("liaison", "dinas-kesehatan"),
            "e_admin": e.operator("admin"),
            "e_liaison": e.operator("liaison", "dinas-pu"),
        }

        hub.start()
        m.set_config(hub_url=f"http://127.0.0.1:{hub.port}")
        m.start(preferred_port=m_port)
        e.start()
        eventually("node 32 to hold the hub's manifest",
                   lambda: http(m.port, "GET", "/federation/v1/manifest").status == 200)

        citizen_and_operator(c, m, tok)
        log_surface(c, m, e, tok)
        federation_surface(c, hub, m, i33, e, tok)
        national_surface(c, hub, m, tok)
        witness_surface(c, hub, m, i33, m_vkey, tok)
        ops_surface(c, m, hub, tok)
        edge_bounds(c, m, e, tok)

        c.probe_unknown_query()
        c.probe_query_values()
        witness_paths = ("/witness/", "/federation/v1/alerts", "/national/")
        c.probe_methods(lambda p: hub if p.startswith(witness_paths) else m)

        routes = set()
        for node, t in ((m, tok["admin"]), (hub, tok["hub"]), (e, tok["e_admin"])):
            routes |= metrics_routes(c, node, t)
        return routes
    finally:
        for node in nodes:
            node.stop()


def bearer(token):
    return [("Authorization", f"Bearer {token}")]


def citizen_and_operator(c, m, tok):
    A = "/api/v1/complaints"
    V = A + "/{id}"
    ACT = V + "/actions"
    EV = V + "/events"
    AL = V + "/access-log"
    full = {
        "title": "Jalan rusak di depan pasar", "description": "Berlubang sejak sebulan.",
        "category": "jalan", "report_type": "pengaduan", "region_code": "32.04",
        "target_agency": "dinas-pu", "channel": "web",
        "location": {"lat": -6.6, "lon": 106.8, "address": "Jl. Pasar 1"},
        "reporter": {"name": "Budi", "nik": "3201234567890123", "phone": "+62 812 555",
                     "email": "budi@example.id"},
        "attachments": [{"sha256": "ab" * 32, "media_type": "image/jpeg", "size": 1024}],
    }
    r = c.call(m, "POST", A, body=full, expect=201, note="every field")
    a = r.json() if r and r.status == 201 else None
    if a is None:
        raise CheckFailed("cannot file a complaint: nothing else can be checked")
    ida, code_a = a["tracking_id"], a["access_code"]
    conf = {"title": "Pungutan liar", "description": "Rahasia.", "category": "pelayanan",
            "report_type": "whistleblowing", "region_code": "32", "confidential": True,
            "anonymous": True, "channel": "app", "reporter": {"name": "Anonim"}}
    r = c.call(m, "POST", A, body=conf, expect=201, note="confidential, anonymous")
    idc, code_c = r.json()["tracking_id"], r.json()["access_code"]
    minimal = {"title": "Lampu padam", "description": "Gelap.", "category": "jalan",
               "report_type": "aspirasi", "region_code": "32.04"}
    r = c.call(m, "POST", A, body=minimal, headers=bearer(tok["admin"]), expect=201,
               note="filed by an operator")
    idb = r.json()["tracking_id"]
    r = c.call(m, "POST", A, body=dict(minimal, title="Minta info"), expect=201)
    idd = r.json()["tracking_id"]
    # Region 33 is served by member 33: owned there, delivered to 33 (down) and the hub.
    c.call(m, "POST", A, body=dict(minimal, region_code="33", title="Jembatan"), expect=201,
           note="owned by another member")

    c.call(m, "POST", A, body=dict(minimal, colour="red"), expect=400, field="colour",
           invalid=True, note="unknown field")
    c.call(m, "POST", A, body=dict(minimal, report_type="keluhan"), expect=400,
           field="report_type", invalid=True, note="bad enum")
    c.call(m, "POST", A, body={k: v for k, v in minimal.items() if k != "title"}, expect=400,
           field="title", invalid=True, note="missing field")
    c.call(m, "POST", A, body=dict(minimal, reporter={"nik": "123"}), expect=400,
           field="reporter.nik", invalid=True, note="bad NIK")
    c.call(m, "POST", A, body=dict(minimal, region_code="99"), expect=400, field="region_code",
           note="unknown region")
    c.call(m, "POST", A, body=b"{not json", content_type="application/json", expect=400,
           field="body", note="malformed JSON")
    c.call(m, "POST", A, body=minimal, headers=bearer("lpt_WRONG"), expect=401,
           note="unknown token")
    c.call(m, "POST", A, body=json.dumps(minimal).encode(), content_type="text/plain",
           expect=415, invalid=True, note="not JSON")
    c.call(m, "POST", A, content_type="application/json", declared_length=70000, expect=413,
           note="declared body over 64 KiB")

    # -- view ---------------------------------------------------------------------------------
    for who, hdrs, query, access in (
            ("public", [], [], "public"),
            ("reporter", [("X-Access-Code", code_a)], [], "reporter"),
            ("reporter by query", [], [("access_code", code_a)], "reporter"),
            ("admin", bearer(tok["admin"]), [], "admin"),
            ("the agency's liaison", bearer(tok["liaison"]), [], "case_liaison"),
            ("another agency's liaison", bearer(tok["liaison2"]), [], "other_liaison"),
            ("auditor", bearer(tok["auditor"]), [], "auditor")):
        r = c.call(m, "GET", V, {"id": ida}, query=query, headers=hdrs, note=who)
        if r and r.status == 200 and r.json().get("access") != access:
            c.fail(f"GET {V} [{who}]: access {r.json().get('access')!r}, expected {access!r}")
    c.call(m, "GET", V, {"id": idc}, note="confidential, public")
    c.call(m, "GET", V, {"id": idc}, headers=[("X-Access-Code", code_c)],
           note="confidential, reporter")
    c.call(m, "GET", V, {"id": idc}, headers=bearer(tok["admin"]), note="confidential, admin")
    c.call(m, "GET", V, {"id": ida}, headers=[("X-Access-Code", "A" * 26)], expect=401,
           note="wrong access code")
    c.call(m, "GET", V, {"id": ida}, query=[("access_code", code_a)],
           headers=[("X-Access-Code", code_c)], expect=400, field="X-Access-Code",
           note="two different access codes")
    c.call(m, "GET", V, {"id": "32-AAAAAAAAAA"}, expect=404, field="tracking_id",
           note="unknown case")
    c.call(m, "GET", V, {"id": ida}, headers=bearer("lpt_WRONG"), expect=401,
           note="unknown token")

    # -- actions ------------------------------------------------------------------------------
    def act(case, body, who=None, expect=200, **kw):
        hdrs = bearer(tok[who]) if isinstance(who, str) else (who or [])
        note = kw.pop("note", body.get("action", ""))
        return c.call(m, "POST", ACT, {"id": case}, headers=hdrs, body=body, expect=expect,
                      note=note, **kw)

    act(ida, {"action": "verify", "agency": "dinas-pu", "note": "diteruskan"}, "admin")
    act(ida, {"action": "verify", "agency": "dinas-pu"}, "admin", expect=409, field="action",
        note="wrong status")
    act(ida, {"action": "process"}, "liaison2", expect=403, note="another agency's liaison")
    act(ida, {"action": "process"}, [("X-Access-Code", code_a)], expect=403,
        note="the reporter may not")
    act(ida, {"action": "process"}, expect=401, note="no credential")
    act(ida, {"action": "reply", "note": "x"}, [("X-Access-Code", "A" * 26)], expect=401,
        note="wrong access code")
    act(ida, {"action": "fly"}, "admin", expect=400, invalid=True, note="unknown action")
    act(ida, {"note": "x"}, "admin", expect=400, field="action", invalid=True,
        note="no action")
    act(ida, {"action": "process", "urgency": 1}, "admin", expect=400, field="urgency",
        invalid=True, note="unknown field")
    act("32-AAAAAAAAAA", {"action": "hold"}, "admin", expect=404, note="unknown case")
    c.call(m, "POST", ACT, {"id": ida}, headers=bearer(tok["admin"]),
           body=b'{"action":"process"}', content_type="text/plain", expect=415, invalid=True,
           note="not JSON")
    c.call(m, "POST", ACT, {"id": ida}, headers=bearer(tok["admin"]),
           content_type="application/json", declared_length=70000, expect=413,
           note="declared body over 64 KiB")
    act(ida, {"action": "process"}, "liaison")
    act(ida, {"action": "respond", "note": "Sudah ditambal."}, "liaison")
    act(ida, {"action": "reply", "note": "Masih berlubang", "access_code": code_a},
        note="reply, access code in the body")
    act(ida, {"action": "respond", "note": "Sudah diaspal."}, "liaison")
    act(ida, {"action": "complete"}, "liaison")
    act(ida, {"action": "rate", "rating": 6, "access_code": code_a}, expect=400, field="rating",
        invalid=True, note="rating out of range")
    act(ida, {"action": "rate", "rating": 4, "note": "Cepat", "access_code": code_a},
        note="rate a done case")
    act(ida, {"action": "rate", "rating": 5, "access_code": code_a}, expect=409,
        note="rated once only")
    c.call(m, "POST", ACT, {"id": ida}, query=[("access_code", code_a)],
           body={"action": "reopen", "note": "Berlubang lagi"}, note="reopen, code in the query")
    act(idb, {"action": "archive", "reason": "duplicate", "duplicate_of": ida}, "admin")
    act(idc, {"action": "hold", "note": "menunggu"}, "admin")
    act(idd, {"action": "forward", "to": "33"}, "admin")
    act(idd, {"action": "forward", "to": "77"}, "admin", expect=400, field="to",
        note="not a member")
    c.call(m, "GET", V, {"id": ida}, headers=bearer(tok["liaison"]), note="case liaison")
    body_probes(c, m, tok, minimal, full, ida)
    c.call(m, "GET", V, {"id": idb}, note="archived duplicate")
    c.call(m, "GET", V, {"id": idd}, headers=bearer(tok["admin"]), note="forwarded")

    # -- list ---------------------------------------------------------------------------------
    L = A
    r = c.call(m, "GET", L, query=[("limit", "1")], headers=bearer(tok["admin"]),
               note="first page")
    cursor = r.json().get("next_cursor") if r and r.status == 200 else None
    if not cursor:
        c.fail(f"GET {L}: a page of 1 of several cases has no next_cursor")
    else:
        c.call(m, "GET", L, query=[("limit", "1"), ("cursor", cursor)],
               headers=bearer(tok["admin"]), note="next page")
    r = c.call(m, "GET", L, query=[("sort", "deadline"), ("limit", "1")],
               headers=bearer(tok["admin"]), note="deadline order")
    cursor = r.json().get("next_cursor") if r and r.status == 200 else None
    if not cursor:
        c.fail(f"GET {L}?sort=deadline: a page of 1 of several cases has no next_cursor")
    else:
        c.call(m, "GET", L, query=[("sort", "deadline"), ("limit", "1"), ("cursor", cursor)],
               headers=bearer(tok["admin"]), note="deadline order, next page")
    c.call(m, "GET", L, query=[("sort", "oldest")], headers=bearer(tok["admin"]), expect=400,
           field="sort", invalid=True, note="bad sort")
    c.call(m, "GET", L, query=[("status", "diproses"), ("report_type", "pengaduan"),
                               ("category", "jalan"), ("region_code", "32.04"),
                               ("agency", "dinas-pu"), ("overdue", "false"), ("limit", "50")],
           headers=bearer(tok["admin"]), note="every filter")
    c.call(m, "GET", L, query=[("overdue", "true")], headers=bearer(tok["auditor"]))
    c.call(m, "GET", L, headers=bearer(tok["liaison"]), note="liaison")
    c.call(m, "GET", L, query=[("agency", "dinas-kesehatan")], headers=bearer(tok["liaison"]),
           expect=403, note="liaison, another agency")
    c.call(m, "GET", L, expect=401, note="no token")
    c.call(m, "GET", L, query=[("status", "lost")], headers=bearer(tok["admin"]), expect=400,
           field="status", invalid=True, note="bad status")
    c.call(m, "GET", L, query=[("limit", "0")], headers=bearer(tok["admin"]), expect=400,
           field="limit", invalid=True, note="limit 0")
    c.call(m, "GET", L, query=[("cursor", "x")], headers=bearer(tok["admin"]), expect=400,
           field="cursor", invalid=True, note="bad cursor")

    # -- search -------------------------------------------------------------------------------
    S = "/api/v1/search"
    r = c.call(m, "GET", S, query=[("q", "gela"), ("limit", "1")],
               headers=bearer(tok["admin"]), note="a word inside words, first page")
    cursor = r.json().get("next_cursor") if r and r.status == 200 else None
    if not cursor:
        c.fail(f"GET {S}: a page of 1 of several matches has no next_cursor")
    else:
        c.call(m, "GET", S, query=[("q", "gela"), ("limit", "1"), ("cursor", cursor)],
               headers=bearer(tok["admin"]), note="next page")
    c.call(m, "GET", S, query=[("q", "rahasia")], headers=bearer(tok["admin"]),
           note="a confidential case, for its admin")
    c.call(m, "GET", S, query=[("q", "jalan rusak"), ("status", "selesai"),
                               ("report_type", "pengaduan"), ("category", "jalan"),
                               ("region_code", "32.04"), ("agency", "dinas-pu"),
                               ("overdue", "false"), ("limit", "50")],
           headers=bearer(tok["admin"]), note="every filter")
    c.call(m, "GET", S, query=[("q", "gelap"), ("format", "csv"), ("limit", "1")],
           headers=bearer(tok["auditor"]), note="csv, a page with a next one")
    c.call(m, "GET", S, query=[("q", "lubang"), ("format", "json")],
           headers=bearer(tok["liaison"]), note="liaison")
    c.call(m, "GET", S, query=[("q", "lubang"), ("agency", "dinas-kesehatan")],
           headers=bearer(tok["liaison"]), expect=403, note="liaison, another agency")
    c.call(m, "GET", S, query=[("q", "lubang")], expect=401, note="no token")
    c.call(m, "GET", S, query=[("q", "ab")], headers=bearer(tok["admin"]), expect=400,
           field="q", invalid=True, note="a word under 3 characters")
    c.call(m, "GET", S, headers=bearer(tok["admin"]), expect=400, field="q", invalid=True,
           note="no q")
    c.call(m, "GET", S, query=[("q", "lubang"), ("format", "xml")],
           headers=bearer(tok["admin"]), expect=400, field="format", invalid=True,
           note="bad format")
    c.call(m, "GET", S, query=[("q", "lubang"), ("cursor", "x")],
           headers=bearer(tok["admin"]), expect=400, field="cursor", invalid=True,
           note="bad cursor")

    # -- signed events ------------------------------------------------------------------------
    c.call(m, "GET", EV, {"id": ida}, headers=bearer(tok["admin"]))
    c.call(m, "GET", EV, {"id": idc}, headers=bearer(tok["auditor"]), note="confidential")
    c.call(m, "GET", EV, {"id": ida}, headers=bearer(tok["liaison2"]), expect=403,
           note="another agency's liaison")
    c.call(m, "GET", EV, {"id": ida}, headers=[("X-Access-Code", code_a)], expect=403,
           note="the reporter")
    c.call(m, "GET", EV, {"id": ida}, query=[("access_code", code_a)], expect=403,
           note="the reporter, code in the query")
    c.call(m, "GET", EV, {"id": ida}, expect=403, note="no credential")
    c.call(m, "GET", EV, {"id": ida}, headers=[("X-Access-Code", "A" * 26)], expect=401,
           note="wrong access code")
    c.call(m, "GET", EV, {"id": "32-AAAAAAAAAA"}, headers=bearer(tok["admin"]), expect=404)

    RC = V + "/receipt"
    # A receipt is 503 until the log's checkpoint covers the filing (within 250 ms).
    events = http(m.port, "GET", "/healthz").json()["next_seq"]
    eventually(f"node 32's checkpoint to cover its {events} events",
               lambda: checkpoint_size(m) >= events)
    r = c.call(m, "GET", RC, {"id": ida}, headers=[("X-Access-Code", code_a)], note="reporter")
    if r and r.status == 200 and r.json()["tracking_id"] != ida:
        c.fail(f"GET {RC}: the receipt is of another case")
    c.call(m, "GET", RC, {"id": idc}, headers=bearer(tok["admin"]), note="confidential, admin")
    c.call(m, "GET", RC, {"id": ida}, headers=bearer(tok["auditor"]), note="auditor")
    c.call(m, "GET", RC, {"id": ida}, headers=bearer(tok["liaison2"]), expect=403,
           note="another agency's liaison")
    c.call(m, "GET", RC, {"id": ida}, expect=403, note="no credential")
    c.call(m, "GET", RC, {"id": ida}, headers=[("X-Access-Code", "A" * 26)], expect=401,
           note="wrong access code")
    c.call(m, "GET", RC, {"id": ida}, query=[("access_code", code_a)], expect=400,
           invalid=True, note="the code in the URL")
    c.call(m, "GET", RC, {"id": "32-AAAAAAAAAA"}, headers=bearer(tok["admin"]), expect=404)

    # -- attachments: a photo uploaded, filed with a complaint, served to who reads the content --
    UP = "/api/v1/attachments"
    FILE = V + "/attachments/{sha256}"
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fuzz", "corpus",
                           "media", "tiny.jpg"), "rb") as f:
        jpeg = f.read()
    r = c.call(m, "POST", UP, body=jpeg, content_type="image/jpeg", expect=201, note="a photo")
    up = r.json() if r and r.status == 201 else None
    c.call(m, "POST", UP, body=b"GIF89a", content_type="image/gif", expect=415, invalid=True,
           note="another type")
    c.call(m, "POST", UP, body=b"not a jpeg", content_type="image/jpeg", expect=400,
           field="file", note="not what its type says")
    c.call(m, "POST", UP, body=b"%PDF-" + b" " * (5 << 20), content_type="application/pdf",
           expect=413, invalid=False, note="over 5 MB")
    if up is None:
        c.fail(f"POST {UP}: no upload to file a complaint with")
    else:
        att = {k: up[k] for k in ("upload", "sha256", "media_type", "size")}
        r = c.call(m, "POST", A, body=dict(minimal, title="Foto jalan", attachments=[att]),
                   expect=201, note="with an uploaded photo")
        idp, code_p = r.json()["tracking_id"], r.json()["access_code"]
        r = c.call(m, "GET", V, {"id": idp}, headers=[("X-Access-Code", code_p)],
                   note="a case with a held file")
        if r and r.status == 200 and r.json()["attachments"][0].get("held") is not True:
            c.fail(f"GET {V}: the uploaded file is not held")
        r = c.call(m, "GET", FILE, {"id": idp, "sha256": up["sha256"]},
                   headers=[("X-Access-Code", code_p)], note="the reporter")
        if r and r.status == 200 and hashlib.sha256(r.body).hexdigest() != up["sha256"]:
            c.fail(f"GET {FILE}: the file served is not the one uploaded")
        c.call(m, "GET", FILE, {"id": idp, "sha256": up["sha256"]},
               headers=bearer(tok["admin"]), note="admin")
        c.call(m, "GET", FILE, {"id": idc, "sha256": up["sha256"]},
               headers=bearer(tok["liaison2"]), expect=403, note="confidential, another agency")
        c.call(m, "GET", FILE, {"id": idc, "sha256": up["sha256"]}, expect=401,
               note="confidential, no credential")
        c.call(m, "GET", FILE, {"id": idp, "sha256": "ab" * 32}, headers=bearer(tok["admin"]),
               expect=404, note="no such file")
        c.call(m, "GET", FILE, {"id": idp, "sha256": "xyz"}, headers=bearer(tok["admin"]),
               expect=400, field="sha256", note="not a hash")

    # -- access records -----------------------------------------------------------------------
    r = c.call(m, "GET", AL, {"id": ida}, query=[("limit", "1")], headers=bearer(tok["admin"]))
    after = r.json().get("next_after") if r and r.status == 200 else None
    if not after:
        c.fail(f"GET {AL}: a page of 1 of several records has no next_after")
    else:
        c.call(m, "GET", AL, {"id": ida}, query=[("after", after), ("limit", "1000")],
               headers=bearer(tok["auditor"]), note="next page")
    r = c.call(m, "GET", AL, {"id": ida}, headers=[("X-Access-Code", code_a)], note="reporter")
    if r and r.status == 200 and any("operator_id" in i for i in r.json()["items"]):
        c.fail(f"GET {AL} [reporter]: the reporter sees operator ids")
    c.call(m, "GET", AL, {"id": idc}, query=[("access_code", code_c)],
           note="reporter, code in the query")
    c.call(m, "GET", AL, {"id": ida}, headers=bearer(tok["liaison"]), expect=403)
    c.call(m, "GET", AL, {"id": ida}, expect=401, note="no credential")
    c.call(m, "GET", AL, {"id": ida}, query=[("after", "x")], headers=bearer(tok["admin"]),
           expect=400, field="after", invalid=True)
    c.call(m, "GET", AL, {"id": "32-AAAAAAAAAA"}, headers=bearer(tok["admin"]), expect=404)
    G = "/api/v1/access-log"
    c.call(m, "GET", G, headers=bearer(tok["admin"]))
    c.call(m, "GET", G, query=[("after", "1"), ("limit", "2")], headers=bearer(tok["auditor"]))
    c.call(m, "GET", G, headers=bearer(tok["liaison"]), expect=403)
    c.call(m, "GET", G, expect=401)
    c.call(m, "GET", G, query=[("limit", "1001")], headers=bearer(tok["admin"]), expect=400,
           field="limit", invalid=True)


def checkpoint_size(node, token=None):
    r = http(node.port, "GET", "/log/checkpoint", bearer(token) if token else [])
    return int(r.text().split("\n")[1]) if r.status == 200 else 0


def log_surface(c, m, e, tok):
    events = http(m.port, "GET", "/healthz").json()["next_seq"]
    size = eventually(f"node 32's checkpoint to cover its {events} events",
                      lambda: checkpoint_size(m) >= events and checkpoint_size(m))
    c.call(m, "GET", "/log/checkpoint")
    c.call(m, "GET", "/log/vkey")
    # The pages and their files (node/page_router.h), revalidated by their ETag.
    for page in ("/", "/lapor", "/lacak", "/kerja", "/dashboard"):
        r = c.call(m, "GET", page)
        if r is not None:
            c.call(m, "GET", page, headers=[("If-None-Match", r.headers.get("etag", ""))],
                   expect=304)
    # The workbench's session (node/sessions.h): sign in, read it, sign out with the CSRF token.
    S = "/api/v1/session"
    c.call(m, "POST", S, body={"token": "lpt_NOTATOKEN"}, expect=401, note="unknown token")
    c.call(m, "POST", S, body={"token": 5}, expect=400, field="token", invalid=True,
           note="token not a string")
    c.call(m, "GET", S, expect=401, note="no session")
    r = c.call(m, "POST", S, body={"token": tok["admin"]}, note="sign in")
    if r is not None and r.status == 200:
        cookie = r.headers.get("set-cookie", "").split(";")[0]
        csrf = r.json()["csrf_token"]
        c.call(m, "GET", S, headers=[("Cookie", cookie)], note="the session")
        c.call(m, "DELETE", S, headers=[("Cookie", cookie)], expect=403, note="no CSRF token")
        c.call(m, "DELETE", S, headers=[("Cookie", cookie), ("X-CSRF-Token", csrf)],
               expect=204, note="sign out")
        c.call(m, "DELETE", S, headers=[("Cookie", cookie), ("X-CSRF-Token", csrf)],
               expect=401, note="the session has ended")
    for name in ("app.css", "lapor.js", "regencies.csv", "favicon.svg"):
        r = c.call(m, "GET", "/assets/{name}", params={"name": name})
    if r is not None:
        c.call(m, "GET", "/assets/{name}", params={"name": "favicon.svg"},
               headers=[("If-None-Match", r.headers.get("etag", ""))], expect=304)
    c.call(m, "GET", "/assets/{name}", params={"name": "nope.js"}, expect=404)
    T, TE = "/log/tile/{level}/{index}", "/log/tile/entries/{index}"
    w = min(size, 255)
    r = c.call(m, "GET", T, {"level": "0", "index": f"000.p/{w}"}, note="partial hash tile")
    if r and r.status == 200 and len(r.body) != 32 * w:
        c.fail(f"GET {T}: a partial tile of {w} is {len(r.body)} bytes, not {32 * w}")
    c.call(m, "GET", TE, {"index": f"000.p/{w}"}, note="partial entry bundle")
    c.call(m, "GET", T, {"level": "0", "index": "x001/000"}, expect=404, field=None,
           note="a tile the checkpoint does not cover")
    c.call(m, "GET", T, {"level": "0", "index": "zz"}, expect=404, field="path",
           note="not a tile path")
    c.call(m, "GET", TE, {"index": "001"}, expect=404, note="not covered")
    P, Q = "/log/proof/inclusion", "/log/proof/consistency"
    c.call(m, "GET", P, query=[("index", "0"), ("size", str(size))])
    c.call(m, "GET", P, query=[("index", "0"), ("size", str(size + 1000))], expect=404,
           field="size", note="beyond the checkpoint")
    c.call(m, "GET", P, query=[("index", str(size)), ("size", str(size))], expect=400,
           field="index", note="index not below size")
    c.call(m, "GET", P, query=[("index", "0")], expect=400, field="size", invalid=True,
           note="size missing")
    c.call(m, "GET", Q, query=[("old", "1"), ("new", str(size))])
    c.call(m, "GET", Q, query=[("old", "1"), ("new", str(size + 1000))], expect=404,
           field="new", note="beyond the checkpoint")
    c.call(m, "GET", Q, query=[("old", "3"), ("new", "2")], expect=400, field="old",
           note="old above new")
    c.call(m, "GET", Q, query=[("old", "-1"), ("new", "2")], expect=400, field="old",
           invalid=True, note="not a number")

    # 35 restricts its log to auditors and admins.
    restricted = (("/log/checkpoint", {}, []), ("/log/vkey", {}, []),
                  (T, {"level": "0", "index": "000.p/1"}, []),
                  (TE, {"index": "000.p/1"}, []),
                  (P, {}, [("index", "0"), ("size", "1")]),
                  (Q, {}, [("old", "0"), ("new", "0")]))
    for path, params, query in restricted:
        c.call(e, "GET", path, params, query=query, expect=401, note="restricted log, no token")
        c.call(e, "GET", path, params, query=query, headers=bearer(tok["e_liaison"]),
               expect=403, note="restricted log, a liaison")
    c.call(e, "GET", "/log/checkpoint", headers=bearer(tok["e_admin"]),
           note="restricted log, an admin")
    c.call(e, "GET", Q, query=[("old", "0"), ("new", "0")], headers=bearer(tok["e_admin"]),
           note="restricted log, an admin")


def federation_surface(c, hub, m, i33, e, tok):
    F = "/federation/v1"
    r = c.call(hub, "GET", F + "/manifest")
    if r is not None:
        c.call(hub, "GET", F + "/manifest", headers=[("If-None-Match", r.headers.get("etag", ""))],
               expect=304, note="the version held")
    c.call(m, "GET", F + "/manifest", note="a member's copy")
    c.call(e, "GET", F + "/manifest", expect=404, note="no federation")

    hub_id, hub_pub = "00", bytes.fromhex(hub.config()["public_key"])
    last_nonce = {}

    def signer(key=i33.key, sender="33", destination="00"):
        def sign(method, target, body):
            h = member_headers(key, sender, destination, method, target, body)
            last_nonce["v"] = h[2][1]
            return h
        return sign

    def signed_ok(path, body, note=""):
        r = c.call(hub, "POST", path, body=body, content_type="application/x-protobuf",
                   signer=signer(), note=note)
        if r and r.status == 200:
            try:
                verify_reply_signature(r, hub_id, hub_pub, "33", last_nonce["v"])
            except Exception as ex:  # noqa: BLE001 - any failure to verify is the finding
                c.fail(f"POST {path}: the reply's X-Lapor-Signature does not verify: {ex!r}")
        return r

    pull = pb_bytes(1, "32") + pb_varint(2, 0) + pb_varint(3, 10)
    signed_ok(F + "/pull", pull, "events of 32")
    signed_ok(F + "/rewind", pb_varint(1, 1))
    signed_ok(F + "/events", pb_bytes(1, "33"), "an empty batch")
    # Format 2 (cells): four road cases of region 33, done, one of them escalated on the way.
    cell = (pb_bytes(1, "33") + pb_bytes(2, "pengaduan") + pb_bytes(3, "infrastruktur") +
            pb_bytes(4, "dinas-pu") + pb_varint(6, 4) +
            pb_bytes(17, b"".join(varint(n) for n in (0, 0, 0, 4, 0, 0))))
    report = (pb_bytes(1, "33") + pb_varint(2, int(time.time() * 1000)) +
              pb_bytes(3, pb_bytes(1, "status") + pb_bytes(2, "selesai") + pb_varint(3, 4)) +
              pb_varint(4, 4) + pb_varint(5, 1) + pb_bytes(6, cell) + pb_varint(7, 2))
    stats_type = "application/vnd.lapor.stats.v1+protobuf"
    envelope = (pb_bytes(1, stats_type) + pb_bytes(2, report) +
                pb_bytes(3, pb_bytes(1, i33.key.keyid()) +
                         pb_bytes(2, i33.key.sign(pae(stats_type, report)))))
    signed_ok(F + "/stats", envelope, "a signed report")

    def post(node, path, body, expect, sign=None, note="", **kw):
        ctype = kw.pop("content_type", "application/x-protobuf")
        return c.call(node, "POST", path, body=body, content_type=ctype, signer=sign,
                      expect=expect, note=note, **kw)

    bad_report = report.replace(b"33", b"32", 1)
    forged = (pb_bytes(1, stats_type) + pb_bytes(2, bad_report) +
              pb_bytes(3, pb_bytes(1, i33.key.keyid()) +
                       pb_bytes(2, i33.key.sign(pae(stats_type, bad_report)))))
    bodies = {F + "/events": pb_bytes(1, "33"), F + "/pull": pull,
              F + "/rewind": pb_varint(1, 1), F + "/stats": envelope}
    for path, body in bodies.items():
        post(hub, path, body, 401, invalid=True, note="unsigned")
        post(hub, path, body, 401, signer(sender="34"), note="unknown node")
        post(hub, path, body, 403, signer(destination="32"), note="signed for another node")
        post(hub, path, body, 403, signer(key=m.key), note="signed with another key")
        fixed = member_headers(i33.key, "33", "00", "POST", path, body)
        post(hub, path, body, 200, lambda *a, h=fixed: h, note="first of two")
        post(hub, path, body, 409, lambda *a, h=fixed: h, note="replayed nonce")
        post(hub, path, b"\xff\xff", 400, signer(), field="body", note="not protobuf")
        post(hub, path, body, 415, signer(), content_type="application/json", invalid=True,
             note="not protobuf")
        post(hub, path, b"", 413, signer(), declared_length=17 * 1024 * 1024,
             note="declared body over 16 MiB")
        post(e, path, body, 503, signer(destination="35"), note="a node without a manifest")
    post(hub, F + "/pull", pb_bytes(4, "32-AAAAAAAAAA"), 404, signer(), note="unknown case")
    post(hub, F + "/events", pb_bytes(1, "32"), 403, signer(), note="names another sender")
    post(hub, F + "/events", pb_bytes(1, "33") + pb_bytes(5, "77"), 400, signer(),
         field="relay_to", note="relay to a non-member")
    post(m, F + "/stats", envelope, 404, signer(destination="32"), note="not the hub")
    post(hub, F + "/stats", forged, 403, signer(), note="a report naming another node")

    # Operator views of the federation.
    r = c.call(hub, "GET", F + "/stats", headers=bearer(tok["hub"]))
    if r and r.status == 200 and not r.json()["nodes"]:
        c.fail(f"GET {F}/stats: the report 33 sent is not in the aggregate")
    c.call(m, "GET", F + "/stats", headers=bearer(tok["admin"]), note="not the hub")
    c.call(hub, "GET", F + "/stats", expect=401, note="no token")
    eventually("node 32 to try delivering to 33 and the hub",
               lambda: len(http(m.port, "GET", F + "/status", bearer(tok["admin"]))
                           .json()["destinations"]) >= 2)
    eventually("node 32's delivery to 33 to fail at least once",
               lambda: any(d["last_error"] for d in
                           http(m.port, "GET", F + "/status", bearer(tok["admin"]))
                           .json()["destinations"]))
    c.call(m, "GET", F + "/status", headers=bearer(tok["auditor"]), note="with destinations")
    c.call(hub, "GET", F + "/status", headers=bearer(tok["hub"]))
    c.call(e, "GET", F + "/status", headers=bearer(tok["e_admin"]), note="no manifest")
    c.call(m, "GET", F + "/status", expect=401, note="no token")


def witness_surface(c, hub, m, i33, m_vkey, tok):
    W = "/witness/add-checkpoint"
    c.call(hub, "GET", "/witness/vkey")
    c.call(m, "GET", "/witness/vkey", expect=404, note="not a witness")
    note = http(m.port, "GET", "/log/checkpoint").text()
    text = note.split("\n\n")[0] + "\n"
    origin, size = text.split("\n")[0], int(text.split("\n")[1])
    keyid4 = bytes.fromhex(m_vkey.split("+")[1])
    c.call(hub, "POST", W, body=f"old 0\n\n{note}".encode(), content_type="text/plain",
           note="the first checkpoint")
    r = c.call(hub, "POST", W, body=f"old 0\n\n{note}".encode(), content_type="text/plain",
               expect=409, note="stale old size")
    if r and r.status == 409 and r.text() != f"{size}\n":
        c.fail(f"POST {W} [stale]: 409 body {r.text()!r}, expected the size {size}")
    c.call(hub, "POST", W, body=b"new 0\n\n", content_type="text/plain", expect=400,
           invalid=True, note="malformed")
    hub_note = http(hub.port, "GET", "/log/checkpoint").text()
    c.call(hub, "POST", W, body=f"old 0\n\n{hub_note}".encode(), content_type="text/plain",
           expect=404, note="a log it does not witness")
    wrong = sign_note(text, origin, keyid4, i33.key)
    c.call(hub, "POST", W, body=f"old 0\n\n{wrong}".encode(), content_type="text/plain",
           expect=403, note="not signed by the log's key")
    # The same size with another root, signed by the log's own key: equivocation.
    fake_root = base64.b64encode(hashlib.sha256(b"another tree").digest()).decode()
    forked = sign_note(f"{origin}\n{size}\n{fake_root}\n", origin, keyid4, m.key)
    c.call(hub, "POST", W, body=f"old {size}\n\n{forked}".encode(), content_type="text/plain",
           expect=422, note="equivocation")
    c.call(m, "POST", W, body=f"old 0\n\n{note}".encode(), content_type="text/plain",
           expect=404, note="not a witness")
    c.call(hub, "POST", W, content_type="text/plain", declared_length=70000, expect=413,
           note="declared body over 64 KiB")

    A = "/federation/v1/alerts"
    r = c.call(hub, "GET", A, headers=bearer(tok["hub"]))
    if r and r.status == 200 and not any(a.get("checkpoints") for a in r.json()["alerts"]):
        c.fail(f"GET {A}: the equivocation is not among the alerts")
    c.call(hub, "GET", A, query=[("after", "0"), ("limit", "1")], headers=bearer(tok["hub"]),
           note="paged")
    c.call(hub, "GET", A, query=[("limit", "0")], headers=bearer(tok["hub"]), expect=400,
           field="limit", invalid=True)
    c.call(hub, "GET", A, expect=401, note="no token")


def national_surface(c, hub, m, tok):
    """The hub's national view: figures (JSON and CSV, every filter), their evidence and the
    federation's alerts; for the hub's admins and auditors only, 404 elsewhere. The figures count
    the report 33 sent in federation_surface."""
    N, E, A = "/national/v1/stats", "/national/v1/evidence", "/national/v1/alerts"
    admin, auditor = bearer(tok["hub"]), bearer(tok["hub_auditor"])
    r = c.call(hub, "GET", N, headers=admin)
    if r and r.status == 200 and r.json()["members_reporting"] < 1:
        c.fail(f"GET {N}: the report 33 sent is not summed")
    to = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 5))
    every = [("from", "2026-01-01"), ("to", to), ("province", "32"), ("regency", "32.04"),
             ("report_type", "pengaduan"), ("category", "infrastruktur"), ("agency", "dinas-pu"),
             ("weeks", "2"), ("format", "json")]
    c.call(hub, "GET", N, query=every, headers=auditor, note="every filter")
    c.call(hub, "GET", N, query=[("format", "csv"), ("province", "33")], headers=admin,
           note="the table by regency as CSV")
    for name, value in (("province", "99"), ("regency", "33.99"), ("to", "2999-01-01"),
                        ("from", "yesterday"), ("category", "a b")):
        c.call(hub, "GET", N, query=[(name, value)], headers=admin, expect=400, field=name,
               note=f"{name}={value}")
    c.call(hub, "GET", N, query=[("province", "32"), ("regency", "33.01")], headers=admin,
           expect=400, field="regency", note="a regency outside the province")
    c.call(hub, "GET", N, expect=401, note="no token")
    c.call(hub, "GET", N, headers=bearer(tok["hub_liaison"]), expect=403, note="a liaison")
    c.call(m, "GET", N, headers=bearer(tok["admin"]), expect=404, note="not the hub")

    r = c.call(hub, "GET", E, headers=auditor)
    if r and r.status == 200 and not r.json()["snapshots"][0]["reports"]:
        c.fail(f"GET {E}: the evidence holds no signed report")
    c.call(hub, "GET", E, query=[(k, v) for k, v in every if k != "format"] +
           [("format", "json")], headers=admin, note="every filter")
    c.call(hub, "GET", E, query=[("format", "csv")], headers=admin, expect=400, field="format",
           invalid=True)
    c.call(hub, "GET", E, expect=401, note="no token")
    c.call(hub, "GET", E, headers=bearer(tok["hub_liaison"]), expect=403, note="a liaison")
    c.call(m, "GET", E, headers=bearer(tok["admin"]), expect=404, note="not the hub")

    r = c.call(hub, "GET", A, headers=admin)
    if r and r.status == 200 and not r.json()["members"]:
        c.fail(f"GET {A}: no member listed")
    c.call(hub, "GET", A, query=[("silent_hours", "24")], headers=auditor)
    c.call(hub, "GET", A, query=[("silent_hours", "0")], headers=admin, expect=400,
           field="silent_hours", invalid=True)
    c.call(hub, "GET", A, headers=bearer(tok["hub_liaison"]), expect=403, note="a liaison")
    c.call(hub, "GET", A, expect=401, note="no token")
    c.call(m, "GET", A, headers=bearer(tok["admin"]), expect=404, note="not the hub")

    O = "/api/v1/stats"  # every node: the figures of its own cases
    r = c.call(m, "GET", O, headers=bearer(tok["admin"]))
    if r and r.status == 200 and (r.json()["node_id"] != "32" or r.json()["totals"]["cases"] < 1):
        c.fail(f"GET {O}: node 32's own cases are not counted: {r.body[:300]!r}")
    c.call(m, "GET", O, query=[(k, v) for k, v in every
                                if k in ("province", "regency", "report_type", "category",
                                         "agency")],
           headers=bearer(tok["auditor"]), note="every filter")
    c.call(m, "GET", O, query=[("province", "3")], headers=bearer(tok["admin"]), expect=400,
           field="province", invalid=True)
    c.call(m, "GET", O, query=[("weeks", "2")], headers=bearer(tok["admin"]), expect=400,
           field="weeks", invalid=True, note="no trend on a node")
    c.call(m, "GET", O, headers=bearer(tok["liaison"]), expect=403, note="a liaison")
    c.call(m, "GET", O, expect=401, note="no token")


def ops_surface(c, m, hub, tok):
    c.call(m, "GET", "/healthz")
    c.call(hub, "GET", "/healthz")
    c.call(m, "GET", "/metrics", headers=bearer(tok["liaison"]))
    c.call(m, "GET", "/metrics", expect=401, note="no token")
    c.call(m, "GET", "/metrics", headers=bearer("lpt_WRONG"), expect=401, note="unknown token")


def edge_bounds(c, m, e, tok):
    """431 on every operation; the rate limits (429) and the connection cap (503) on 35."""
    pad = [("X-Padding", "p" * 20000)]
    params = {"id": "32-AAAAAAAAAA", "level": "0", "index": "000"}
    for (path, method), op in sorted(c.spec.ops.items()):
        c.call(m, method, path, {k: v for k, v in params.items() if "{" + k + "}" in path},
               headers=pad, expect=431, note="headers over 16 KiB")

    A = "/api/v1/complaints"
    # 35 allows one filing and one case look-up per minute per client.
    c.call(e, "POST", A, body={}, expect=400, invalid=True, note="takes the one filing")
    c.call(e, "POST", A, body={}, expect=429, invalid=True, note="over the filing rate")
    unknown = {"id": "35-AAAAAAAAAA"}
    c.call(e, "GET", A + "/{id}", unknown, expect=404, note="takes the one look-up")
    c.call(e, "GET", A + "/{id}", unknown, expect=429, note="over the look-up rate")
    c.call(e, "POST", A + "/{id}/actions", unknown, body={"action": "reply", "note": "x"},
           expect=429, note="over the look-up rate")
    c.call(e, "GET", A + "/{id}/events", unknown, expect=429, note="over the look-up rate")
    c.call(e, "GET", A + "/{id}/access-log", unknown, expect=429, note="over the look-up rate")

    # 35 takes 32 connections, the last 8 on the reserve (/healthz and operators only), then
    # refuses at accept. Held connections were each served once, so they surely count.
    held = []

    def connect():
        return socket.create_connection(("127.0.0.1", e.port), timeout=HTTP_TIMEOUT_S)

    def served(sock, request):
        try:
            sock.sendall(request)
            return read_reply(sock)
        except (OSError, CheckFailed):
            return None

    try:
        reserve = None
        for _ in range(40):  # normal connections: the restricted log answers 401
            s = connect()
            r = served(s, b"GET /log/checkpoint HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            if r is not None and r.status == 401:
                held.append(s)
                continue
            s.close()
            reserve = r
            break
        if reserve is None:
            c.fail("35: no reply on the first connection over its normal ones")
        else:
            c.observe(e, "GET", "/log/checkpoint", reserve, 503, "on the connection reserve")
        s = connect()
        r = served(s, b"GET /log/checkpoint HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      b"Authorization: Bearer " + tok["e_admin"].encode() + b"\r\n\r\n")
        held.append(s)
        if r is None:
            c.fail("35: no reply to an operator on the connection reserve")
        else:
            c.observe(e, "GET", "/log/checkpoint", r, 200, "an operator on the reserve")
        for (path, method), op in sorted(c.spec.ops.items()):
            if (path, method) != ("/healthz", "GET"):  # /healthz is served on the reserve
                c.call(e, method, path, {k: v for k, v in params.items() if "{" + k + "}" in path},
                       expect=503, note="on the connection reserve")
        for _ in range(40):  # the reserve, with /healthz, until a connection is refused
            s = connect()
            r = served(s, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            if r is not None and r.status == 200:
                held.append(s)
                continue
            s.close()
            break
        # At the cap: a new connection gets its 503 at accept, before it sends anything.
        with connect() as s:
            r = read_reply(s)
        c.observe(e, "GET", "/healthz", r, 503, "over the connection cap",
                  request_id_optional=True)
    finally:
        for s in held:
            s.close()


def body_probes(c, m, tok, minimal, full, case_id):
    """The filing's documented enums and bounds, at and beyond each bound; every action name
    is one the node knows."""
    A = "/api/v1/complaints"
    props = c.spec.doc["components"]["schemas"]["NewComplaint"]["properties"]
    for name in ("report_type", "channel"):
        for value in props[name]["enum"]:
            c.call(m, "POST", A, body=dict(minimal, **{name: value}), expect=201,
                   note=f"{name} {value}")
    for name, schema in props.items():
        if "maxLength" in schema:
            n = schema["maxLength"]
            c.call(m, "POST", A, body=dict(minimal, **{name: "a" * n}), expect=201,
                   note=f"{name} of {n}")
            c.call(m, "POST", A, body=dict(minimal, **{name: "a" * (n + 1)}), expect=400,
                   field=name, invalid=True, note=f"{name} of {n + 1}")
    n = props["attachments"]["maxItems"]
    att = full["attachments"][0]
    c.call(m, "POST", A, body=dict(minimal, attachments=[att] * n), expect=201,
           note=f"{n} attachments")
    c.call(m, "POST", A, body=dict(minimal, attachments=[att] * (n + 1)), expect=400,
           field="attachments", invalid=True, note=f"{n + 1} attachments")
    size = props["attachments"]["items"]["properties"]["size"]
    for value, ok in ((size["minimum"], True), (size["maximum"], True),
                      (size["minimum"] - 1, False), (size["maximum"] + 1, False)):
        c.call(m, "POST", A, body=dict(minimal, attachments=[dict(att, size=value)]),
               expect=201 if ok else 400, field=None if ok else "attachments.size",
               invalid=not ok, note=f"attachment size {value}")
    loc = props["location"]["properties"]
    for coord in ("lat", "lon"):
        lo, hi = loc[coord]["minimum"], loc[coord]["maximum"]
        for value, ok in ((lo, True), (hi, True), (lo - 0.5, False), (hi + 0.5, False)):
            where = {"lat": 0, "lon": 0, coord: value}
            c.call(m, "POST", A, body=dict(minimal, location=where),
                   expect=201 if ok else 400, field=None if ok else f"location.{coord}",
                   invalid=not ok, note=f"location.{coord} {value}")
    ACT = A + "/{id}/actions"
    for action in c.spec.doc["components"]["schemas"]["Action"]["enum"]:
        r = c.call(m, "POST", ACT, {"id": "32-AAAAAAAAAA"}, headers=bearer(tok["admin"]),
                   body={"action": action}, expect={400, 403, 404},
                   note=f"action {action} is known")
        if r is not None and r.status == 400 and r.json()["error"]["field"] == "action":
            c.fail(f"POST {ACT}: the node does not know the documented action {action!r}")
    for reason in c.spec.doc["components"]["schemas"]["ArchiveReason"]["enum"]:
        r = c.call(m, "POST", A, body=dict(minimal, title=f"Arsip {reason}"), expect=201)
        body = {"action": "archive", "reason": reason}
        if reason == "duplicate":
            body["duplicate_of"] = case_id
        c.call(m, "POST", ACT, {"id": r.json()["tracking_id"]}, headers=bearer(tok["admin"]),
               body=body, note=f"archive, {reason}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--node", required=True, help="the lapor-node binary")
    ap.add_argument("--source", default=os.path.join(os.path.dirname(__file__), ".."),
                    help="the repository (docs/openapi.yaml, node/metrics.cc)")
    ap.add_argument("--spec", help="the spec (default SOURCE/docs/openapi.yaml)")
    ap.add_argument("--keep", action="store_true", help="keep the nodes' folder for a look")
    args = ap.parse_args()
    # A SIGTERM (ctest, Ctrl-C in a terminal sends SIGINT) unwinds through the cleanup below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    spec_path = args.spec or os.path.join(args.source, "docs", "openapi.yaml")
    rng = random.Random(os.urandom(16))
    root = tempfile.mkdtemp(prefix="lapor-openapi-")
    ok = False
    try:
        spec = Spec(spec_path)
        templates = route_templates(os.path.join(args.source, "node", "metrics.cc"))
        c = Checker(spec)
        routes = run_scenario(c, os.path.abspath(args.node), root, rng)
        c.coverage(templates, routes)
        print(f"openapi_check: {len(spec.ops)} operations on {len(spec.doc['paths'])} paths, "
              f"{len(templates)} route templates, {c.calls} requests, "
              f"{len(c.statuses)} (operation, status) pairs seen")
        unseen = sorted(f"{m} {p} {code}" for (p, m), op in spec.ops.items()
                        for code in op["responses"] if (p, m, int(code)) not in c.statuses)
        if unseen:
            print(f"openapi_check: note: {len(unseen)} documented (operation, status) pairs were "
                  "not provoked (a failed store, a full disk, stopping...): " + "; ".join(unseen))
        ok = not c.failures
        if not ok:
            print(f"openapi_check: {len(c.failures)} disagreement(s) between {spec_path} "
                  "and the node (listed above)")
    except CheckFailed as ex:
        print(f"openapi_check: {ex}")
    finally:
        if not ok:
            for log in sorted(f for f in os.listdir(root) if f.endswith(".log")):
                with open(os.path.join(root, log), errors="replace") as f:
                    tail = f.read().splitlines()[-25:]
                print(f"---- last lines of {log}:\n" + "\n".join(tail))
        if args.keep:
            print(f"openapi_check: nodes' folders kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    print("openapi_check: " + ("ok" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
