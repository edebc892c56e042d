import type { components, operations } from "./generated/schema.js";

/**
 * Named types for what the API takes and returns: the spec's component schemas, generated from
 * it, so they can never drift from it. The helpers below name the rest (query parameters, any
 * operation's request or answer body).
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

/** A component schema of the spec, by name: `Schema<"Instance">`. */
export type Schema<N extends keyof Schemas> = Schemas[N];

export type ProblemCode = Schemas["Problem"]["code"];
export type ProblemFieldError = Schemas["ProblemFieldError"];

export type Tenant = Schemas["Tenant"];
export type TenantCreate = Schemas["TenantCreate"];
export type TenantUpdate = Schemas["TenantUpdate"];
export type ServiceAccount = Schemas["ServiceAccount"];
export type ServiceAccountCreate = Schemas["ServiceAccountCreate"];
/** The create answer, the only one that shows the secret. */
export type ServiceAccountWithSecret = Schemas["ServiceAccountCreated"];
export type Quota = Schemas["QuotaList"]["items"][number];
export type QuotaList = Schemas["QuotaList"];
export type QuotaUpdate = Schemas["QuotaUpdate"];
export type QuotaDefaults = Schemas["QuotaDefaultList"];
export type Token = Schemas["Token"];
export type AuditEvent = Schemas["AuditEvent"];

export type Operation = Schemas["Operation"];
export type OperationStatus = Operation["status"];
export type OperationAccepted = Schemas["OperationAccepted"];

export type Instance = Schemas["Instance"];
export type InstanceCreate = Schemas["InstanceCreate"];
export type InstanceAccepted = Schemas["InstanceAccepted"];
export type InstanceStatus = Instance["status"];
export type InstanceListQuery = QueryOf<"instanceList">;
export type Flavor = Schemas["Flavor"];
export type FlavorCreate = Schemas["FlavorCreate"];
export type Zone = Schemas["Zone"];
export type ZoneCreate = Schemas["ZoneCreate"];
export type Host = Schemas["Host"];
export type HostCreate = Schemas["HostCreate"];
export type HostUpdate = Schemas["HostUpdate"];
export type PlacementGroup = Schemas["PlacementGroup"];
export type PlacementGroupCreate = Schemas["PlacementGroupCreate"];
export type PlacementSettings = Schemas["PlacementSettings"];
export type PlacementSettingsUpdate = Schemas["PlacementSettingsUpdate"];

export type Volume = Schemas["Volume"];
export type VolumeCreate = Schemas["VolumeCreate"];
export type VolumeAccepted = Schemas["VolumeAccepted"];
export type VolumeResize = Schemas["VolumeResize"];
export type VolumeAttach = Schemas["VolumeAttach"];
export type VolumeListQuery = QueryOf<"volumeList">;
export type Snapshot = Schemas["Snapshot"];
export type SnapshotCreate = Schemas["SnapshotCreate"];
export type SnapshotAccepted = Schemas["SnapshotAccepted"];
export type StoragePool = Schemas["StoragePool"];
export type StoragePoolCreate = Schemas["StoragePoolCreate"];
export type StoragePoolUpdate = Schemas["StoragePoolUpdate"];

export type Usage = Schemas["Usage"];
export type UsageQuery = QueryOf<"usageGet">;
export type Invoice = Schemas["Invoice"];
export type InvoiceSummary = ItemOf<"invoiceList">;
export type InvoiceRun = Schemas["InvoiceRun"];
export type InvoiceRunCreate = Schemas["InvoiceRunCreate"];
export type InvoiceRunAccepted = Schemas["InvoiceRunAccepted"];
export type PricePlan = Schemas["PricePlan"];
export type PricePlanCreate = Schemas["PricePlanCreate"];
export type PricePlanVersionCreate = Schemas["PricePlanVersionCreate"];
export type TenantPricePlan = Schemas["TenantPricePlan"];
export type ConsistencyReport = Schemas["ConsistencyReport"];
export type ConsistencyRepair = Schemas["ConsistencyRepair"];

export type Site = Schemas["Site"];
export type SiteCreate = Schemas["SiteCreate"];
export type EnergyReadingsBatch = Schemas["EnergyReadingsBatch"];
export type EnergyReadingsResult = Schemas["EnergyReadingsResult"];
export type EnergyReport = Schemas["EnergyReport"];
export type EnergyUsage = Schemas["EnergyUsage"];
export type EnergyQuery = QueryOf<"tenantEnergyGet">;
export type EnergyBalance = Schemas["EnergyBalance"];
export type EnergyBalanceQuery = QueryOf<"siteEnergyBalanceGet">;
export type EnergyMethodologyList = Schemas["EnergyMethodologyList"];
