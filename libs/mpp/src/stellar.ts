import { charge as chargeClient } from "./client/charge";
import { channel as channelClient } from "./client/channel";
import { charge as chargeServer } from "./server/charge";
import { channel as channelServer } from "./server/channel";

/** The method constructors, shaped like stellar-mpp-sdk's `stellar.charge(...)` on each side. */
export const Stellar = {
  server: { charge: chargeServer, channel: channelServer },
  client: { charge: chargeClient, channel: channelClient },
} as const;
