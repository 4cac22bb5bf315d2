import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { FaultInputError, FaultSwitch } from "./faults";
import type { Faults } from "./faults";

/** The most RPC ports one devnet serves (the first plus the extra ones). */
export const MAX_PORTS = 8;

interface Port {
  readonly server: Server;
  /** The bound TCP port, kept so a refused port can listen again on the same number. */
  port: number;
  listening: boolean;
}

/**
 * The devnet's HTTP ports: every one serves the same ledger (as several RPC nodes of one network
 * would), and the fault switch can refuse connections on any but the first (which carries the
 * control endpoints), by closing its listener until the fault is cleared.
 */
export class DevnetPorts {
  private readonly ports: Port[] = [];

  constructor(
    private readonly host: string,
    private readonly create: (index: number) => Server,
  ) {}

  get count(): number {
    return this.ports.length;
  }

  /** The bound port numbers, first port first. */
  numbers(): number[] {
    return this.ports.map((p) => p.port);
  }

  /** Listens on each requested port (0: any free one), in order. */
  async open(requested: readonly number[]): Promise<void> {
    for (const wanted of requested) {
      const server = this.create(this.ports.length);
      const port: Port = { server, port: wanted, listening: false };
      this.ports.push(port);
      await this.listen(port);
      port.port = (server.address() as AddressInfo).port;
    }
  }

  /** Refuses faults naming a port that does not exist, or refusing the first port. */
  check(faults: Faults): void {
    for (const index of faults.ports?.keys() ?? []) {
      if (index >= this.ports.length) throw new FaultInputError(`ports: no port ${index} (this devnet serves ${this.ports.length})`);
    }
    if (FaultSwitch.failureOf(faults, 0) === "refuse") throw new FaultInputError("ports: port 0 carries the control endpoints and cannot refuse connections");
  }

  /** Closes the listeners of refusing ports, and listens again on those no longer refusing. */
  async sync(faults: Faults): Promise<void> {
    for (const [index, port] of this.ports.entries()) {
      const refuse = FaultSwitch.failureOf(faults, index) === "refuse";
      if (refuse && port.listening) await this.stop(port);
      else if (!refuse && !port.listening) await this.listen(port);
    }
  }

  async close(): Promise<void> {
    for (const port of this.ports) if (port.listening) await this.stop(port);
  }

  private listen(port: Port): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      port.server.once("error", reject);
      port.server.listen(port.port, this.host, () => {
        port.server.off("error", reject);
        port.listening = true;
        resolve();
      });
    });
  }

  private stop(port: Port): Promise<void> {
    port.listening = false;
    return new Promise<void>((resolve) => {
      port.server.close(() => resolve());
      port.server.closeAllConnections();
    });
  }
}
