export { startWorker, type Consumer, type WorkerDeps, type RunningWorker } from "./app";
export { createWorkerServer, type WorkerServer } from "./server";
