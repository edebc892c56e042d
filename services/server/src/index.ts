export * from "./config";
export * from "./openapi";
export * from "./platform";
