# Checks of a timeline from scripts/reproduce --timeline, for
# vm-timeline.sh: python3 check-trace.py trace TRACE.json CULPRIT WAITERS
# or check-trace.py png IMAGE.png MIN_WIDTH MIN_HEIGHT MIN_INK. Prints one
# `ok - ...` / `not ok - ...` line per check; exits 1 if any failed.
import json
import struct
import sys
import zlib

failed = False


def check(name, ok):
    global failed
    print(("ok - " if ok else "not ok - ") + name)
    failed = failed or not ok


def trace(path, culprit, waiters):
    # A real JSON parser: anything malformed raises here.
    with open(path) as f:
        doc = json.load(f)
    events = doc["traceEvents"]
    slices = [e for e in events if e["ph"] == "X"]
    instants = [e for e in events if e["ph"] == "i"]
    names = {e["tid"]: e["args"]["name"] for e in events
             if e["ph"] == "M" and e["name"] == "thread_name"}
    check("trace: slices and instants", len(slices) > 0 and len(instants) > 0)
    check("trace: every slice has a start, a duration and a track",
          all(isinstance(e.get("ts"), (int, float)) and isinstance(e.get("dur"), (int, float))
              and e["dur"] >= 0 and e.get("pid") == 1 and e.get("tid") in names for e in slices))
    check("trace: every instant has a time and a track",
          all(isinstance(e.get("ts"), (int, float)) and e.get("tid") in names for e in instants))
    # Each CPU's states of each instance: in order, one after the other.
    order = ["NONE", "PREPARE", "DISABLE_IRQ", "RUN"]
    runs = {}
    for e in slices:
        if e["cat"] == "state":
            runs.setdefault((e["tid"], e["args"]["stop"]), []).append(e)
    in_order = len(runs) > 0
    for seq in runs.values():
        seq.sort(key=lambda e: e["ts"])
        states = [order.index(e["args"]["state"]) for e in seq]
        in_order &= states == sorted(set(states))
        in_order &= all(a["ts"] + a["dur"] <= b["ts"] + 0.002 for a, b in zip(seq, seq[1:]))
    check("trace: each CPU's states per instance in order, not overlapping", in_order)
    cpus = sorted(t for t, n in names.items() if n.startswith("CPU ") and t < 100000)
    check("trace: a track per CPU", cpus == list(range(len(cpus))) and len(cpus) >= 2)
    calls = [e for e in slices if e["cat"] == "stop_machine"]
    blamed = [e for e in calls if e["args"]["culprit_cpus"][:1] == [culprit]]
    check(f"trace: a stop_machine() call slice names CPU {culprit} the culprit", len(blamed) >= 1)
    check(f"trace: CPU {culprit}'s track is marked the culprit",
          "culprit" in names.get(culprit, ""))
    stop = blamed[0]["args"]["stop"] if blamed else None
    late = [e for e in slices if e["cat"] == "culprit" and e["args"]["stop"] == stop]
    check(f"trace: CPU {culprit} has a not-arrived slice in that instance, the others none",
          len(late) >= 1 and all(e["tid"] == culprit for e in late))
    waited = {e["tid"] for e in slices if e["cat"] == "state" and e["args"]["stop"] == stop
              and e["args"]["state"] == "PREPARE" and e["dur"] >= 1e6}
    check(f"trace: CPUs {waiters} waited in PREPARE over a second in it", waited == set(waiters))
    reports = {e["tid"] for e in instants if e["cat"] == "soft_lockup"}
    check(f"trace: soft-lockup reports on CPUs {waiters}, none on {culprit}",
          set(waiters) <= reports and culprit not in reports)
    check("trace: early warnings", any(e["cat"] == "early_warning" for e in instants))
    check("trace: touches with their callers",
          any(e["cat"] == "touch" and e["args"].get("caller") for e in instants))


def png(path, min_width, min_height, min_ink):
    with open(path, "rb") as f:
        data = f.read()
    check("image: a PNG", data[:8] == b"\x89PNG\r\n\x1a\n")
    pos, chunks = 8, {}
    idat = b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IDAT":
            idat += body
        else:
            chunks.setdefault(kind, body)
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    check(f"image: at least {min_width}x{min_height} (it is {width}x{height})",
          width >= min_width and height >= min_height)
    channels = {2: 3, 6: 4}.get(colour)
    if depth != 8 or channels is None:
        check("image: 8-bit RGB or RGBA", False)
        return
    raw = zlib.decompress(idat)
    stride = width * channels
    prev = bytearray(stride)
    ink = 0
    pos = 0
    for _ in range(height):
        kind = raw[pos]
        line = bytearray(raw[pos + 1:pos + 1 + stride])
        pos += 1 + stride
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 255
        for x in range(0, stride, channels):
            if line[x] < 240 or line[x + 1] < 240 or line[x + 2] < 240:
                ink += 1
        prev = line
    check(f"image: at least {min_ink} drawn (non-background) pixels (it has {ink})", ink >= min_ink)


if sys.argv[1] == "trace":
    trace(sys.argv[2], int(sys.argv[3]), [int(c) for c in sys.argv[4].split(",")])
else:
    png(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
sys.exit(1 if failed else 0)
