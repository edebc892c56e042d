export * from "./client";
export * from "./errors";
export * from "./migrate";
export * from "./queries/attachments";
export * from "./queries/prepared";
export * from "./queries/quotas";
export { newId } from "./schema/columns";
export * from "./schema/index";
