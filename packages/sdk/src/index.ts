export { createIgoudarClient, type IgoudarClient, type IgoudarClientOptions, type OperationResult } from "./client.js";
export { IgoudarError, IgoudarTimeoutError, type Problem, type ProblemDetail, parseRetryAfter } from "./errors.js";
export type { components, operations, paths } from "./generated/schema.js";
export type { Page, Paginator } from "./paginate.js";
export type { CallOptions } from "./resources/context.js";
export type { RetryOptions } from "./retry.js";
export { TokenSource } from "./tokens.js";
export type * from "./types.js";
export type { WaitFlag, WaitOptions } from "./wait.js";
