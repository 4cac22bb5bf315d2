export { buildApi, type ApiDeps } from "./app";
export { createApiServer, type ApiServer } from "./server";
