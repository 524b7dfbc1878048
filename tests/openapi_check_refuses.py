#!/usr/bin/env python3
"""Proves that tests/openapi_check.py fails when docs/openapi.yaml drifts from the node.

Runs the checker against copies of the spec, each with one deliberate drift, and expects each
run to fail naming it: a response field the spec drops, a status value it loses, an error status
it no longer documents, a field it requires that the node never sends, a media type it
misnames, a route it forgets, and a request bound it loosens.
Usage: openapi_check_refuses.py --node build/node/lapor-node [--source .]
"""

import argparse
import os
import subprocess
import sys
import tempfile

import yaml


def drop_field(doc):
    state = doc["components"]["schemas"]["CaseState"]
    del state["properties"]["escalated"]
    state["required"].remove("escalated")


def drop_status_value(doc):
    doc["components"]["schemas"]["Status"]["enum"].remove("terdisposisi")


def drop_conflict(doc):
    del doc["paths"]["/api/v1/complaints/{id}/actions"]["post"]["responses"]["409"]


def require_unsent_field(doc):
    doc["components"]["schemas"]["Filed"]["required"].append("receipt")


def misname_media_type(doc):
    content = doc["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    content["text/plain; charset=utf-8"] = content.pop("text/plain; version=0.0.4; charset=utf-8")


def forget_route(doc):
    del doc["paths"]["/witness/vkey"]


def loosen_bound(doc):
    props = doc["components"]["schemas"]["NewComplaint"]["properties"]
    props["title"]["maxLength"] = 300


# (name, mutation, a line the checker must print)
DRIFTS = [
    ("a response field the spec drops", drop_field, "200 body does not match the spec"),
    ("a status value the spec loses", drop_status_value, "200 body does not match the spec"),
    ("an error status the spec omits", drop_conflict, "status 409 is not documented"),
    ("a field the node never sends", require_unsent_field, "201 body does not match the spec"),
    ("a misnamed media type", misname_media_type, "Content-Type 'text/plain; version=0.0.4"),
    ("a route the spec forgets", forget_route, "the node's route /witness/vkey"),
    ("a looser request bound", loosen_bound, "[title of 300] on m32: status 400, expected [201]"),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--node", required=True)
    ap.add_argument("--source", default=os.path.join(os.path.dirname(__file__), ".."))
    args = ap.parse_args()
    checker = os.path.join(args.source, "tests", "openapi_check.py")
    with open(os.path.join(args.source, "docs", "openapi.yaml"), encoding="utf-8") as f:
        original = f.read()
    failed = []
    with tempfile.TemporaryDirectory(prefix="lapor-openapi-drift-") as tmp:
        for name, mutate, expected in DRIFTS:
            doc = yaml.safe_load(original)
            mutate(doc)
            path = os.path.join(tmp, "openapi.yaml")
            with open(path, "w", encoding="utf-8") as f:
                yaml.safe_dump(doc, f, sort_keys=False, allow_unicode=True)
            r = subprocess.run([sys.executable, checker, "--node", args.node, "--source",
                                args.source, "--spec", path],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               timeout=600)
            fails = [line for line in r.stdout.splitlines() if line.startswith("FAIL ")]
            if r.returncode == 1 and any(expected in line for line in fails):
                print(f"refused: {name} ({len(fails)} disagreement(s), e.g. "
                      f"{next(line for line in fails if expected in line)[:160]})")
            else:
                failed.append(name)
                print(f"NOT REFUSED: {name} (exit {r.returncode}, no FAIL line with "
                      f"{expected!r}); output:\n{r.stdout[-4000:]}")
    print("openapi_check_refuses: " + ("ok" if not failed else f"FAILED: {failed}"))
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
