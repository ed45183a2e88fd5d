#!/usr/bin/python3
"""Watch a guest's I/O ports through a headless HyperDbgRemote agent over gRPC.

Registers a break event on a port (!ioout PORT), prints each halt with RIP, the instruction and AL, continues,
and after N breaks clears the event and lets the guest run on. Uses Debian's python3-grpcio; run it with
/usr/bin/python3. The gRPC stubs are generated from the repository's protos/ into a temporary folder.

    /usr/bin/python3 examples/python/watch_ports.py --agent 127.0.0.1:50051 --port 80 --breaks 3
    /usr/bin/python3 examples/python/watch_ports.py --agent unix:/tmp/agent.sock --port 3f8 --direction out
"""
import argparse
import os
import re
import sys
import tempfile

import grpc
from grpc_tools import protoc

HERE = os.path.dirname(os.path.abspath(__file__))
PROTOS = os.path.normpath(os.path.join(HERE, "..", "..", "protos"))


def load_stubs():
    # Debian's grpc_tools (1.14) predates proto3 'optional'. protoc implements 'optional T name = N;' as a oneof of its
    # own holding that one field; the stubs are generated from a copy that spells it so, which is the same on the wire
    # and keeps presence: event_id=0 or port=0 is sent as present, not taken for "absent" (all events, all ports).
    out = tempfile.mkdtemp(prefix="hdr-stubs-")
    with open(os.path.join(PROTOS, "hyperdbg.proto"), encoding="utf-8") as f:
        text = re.sub(r"\boptional\s+(\w+)\s+(\w+)\s*=\s*(\d+)\s*;", r"oneof _\2 { \1 \2 = \3; }", f.read())
    with open(os.path.join(out, "hyperdbg.proto"), "w", encoding="utf-8") as f:
        f.write(text)
    args = ["protoc", f"-I{out}", f"--python_out={out}", f"--grpc_python_out={out}", os.path.join(out, "hyperdbg.proto")]
    if protoc.main(args) != 0:
        sys.exit("watch_ports: cannot generate the gRPC stubs from " + PROTOS)
    sys.path.insert(0, out)
    import hyperdbg_pb2  # noqa: E402
    import hyperdbg_pb2_grpc  # noqa: E402
    return hyperdbg_pb2, hyperdbg_pb2_grpc


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agent", required=True, help="HOST:PORT or unix:/abs/path.sock")
    parser.add_argument("--port", required=True, help="I/O port to watch (hex)")
    parser.add_argument("--direction", choices=["in", "out"], default="out")
    parser.add_argument("--breaks", type=int, default=3, help="halts to take before letting the guest run")
    parser.add_argument("--token", default=os.environ.get("HYPERDBG_TOKEN"))
    args = parser.parse_args()

    pb, rpc = load_stubs()
    metadata = [("authorization", "Bearer " + args.token)] if args.token else []
    channel = grpc.insecure_channel(args.agent)
    stub = rpc.DebuggeeServiceStub(channel)

    hello = stub.Handshake(pb.HandshakeRequest(protocol_version=2, client_name="watch_ports.py"), metadata=metadata, timeout=10)
    if hello.status != pb.STATUS_OK:
        sys.exit(f"watch_ports: handshake refused: {hello.message}")
    print(f"connected to {hello.agent_name}: {hello.guest.description}, {hello.guest.cores} core(s)", flush=True)

    notifications = stub.Notifications(pb.NotificationsRequest(), metadata=metadata)
    direction = pb.IO_DIRECTION_IN if args.direction == "in" else pb.IO_DIRECTION_OUT
    event = pb.EventRegistration(direction=direction, port=int(args.port, 16), immediate=True,
                                 command_text=f"!io{args.direction} {args.port}")
    reply = stub.Execute(pb.HostToAgent(request_id=1, register_event=pb.RegisterEventRequest(event=event)), metadata=metadata)
    if reply.register_event.status != pb.STATUS_OK:
        sys.exit(f"watch_ports: {reply.register_event.message}")
    event_id = reply.register_event.event_id
    print(f"event {event_id:x} registered on port {args.port}", flush=True)

    seen = 0
    request_id = 2
    for note in notifications:
        kind = note.WhichOneof("body")
        if kind == "halted":
            h = note.halted
            seen += 1
            al = h.registers.values["rax"] & 0xFF
            print(f"break {seen}: core {h.core} event {h.event_id:x} port {h.port:x} rip {h.rip:x} {h.disassembly} al={al:02x}", flush=True)
            if seen >= args.breaks:
                stub.Execute(pb.HostToAgent(request_id=request_id, modify_event=pb.ModifyEventRequest(action=pb.EVENT_ACTION_CLEAR, event_id=event_id)), metadata=metadata)
                request_id += 1
            answer = stub.Execute(pb.HostToAgent(request_id=request_id, **{"continue": pb.ContinueRequest()}), metadata=metadata)
            request_id += 1
            if answer.WhichOneof("body") != "continue" or answer.__getattribute__("continue").status != pb.STATUS_OK:
                sys.exit(f"watch_ports: continue failed: {answer}")
            if seen >= args.breaks:
                print(f"done: {seen} breaks, event cleared, guest running", flush=True)
                notifications.cancel()
                return 0
        elif kind == "script_output":
            for text in note.script_output.texts:
                sys.stdout.write(text)
        elif kind == "log":
            print(f"agent: {note.log.text}", flush=True)
        elif kind == "stopped":
            print(f"guest stopped: {note.stopped.reason} {note.stopped.report}", flush=True)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
