import type { components, operations } from "./generated/schema.js";

/**
 * Named types for what the API takes and returns, derived from the generated spec types so they
 * can never drift from it. Where the spec names a schema we use it; elsewhere the type is the
 * body of the operation that returns or takes it.
 */
type JsonOf<R> = R extends { content: { "application/json": infer B } } ? B : never;
type SuccessStatus = 200 | 201 | 202;

/** The JSON body of an operation's success answer. */
export type ResponseOf<K extends keyof operations> = JsonOf<
	operations[K]["responses"][Extract<keyof operations[K]["responses"], SuccessStatus>]
>;
/** The JSON request body of an operation. */
export type RequestBodyOf<K extends keyof operations> = operations[K] extends {
	requestBody?: { content: { "application/json": infer B } };
}
	? B
	: never;
/** The query parameters of an operation. */
export type QueryOf<K extends keyof operations> = NonNullable<operations[K]["parameters"]["query"]>;
/** One element of a list answer's `items`. */
export type ItemOf<K extends keyof operations> = ResponseOf<K> extends { items: (infer I)[] } ? I : never;

export type Schemas = components["schemas"];

export type Tenant = ResponseOf<"tenantGet">;
export type TenantCreate = RequestBodyOf<"tenantCreate">;
export type TenantUpdate = RequestBodyOf<"tenantUpdate">;
export type ServiceAccount = ItemOf<"serviceAccountList">;
export type ServiceAccountCreate = RequestBodyOf<"serviceAccountCreate">;
/** The create answer, the only one that shows the secret. */
export type ServiceAccountWithSecret = ResponseOf<"serviceAccountCreate">;
export type Quota = ItemOf<"quotaList">;
export type QuotaUpdate = RequestBodyOf<"quotaUpdate">;
export type QuotaDefaults = ResponseOf<"quotaDefaultsGet">;

export type Operation = ResponseOf<"operationGet">;
export type OperationStatus = Operation["status"];

export type Instance = ResponseOf<"instanceGet">;
export type InstanceCreate = RequestBodyOf<"instanceCreate">;
export type InstanceStatus = Instance["status"];
export type InstanceListQuery = QueryOf<"instanceList">;
export type Flavor = ResponseOf<"flavorGet">;
export type FlavorCreate = RequestBodyOf<"flavorCreate">;
export type Zone = ResponseOf<"zoneGet">;
export type ZoneCreate = RequestBodyOf<"zoneCreate">;
export type Host = ResponseOf<"hostGet">;
export type HostCreate = RequestBodyOf<"hostCreate">;
export type HostUpdate = RequestBodyOf<"hostUpdate">;
export type PlacementGroup = ResponseOf<"placementGroupGet">;
export type PlacementGroupCreate = RequestBodyOf<"placementGroupCreate">;

export type Volume = ResponseOf<"volumeGet">;
export type VolumeCreate = RequestBodyOf<"volumeCreate">;
export type VolumeResize = RequestBodyOf<"volumeResize">;
export type VolumeAttach = RequestBodyOf<"volumeAttach">;
export type VolumeListQuery = QueryOf<"volumeList">;
export type Snapshot = ResponseOf<"snapshotGet">;
export type SnapshotCreate = RequestBodyOf<"snapshotCreate">;
export type StoragePool = ResponseOf<"storagePoolGet">;
export type StoragePoolCreate = RequestBodyOf<"storagePoolCreate">;
export type StoragePoolUpdate = RequestBodyOf<"storagePoolUpdate">;

export type Usage = ResponseOf<"usageGet">;
export type UsageQuery = QueryOf<"usageGet">;
export type Invoice = ResponseOf<"invoiceGet">;
export type InvoiceSummary = ItemOf<"invoiceList">;
export type InvoiceRun = ResponseOf<"invoiceRunGet">;
export type InvoiceRunCreate = RequestBodyOf<"invoiceRunCreate">;
export type PricePlan = ResponseOf<"pricePlanGet">;
export type PricePlanCreate = RequestBodyOf<"pricePlanCreate">;
export type AuditEvent = ItemOf<"auditEventList">;
export type ConsistencyReport = ResponseOf<"consistencyGet">;
