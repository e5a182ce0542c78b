#!/usr/bin/python3
"""check_profile.py — checks the outputs of `ingot profile` (docs/profile-format.md).

  check_profile.py json MODEL.onnx PROFILE.json [MAX_DEVIATION]
      the JSON parses and follows the schema; every step names at least one
      source node and every name is a node of MODEL.onnx; the sum of the step
      times is within MAX_DEVIATION (default 0.10) of the end-to-end latency
      (both: means over the quietest quarter of the runs).
  check_profile.py chrome TRACE.json STEPS ITERATIONS THREADS
      the trace parses as JSON; it has exactly STEPS * ITERATIONS "step"
      events, ITERATIONS "run" events, complete events with numeric ts/dur,
      one thread_name per thread, and every tid is one of those threads.
  check_profile.py svg PICTURE.svg STEPS
      the SVG parses as XML and draws one bar per step.
"""
import json
import sys
import xml.etree.ElementTree as ET


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def check_json(model_path, path, max_dev):
    import onnx
    names = {n.name for n in onnx.load(model_path).graph.node}
    with open(path) as f:
        p = json.load(f)
    if p.get("format") != "ingot-profile" or p.get("version") != 2:
        fail("%s: not an ingot-profile v2 document" % path)
    for key in ("engine", "threads", "iterations", "latency_us", "step_sum_us",
                "step_sum_ratio", "peak", "counters", "steps",
                "timer_overhead_ns"):
        if key not in p:
            fail("%s: no '%s'" % (path, key))
    steps = p["steps"]
    if len(steps) != p["engine"]["steps"] or not steps:
        fail("%s: %d step rows for %d steps" % (path, len(steps), p["engine"]["steps"]))
    total = 0.0
    for i, s in enumerate(steps):
        if s["index"] != i:
            fail("step %d has index %s" % (i, s["index"]))
        if not s["nodes"]:
            fail("step %d (%s) names no source node" % (i, s["op"]))
        for n in s["nodes"]:
            if n not in names:
                fail("step %d (%s) names '%s', which is not a node of %s"
                     % (i, s["op"], n, model_path))
        t = s["time_us"]
        if not (0 <= t["min"] <= t["median"] <= t["max"]
                and t["min"] <= t["quiet"] <= t["max"]):
            fail("step %d: time_us out of order: %s" % (i, t))
        if s["runs"] != p["iterations"]:
            fail("step %d: %s runs, %s iterations" % (i, s["runs"], p["iterations"]))
        if s["precision"] == "float32" and s["ops"] > 0 and s["peak_percent"] is None \
                and "unknown" not in p["peak"]["note"]:
            fail("step %d: fp32 with ops but no peak_percent" % i)
        total += t["quiet"]
    if abs(total - p["step_sum_us"]) > 1e-3 * max(1.0, total):
        fail("step_sum_us %s is not the sum of the step times %s" % (p["step_sum_us"], total))
    lat = p["latency_us"]
    print("%s: %d steps sum to %.2f us; end-to-end (unprofiled) %.2f us "
          "quiet, %.2f us median; timer %.0f ns"
          % (path, len(steps), total, lat["quiet"], lat["median"],
             p["timer_overhead_ns"]))
    # like with like: both sides are means over their quietest quarter of
    # runs (docs/profile-format.md says why not the medians)
    e2e = lat["quiet"]
    dev = abs(total - e2e) / e2e
    if dev > max_dev:
        fail("the steps sum to %.2f us, %.1f%% off the end-to-end %.2f us"
             % (total, 100 * dev, e2e))


def check_chrome(path, steps, iterations, threads):
    with open(path) as f:
        t = json.load(f)
    events = t["traceEvents"]
    tids = {e["tid"] for e in events if e.get("ph") == "M" and e["name"] == "thread_name"}
    if len(tids) != threads:
        fail("%d thread tracks for %d threads" % (len(tids), threads))
    count = {"run": 0, "step": 0, "chunk": 0}
    for e in events:
        if e["ph"] == "M":
            continue
        if e["ph"] != "X":
            fail("event of phase %s" % e["ph"])
        if not isinstance(e["ts"], (int, float)) or not isinstance(e["dur"], (int, float)) \
                or e["dur"] < 0:
            fail("bad ts/dur in %s" % e)
        if e["tid"] not in tids or e["pid"] != 1:
            fail("event on an unnamed track: %s" % e)
        count[e["cat"]] += 1
    if count["step"] != steps * iterations:
        fail("%d step events, expected %d steps x %d iterations"
             % (count["step"], steps, iterations))
    if count["run"] != iterations:
        fail("%d run events for %d iterations" % (count["run"], iterations))
    print("%s: %d step, %d run, %d chunk events on %d tracks"
          % (path, count["step"], count["run"], count["chunk"], len(tids)))


def check_svg(path, steps):
    root = ET.parse(path).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    bars = [r for r in root.iter(ns + "rect") if r.find(ns + "title") is not None]
    if len(bars) != steps:
        fail("%s: %d bars for %d steps" % (path, len(bars), steps))
    print("%s: %d bars" % (path, len(bars)))


if __name__ == "__main__":
    a = sys.argv
    if len(a) >= 4 and a[1] == "json":
        check_json(a[2], a[3], float(a[4]) if len(a) > 4 else 0.10)
    elif len(a) == 6 and a[1] == "chrome":
        check_chrome(a[2], int(a[3]), int(a[4]), int(a[5]))
    elif len(a) == 4 and a[1] == "svg":
        check_svg(a[2], int(a[3]))
    else:
        print(__doc__)
        sys.exit(2)
