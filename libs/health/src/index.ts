export interface ComponentHealth {
  readonly ok: boolean;
  readonly latencyMs: number;
  /** A short code (driver error code or class name), never a message: those can carry connection strings. */
  readonly error?: string;
}

export interface HealthReport {
  readonly ok: boolean;
  readonly components: Record<string, ComponentHealth>;
}

/** Runs one probe with a deadline, so a hung dependency reports unhealthy instead of hanging the caller. */
export async function probe(check: () => Promise<unknown>, timeoutMs = 2_000): Promise<ComponentHealth> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error("timeout"), { code: "TIMEOUT" })), timeoutMs);
      }),
    ]);
    return { ok: true, latencyMs: Math.round(performance.now() - started) };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return {
      ok: false,
      latencyMs: Math.round(performance.now() - started),
      error: typeof code === "string" ? code : error instanceof Error ? error.name : "unknown",
    };
  } finally {
    clearTimeout(timer);
  }
}

export async function report(checks: Record<string, () => Promise<unknown>>): Promise<HealthReport> {
  const names = Object.keys(checks);
  const results = await Promise.all(names.map((name) => probe(checks[name]!)));
  const components = Object.fromEntries(names.map((name, i) => [name, results[i]!]));
  return { ok: results.every((r) => r.ok), components };
}

export interface LivenessBody {
  /** "ok", or "degraded" when a dependency is down: the process itself is alive either way. */
  readonly status: "ok" | "degraded";
  readonly components: Record<string, ComponentHealth>;
}

/**
 * /healthz: the process answers, and says how its dependencies are. Always 200 — a liveness
 * probe must not restart a process because Postgres is down; /readyz is the check that fails.
 */
export async function liveness(checks: Record<string, () => Promise<unknown>>): Promise<LivenessBody> {
  const result = await report(checks);
  return { status: result.ok ? "ok" : "degraded", components: result.components };
}
