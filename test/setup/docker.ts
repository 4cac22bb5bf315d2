import { existsSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import type { AcquiredService } from "./context";

type Endpoint = { readonly socketPath: string } | { readonly host: string; readonly port: number };

/** Where a Docker engine would listen, by the same conventions the docker CLI and testcontainers use. */
function dockerEndpoint(): Endpoint | { readonly unsupported: string } | undefined {
  const dockerHost = process.env.DOCKER_HOST;
  if (dockerHost !== undefined && dockerHost !== "") {
    if (dockerHost.startsWith("unix://")) return { socketPath: dockerHost.slice("unix://".length) };
    if (dockerHost.startsWith("tcp://") && process.env.DOCKER_TLS_VERIFY !== "1") {
      const url = new URL(dockerHost.replace(/^tcp:/, "http:"));
      return { host: url.hostname, port: Number(url.port || 2375) };
    }
    return { unsupported: "DOCKER_HOST uses TLS or a scheme this probe does not speak" };
  }
  const candidates = ["/var/run/docker.sock", path.join(process.env.XDG_RUNTIME_DIR ?? "/nonexistent", "docker.sock")];
  const socketPath = candidates.find((candidate) => existsSync(candidate));
  return socketPath === undefined ? undefined : { socketPath };
}

function ping(endpoint: Endpoint, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const request = http.get({ ...endpoint, path: "/_ping", timeout: timeoutMs }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.on("timeout", () => request.destroy());
    request.on("error", () => resolve(false));
  });
}

/** Whether a Docker engine answers right now; a second at most, never a hang. */
export async function dockerEngineAnswers(timeoutMs = 1_000): Promise<{ readonly answers: boolean; readonly reason: string }> {
  const endpoint = dockerEndpoint();
  if (endpoint === undefined) return { answers: false, reason: "no Docker socket and no DOCKER_HOST" };
  if ("unsupported" in endpoint) return { answers: false, reason: endpoint.unsupported };
  const answers = await ping(endpoint, timeoutMs);
  return { answers, reason: answers ? "the Docker engine answered /_ping" : "the Docker engine did not answer /_ping" };
}

export async function postgresContainer(): Promise<AcquiredService> {
  const { GenericContainer, Wait } = await import("testcontainers");
  const container = await new GenericContainer("postgres:16")
    .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: "trust" })
    .withCommand(["postgres", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=200"])
    .withTmpFs({ "/var/lib/postgresql/data": "rw" })
    .withExposedPorts(5432)
    // the image's entrypoint starts a temporary server first: the second "ready" line is the real one
    .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
    .start();
  return {
    url: `postgres://postgres@${container.getHost()}:${container.getMappedPort(5432)}/postgres`,
    source: "docker",
    release: async () => {
      await container.stop();
    },
  };
}

export async function redisContainer(): Promise<AcquiredService> {
  const { GenericContainer, Wait } = await import("testcontainers");
  const container = await new GenericContainer("redis:7")
    .withCommand(["redis-server", "--save", "", "--appendonly", "no"])
    .withExposedPorts(6379)
    .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
    .start();
  return {
    url: `redis://${container.getHost()}:${container.getMappedPort(6379)}`,
    source: "docker",
    release: async () => {
      await container.stop();
    },
  };
}
