/** The mppx Store keys of the stellar method, exactly as stellar-mpp-sdk writes them (shared stores stay compatible). */
export const StoreKeys = {
  chargeChallenge: (challengeId: string) => `stellar:charge:challenge:${challengeId}`,
  chargeHash: (txHash: string) => `stellar:charge:hash:${txHash.toLowerCase()}`,
  channelChallenge: (challengeId: string) => `stellar:channel:challenge:${challengeId}`,
  channelCumulative: (channel: string) => `stellar:channel:cumulative:${channel}`,
  channelSettling: (channel: string) => `stellar:channel:settling:${channel}`,
  channelClosed: (channel: string) => `stellar:channel:closed:${channel}`,
  /** Client side: the highest cumulative this client has signed for a channel. */
  clientCumulative: (network: string, channel: string) => `stellar:channel:client:${network}:${channel}:cumulative`,
} as const;
