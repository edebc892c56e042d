export * from "./billing";
export * from "./compute";
export * from "./energy";
export * from "./identity";
export * from "./platform";
export * from "./storage";
