export { createRedis, type Redis } from "./redis";
export { QueueNames, type QueueName, type JobData, JobSchemas, openQueue, type QuayQueue, type QueueOptionsBase } from "./queues";
