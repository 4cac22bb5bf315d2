import { randomUUID } from "node:crypto";
import { schema, type Db } from "@quay/db";
import type { Submission } from "@quay/settlement";

/** A queued payment row with placeholder terms, for tests of the statements around it (no chain involved). */
export async function insertQueuedPayment(db: Db, apiKeyId: string | null = null): Promise<Submission> {
  const [row] = await db
    .insert(schema.submissions)
    .values({
      network: "stellar:testnet",
      kind: "x402",
      payer: "GPAYER",
      authNonce: randomUUID(),
      asset: "CASSET",
      payTo: "GPAYTO",
      amount: 100n,
      clientTransaction: "AAAA",
      signatureExpirationLedger: 100,
      apiKeyId,
    })
    .returning();
  return row!;
}
