#!/usr/bin/env python3
"""The commands of the ```sh blocks of Markdown files, as shell calls.

extract.py --rundir DIR --tmp DIR FILE...

Prints one line per command, `doc_run WHERE MODE COMMAND` (shell-quoted),
for a test to define doc_run and source the result.  WHERE is FILE:LINE;
MODE is run, skip or timeout-ok.  Lines ending in a backslash continue;
blank and comment lines are not commands.  "/run/stubvisor" becomes
--rundir and "/tmp/" --tmp, so that the commands run in a private place.

An HTML comment right before a block says how to run it:

  <!-- doc-test: skip (REASON) -->                 the whole block is not run
  <!-- doc-test: skip "TEXT" (REASON) -->          its commands holding TEXT are not
  <!-- doc-test: timeout-ok "TEXT" (REASON) -->    commands holding TEXT run until a
                                                    short timeout, which is success

A reason is required: the page says why a command cannot run here.  An
annotation with no block after it is an error (exit 1)."""
import argparse
import re
import shlex
import sys

ANNOTATION = re.compile(r'^<!-- doc-test: (skip|timeout-ok)(?: "([^"]+)")? \(([^)]+)\) -->$')


def commands(path, rundir, tmp):
    out = []
    pending = []  # (mode, text) of the annotations just read
    block = None  # (start line, annotations) inside a ```sh block
    cont = None  # (line, text) of a command that continues
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    for n, line in enumerate(lines, 1):
        if block is None:
            m = ANNOTATION.match(line.strip())
            if m:
                if m.group(1) == "timeout-ok" and not m.group(2):
                    sys.exit(f"{path}:{n}: timeout-ok needs the text of the commands it is for")
                pending.append((m.group(1), m.group(2)))
                continue
            if line.strip() == "```sh":
                block = (n, pending)
                pending = []
            elif pending and line.strip():
                sys.exit(f"{path}:{n}: a doc-test annotation with no ```sh block after it")
            continue
        if line.strip() == "```":
            if cont:
                sys.exit(f"{path}:{cont[0]}: the last command of a block continues")
            block = None
            continue
        if cont:
            start, text = cont
            text += " " + line.strip()
        else:
            start, text = n, line.strip()
        if text.endswith("\\"):
            cont = (start, text[:-1].rstrip())
            continue
        cont = None
        if not text or text.startswith("#"):
            continue
        mode = "run"
        for kind, what in block[1]:
            if what is None or what in text:
                mode = kind
        # One pass: the private directories may themselves be under /tmp.
        places = {"/run/stubvisor": rundir, "/tmp/": tmp.rstrip("/") + "/"}
        text = re.sub("|".join(map(re.escape, places)), lambda m: places[m.group(0)], text)
        out.append(f"doc_run {shlex.quote(f'{path}:{start}')} {mode} {shlex.quote(text)}")
    if pending or block:
        sys.exit(f"{path}: an annotation or a block that does not end")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rundir", required=True)
    ap.add_argument("--tmp", required=True)
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    for path in a.files:
        for line in commands(path, a.rundir, a.tmp):
            print(line)


main()
