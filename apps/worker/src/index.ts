export { startWorker, type Consumer, type WorkerDeps, type RunningWorker } from "./app";
