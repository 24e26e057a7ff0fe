/** Which listen addresses count as loopback for the start-up warning (src/modes/http-lifecycle.ts). */
import { expect, test } from "bun:test";
import { isLoopback } from "../../../src/modes/http-lifecycle.ts";

test("loopback: 127.0.0.0/8, ::1 (bracketed or not), localhost, IPv4-mapped 127.x", () => {
  for (const host of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST", "::ffff:127.0.0.1"]) expect({ host, loopback: isLoopback(host) }).toEqual({ host, loopback: true });
});

test("beyond loopback: every interface, a LAN or public address, a name", () => {
  for (const host of ["0.0.0.0", "::", "[::]", "192.168.1.10", "10.0.0.1", "::ffff:10.0.0.1", "example.com", "128.0.0.1", "127.0.0.1.example.com"])
    expect({ host, loopback: isLoopback(host) }).toEqual({ host, loopback: false });
});
