import type { AuthenticatedKey } from "@quay/keys";
import { ChannelsApiError } from "./errors";
import { Params, type ChannelsOperation } from "./params";
import { submitCall, submitEnvelope } from "./submit";
import { getTransaction } from "./transactions";
import { manage } from "./management";
import type { SponsorDeps, SponsorNetwork } from "./deps";

export { ChannelsApiError, CHANNELS_ERROR_STATUS, type ChannelsErrorCode } from "./errors";
export type { ChannelsRequest, ChannelsOperation } from "./params";
export type { SubmitAnswer } from "./submit";
export type { TransactionAnswer, ChannelsStatus } from "./transactions";
export type { SponsorDeps, SponsorNetwork } from "./deps";

/**
 * The OZ Channels API on Quay's settlement core: what a `ChannelsClient` (or OZ's x402 plugin)
 * sends, answered as OZ's plugin answers it. Each call resolves to the envelope's `data`, or
 * throws ChannelsApiError, whose code and status the api renders.
 */
export const Sponsor = {
  /**
   * The served network a path segment names: its id (`stellar:testnet`) or the id's last part
   * (`testnet`), as OZ's hosted URLs end. An OZ relayer's plugin id may carry a `channels-` prefix.
   */
  network(deps: Pick<SponsorDeps, "networks">, name: string): SponsorNetwork {
    const wanted = name.replace(/^channels-?/, "");
    for (const [id, net] of deps.networks) if (id === wanted || id.split(":")[1] === wanted) return net;
    if (wanted === "" && deps.networks.size === 1) return [...deps.networks.values()][0]!;
    throw new ChannelsApiError("UNSUPPORTED_NETWORK", `this Quay does not serve network ${JSON.stringify(name.slice(0, 64))}`, {
      served: [...deps.networks.keys()],
    });
  },

  async handle(deps: SponsorDeps, net: SponsorNetwork, key: AuthenticatedKey, body: unknown): Promise<unknown> {
    let operation: ChannelsOperation | "unknown" = "unknown";
    const count = (result: string) => deps.metrics.channelsRequests.inc({ network: net.network.id, operation, result });
    try {
      const request = Params.parse(body);
      operation = request.op;
      const data = await dispatch(deps, net, key, request);
      count(typeof data === "object" && data !== null && "status" in data && typeof data.status === "string" ? data.status : "ok");
      return data;
    } catch (error) {
      if (error instanceof ChannelsApiError) count(error.code);
      throw error;
    }
  },
};

function dispatch(deps: SponsorDeps, net: SponsorNetwork, key: AuthenticatedKey, request: ReturnType<typeof Params.parse>): Promise<unknown> {
  switch (request.op) {
    case "func":
      return submitCall(deps, net, key, request);
    case "xdr":
      return submitEnvelope(deps, net, key, request);
    case "get_transaction":
      return getTransaction(deps, net.network.id, key.id, request.transactionId);
    case "management":
      return manage(deps, net, request);
  }
}
