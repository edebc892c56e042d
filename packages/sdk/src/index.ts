export { createIgoudarClient, type IgoudarClient, type IgoudarClientOptions, type OperationResult } from "./client";
export type { components, operations, paths } from "./generated/schema";
export { TokenSource } from "./tokens";
