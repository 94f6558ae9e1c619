#!/usr/bin/env python3
"""Writes the README's marked snippets into a directory, so that a test builds them as written.

A snippet is the fenced block right after a line `<!-- readme-snippet: FILENAME -->`.
Usage: readme-snippets.py README.md OUTDIR   (prints the files written; fails if there are none)
"""
import os
import re
import sys


def main():
    readme, out = sys.argv[1], sys.argv[2]
    text = open(readme, encoding="utf-8").read()
    found = re.findall(r"<!-- readme-snippet: ([\w.]+) -->\n```\w*\n(.*?)\n```", text, re.S)
    if not found:
        sys.exit("readme-snippets: no marked snippet in %s" % readme)
    os.makedirs(out, exist_ok=True)
    for name, body in found:
        with open(os.path.join(out, name), "w", encoding="utf-8") as f:
            f.write(body + "\n")
        print(name)


main()
