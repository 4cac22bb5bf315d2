/**
 * Shared by test/mpp/method*.test.ts: a channel deployed on the devnet (test/devnet/channel-fixtures),
 * an express app on loopback, and readers for 402 problem bodies and receipts.
 */
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import express from "express";
import type { Express } from "express";
import { Challenge, Receipt } from "mppx";

export { openChannel, send, UNIT, type OpenedChannel } from "../devnet/channel-fixtures";

export interface Listening {
  readonly url: string;
  close(): Promise<void>;
}

export async function listen(app: Express | ((req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse) => void)): Promise<Listening> {
  const { createServer } = await import("node:http");
  const server: Server = createServer(app as Parameters<typeof createServer>[1]);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

export function newApp(): Express {
  return express();
}

/** The problem+json body of a 402 and the fresh challenge it carries. */
export async function refusal(response: Response): Promise<{ status: number; type: string; code?: string; reason?: string; detail?: string }> {
  const body = (await response.json()) as { type: string; detail?: string; details?: { code?: string; reason?: string } };
  return {
    status: response.status,
    type: body.type.replace("https://paymentauth.org/problems/", ""),
    ...(body.details?.code !== undefined ? { code: body.details.code } : {}),
    ...(body.details?.reason !== undefined ? { reason: body.details.reason } : {}),
    ...(body.detail !== undefined ? { detail: body.detail } : {}),
  };
}

export async function challengeOf(url: string): Promise<Challenge.Challenge> {
  const res = await fetch(url);
  if (res.status !== 402) throw new Error(`expected 402, got ${res.status}`);
  return Challenge.fromResponse(res);
}

export function receiptOf(response: Response): Receipt.Receipt {
  return Receipt.fromResponse(response);
}
