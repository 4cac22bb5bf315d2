/**
 * Keeps track of the servers this process started, so that none outlives it. Three layers, from the
 * most graceful: the caller's own stop(); on SIGINT/SIGTERM/SIGHUP nobody else handles, a clean stop
 * and then the default death; on 'exit', a synchronous last-chance stop. The kernel's parent-death
 * signal (see process.ts) covers a parent killed outright.
 */
export interface GuardedService {
  /** Clean, awaited shutdown. */
  stop(): Promise<void>;
  /** Synchronous best effort, for the 'exit' event where nothing async runs any more. */
  stopNow(): void;
}

const live = new Set<GuardedService>();
const handledSignals: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
const signalGraceMs = 10_000;
let hooksInstalled = false;

function onExit(): void {
  for (const service of live) {
    try {
      service.stopNow();
    } catch {
      // the process is exiting: one failed stop must not keep the others from theirs
    }
  }
  live.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  // Another listener means the program owns its shutdown (and will call stop() or exit, which the
  // 'exit' hook covers). Alone, we stand in for the default action: stop cleanly, then die by it.
  if (process.listenerCount(signal) > 1) return;
  removeSignalHandlers();
  const services = [...live];
  const stopped = Promise.allSettled(services.map((service) => service.stop()));
  const deadline = new Promise((resolve) => setTimeout(resolve, signalGraceMs).unref());
  void Promise.race([stopped, deadline]).then(() => process.kill(process.pid, signal));
}

const signalHandlers = new Map<NodeJS.Signals, () => void>(handledSignals.map((signal) => [signal, () => onSignal(signal)]));

function removeSignalHandlers(): void {
  for (const [signal, handler] of signalHandlers) process.removeListener(signal, handler);
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on("exit", onExit);
  for (const [signal, handler] of signalHandlers) process.on(signal, handler);
}

function uninstallHooks(): void {
  if (!hooksInstalled) return;
  hooksInstalled = false;
  process.removeListener("exit", onExit);
  removeSignalHandlers();
}

export const Lifecycle = {
  track(service: GuardedService): void {
    live.add(service);
    installHooks();
  },
  untrack(service: GuardedService): void {
    live.delete(service);
    // With nothing left to guard, leave the process's signal behaviour as we found it.
    if (live.size === 0) uninstallHooks();
  },
  liveCount(): number {
    return live.size;
  },
};
