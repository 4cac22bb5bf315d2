import { charge as chargeClient } from "./client/charge.js";
import { channel as channelClient } from "./client/channel.js";
import { charge as chargeServer } from "./server/charge.js";
import { channel as channelServer } from "./server/channel.js";

/** The method constructors, shaped like stellar-mpp-sdk's `stellar.charge(...)` on each side. */
export const Stellar = {
  server: { charge: chargeServer, channel: channelServer },
  client: { charge: chargeClient, channel: channelClient },
} as const;
