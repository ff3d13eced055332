#!/usr/bin/env python3
"""A store's WAN link for the demo: a TCP forwarder that can be cut and restored.

    link.py LISTEN_PORT TARGET_HOST TARGET_PORT [--state-file FILE]

Writes the listening port on stdout. The link is up while FILE contains "up"; writing "down" closes every open
connection and refuses new ones (the store is offline), writing "up" restores it. TLS passes through untouched.
"""
import argparse
import asyncio
import os
import sys


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("listen_port", type=int)
    p.add_argument("target_host")
    p.add_argument("target_port", type=int)
    p.add_argument("--state-file", required=True)
    a = p.parse_args()
    conns: set = set()

    def up() -> bool:
        try:
            with open(a.state_file) as f:
                return f.read().strip() != "down"
        except FileNotFoundError:
            return True

    async def pipe(reader, writer):
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def handle(cr, cw):
        if not up():
            cw.close()
            return
        try:
            tr, tw = await asyncio.open_connection(a.target_host, a.target_port)
        except OSError:
            cw.close()
            return
        pair = (cw, tw)
        conns.add(pair)
        try:
            await asyncio.gather(pipe(cr, tw), pipe(tr, cw))
        finally:
            conns.discard(pair)

    async def watch():
        while True:
            await asyncio.sleep(0.1)
            if not up():
                for cw, tw in list(conns):
                    cw.transport.abort()
                    tw.transport.abort()
                conns.clear()

    server = await asyncio.start_server(handle, "127.0.0.1", a.listen_port)
    print(server.sockets[0].getsockname()[1], flush=True)
    asyncio.get_running_loop().create_task(watch())
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
