import { Asset, Keypair, Operation, TransactionBuilder } from "@stellar/stellar-sdk";
import { and, eq, inArray, isNotNull, isNull, sql } from "drizzle-orm";
import { schema, type Db } from "@quay/db";
import { submitAndWait, type StellarNetwork } from "@quay/stellar";
import { Vault } from "@quay/vault";

const { channelAccounts } = schema;

/** The network caps a transaction at 100 operations. */
const OPS_PER_TX = 100;
const STROOPS_PER_XLM = 10_000_000n;

export interface PoolAdminDeps {
  readonly db: Db;
  readonly network: StellarNetwork;
  /** Pays for account creation and top-ups. */
  readonly fund: Keypair;
  readonly masterKey: Buffer;
}

export interface AccountStatus {
  readonly publicKey: string;
  readonly balanceStroops: bigint | null; // null: not on the ledger
  readonly sequence: string | null;
  readonly leasedUntil: Date | null;
  readonly lastUsedAt: Date | null;
  readonly disabled: boolean;
}

function xlm(stroops: bigint): string {
  const whole = stroops / STROOPS_PER_XLM;
  const frac = (stroops % STROOPS_PER_XLM).toString().padStart(7, "0");
  return `${whole}.${frac}`;
}

export const PoolAdmin = {
  /**
   * Creates `count` channel accounts funded with `startingBalance` stroops each, in batched
   * createAccount transactions from the fund account. Rows are written (sealed, disabled) before
   * anything is sent, so a key is never on the ledger without being in the database; they are
   * enabled once their transaction has succeeded.
   */
  async create(deps: PoolAdminDeps, count: number, startingBalance: bigint): Promise<string[]> {
    const keys = Array.from({ length: count }, () => Keypair.random());
    const created: string[] = [];
    for (let i = 0; i < keys.length; i += OPS_PER_TX) {
      const batch = keys.slice(i, i + OPS_PER_TX);
      await deps.db.insert(channelAccounts).values(
        batch.map((kp) => ({
          network: deps.network.id,
          publicKey: kp.publicKey(),
          secretEncrypted: Vault.seal(deps.masterKey, kp.secret(), kp.publicKey()),
          disabledAt: sql`now()`,
        })),
      );
      const source = await deps.network.account(deps.fund.publicKey());
      const builder = new TransactionBuilder(source, { fee: "1000", networkPassphrase: deps.network.passphrase }).setTimeout(60);
      for (const kp of batch) {
        builder.addOperation(Operation.createAccount({ destination: kp.publicKey(), startingBalance: xlm(startingBalance) }));
      }
      const tx = builder.build();
      tx.sign(deps.fund);
      await submitAndWait(deps.network, tx);
      const publicKeys = batch.map((kp) => kp.publicKey());
      await deps.db
        .update(channelAccounts)
        .set({ disabledAt: null })
        .where(and(eq(channelAccounts.network, deps.network.id), inArray(channelAccounts.publicKey, publicKeys)));
      created.push(...publicKeys);
    }
    return created;
  },

  /** Every account of the pool with what the ledger says of it. */
  async status(deps: Pick<PoolAdminDeps, "db" | "network">): Promise<AccountStatus[]> {
    const rows = await deps.db.select().from(channelAccounts).where(eq(channelAccounts.network, deps.network.id));
    return Promise.all(
      rows.map(async (row) => {
        const onLedger = await deps.network.accountEntry(row.publicKey);
        return {
          publicKey: row.publicKey,
          balanceStroops: onLedger ? BigInt(onLedger.balance().toString()) : null,
          sequence: onLedger ? onLedger.seqNum().toString() : null,
          leasedUntil: row.leaseExpiresAt && row.leaseExpiresAt > new Date() ? row.leaseExpiresAt : null,
          lastUsedAt: row.lastUsedAt,
          disabled: row.disabledAt !== null,
        };
      }),
    );
  },

  /** Pays every enabled account below `belowStroops` up to `targetStroops`; returns how many were topped up. */
  async topUp(deps: PoolAdminDeps, belowStroops: bigint, targetStroops: bigint): Promise<number> {
    const accounts = (await PoolAdmin.status(deps)).filter(
      (a) => !a.disabled && a.balanceStroops !== null && a.balanceStroops < belowStroops,
    );
    for (let i = 0; i < accounts.length; i += OPS_PER_TX) {
      const batch = accounts.slice(i, i + OPS_PER_TX);
      const source = await deps.network.account(deps.fund.publicKey());
      const builder = new TransactionBuilder(source, { fee: "1000", networkPassphrase: deps.network.passphrase }).setTimeout(60);
      for (const a of batch) {
        builder.addOperation(
          Operation.payment({
            destination: a.publicKey,
            asset: Asset.native(),
            amount: xlm(targetStroops - a.balanceStroops!),
          }),
        );
      }
      const tx = builder.build();
      tx.sign(deps.fund);
      await submitAndWait(deps.network, tx);
    }
    return accounts.length;
  },

  /** Takes accounts out of service (they finish what they hold); `enable` puts them back. */
  async disable(deps: Pick<PoolAdminDeps, "db" | "network">, publicKeys: readonly string[]): Promise<number> {
    const res = await deps.db
      .update(channelAccounts)
      .set({ disabledAt: sql`now()` })
      .where(and(eq(channelAccounts.network, deps.network.id), inArray(channelAccounts.publicKey, [...publicKeys])));
    return res.rowCount ?? 0;
  },

  async enable(deps: Pick<PoolAdminDeps, "db" | "network">, publicKeys: readonly string[]): Promise<number> {
    const res = await deps.db
      .update(channelAccounts)
      .set({ disabledAt: null })
      .where(
        and(
          eq(channelAccounts.network, deps.network.id),
          inArray(channelAccounts.publicKey, [...publicKeys]),
          isNotNull(channelAccounts.disabledAt),
        ),
      );
    return res.rowCount ?? 0;
  },

  /** Public keys of every account of the network, whatever its state: none of them may ever pay. */
  /** How many of the pool's accounts are enabled, and how many of those a worker holds right now. */
  async occupancy(deps: Pick<PoolAdminDeps, "db" | "network">): Promise<{ size: number; leased: number }> {
    const [row] = await deps.db
      .select({
        size: sql<number>`count(*)::int`,
        leased: sql<number>`(count(*) filter (where ${channelAccounts.leaseExpiresAt} > now()))::int`,
      })
      .from(channelAccounts)
      .where(and(eq(channelAccounts.network, deps.network.id), isNull(channelAccounts.disabledAt)));
    return { size: row?.size ?? 0, leased: row?.leased ?? 0 };
  },

  async addresses(deps: Pick<PoolAdminDeps, "db" | "network">): Promise<string[]> {
    const rows = await deps.db
      .select({ publicKey: channelAccounts.publicKey })
      .from(channelAccounts)
      .where(eq(channelAccounts.network, deps.network.id));
    return rows.map((r) => r.publicKey);
  },
};
