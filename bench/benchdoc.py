"""Helpers the benchmark scripts share: the machine line and the marked
sections of docs/benchmarks.md.

Each script owns one section of docs/benchmarks.md, between
"<!-- bench/SCRIPT: begin -->" and "<!-- bench/SCRIPT: end -->", and
rewrites only that; bench/fp32.py, which writes the head of the file,
keeps every marked section."""
import os
import re


def machine(features):
    """(CPU model name, CPU count, the |features| /proc/cpuinfo lists)."""
    cpu, flags = "unknown", ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name") and cpu == "unknown":
                cpu = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = line.split(":", 1)[1]
    keep = [x for x in features if re.search(r"\b%s\b" % x, flags)]
    return cpu, os.cpu_count(), " ".join(keep)


def markers(script):
    return ("<!-- bench/%s: begin -->" % script, "<!-- bench/%s: end -->" % script)


def write_section(doc, script, section):
    """Replaces (or appends) |script|'s marked section of |doc|."""
    begin, end = markers(script)
    text = open(doc).read() if os.path.exists(doc) else "# Benchmarks\n"
    block = begin + "\n" + section.rstrip("\n") + "\n" + end + "\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        after = rest.split(end, 1)[1].lstrip("\n")
        text = head + block + ("\n" + after if after else "")
    else:
        text = text.rstrip("\n") + "\n\n" + block
    with open(doc, "w") as f:
        f.write(text)
