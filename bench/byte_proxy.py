#!/usr/bin/python3
"""byte_proxy.py: a loopback TCP relay that counts the bytes of every connection, for
bench/client.sh (bytes a mail client and a server exchange, whichever client it is).

    byte_proxy.py LISTEN_PORT TARGET_PORT COUNT_FILE

Listens on 127.0.0.1:LISTEN_PORT, relays each connection to 127.0.0.1:TARGET_PORT and,
each time a connection has ended in both directions, rewrites COUNT_FILE as one line
    opened=N closed=N up=BYTES down=BYTES
(up: client to server, down: server to client; TCP payload, TLS records counted as
they pass). COUNT_FILE appears once the port listens. A caller waits until closed ==
opened before reading the totals. Runs until
SIGTERM. One thread per direction of a connection: good for the one or few
connections a mail client opens."""

import os
import signal
import socket
import sys
import threading

HOST = "127.0.0.1"


class Counter:
    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.opened = self.closed = self.up = self.down = 0
        self.write()

    def write(self):
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"opened={self.opened} closed={self.closed} up={self.up} down={self.down}\n")
        os.replace(tmp, self.path)

    def open_one(self):
        with self.lock:
            self.opened += 1
            self.write()

    def close_one(self, up, down):
        with self.lock:
            self.closed += 1
            self.up += up
            self.down += down
            self.write()


def pump(src, dst, box, key, done):
    n = 0
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
            n += len(data)
    except OSError:
        pass
    box[key] = n
    try:
        dst.shutdown(socket.SHUT_WR)  # pass the end on: the other side sees EOF too
    except OSError:
        pass
    done.release()


def relay(client, target, counter):
    counter.open_one()
    box = {"up": 0, "down": 0}
    try:
        server = socket.create_connection((HOST, target))
    except OSError:
        client.close()
        counter.close_one(0, 0)
        return
    for s in (client, server):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    done = threading.Semaphore(0)
    threads = [threading.Thread(target=pump, args=(client, server, box, "up", done), daemon=True),
               threading.Thread(target=pump, args=(server, client, box, "down", done), daemon=True)]
    for t in threads:
        t.start()
    done.acquire()
    done.acquire()
    client.close()
    server.close()
    counter.close_one(box["up"], box["down"])


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    listen, target, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((HOST, listen))
    srv.listen(64)
    counter = Counter(path)  # the file appears once the port listens
    while True:
        c, _ = srv.accept()
        threading.Thread(target=relay, args=(c, target, counter), daemon=True).start()


if __name__ == "__main__":
    main()
