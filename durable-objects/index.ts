// Class names match `class_name` in wrangler.toml.
export { EventStreamDO } from "./EventStreamDO";
export { LoginLimiterDO } from "./LoginLimiterDO";
export { RepositoryDO } from "./RepositoryDO";
export { UploadSessionDO } from "./UploadSessionDO";
export { ProxyBlobDO } from "./ProxyBlobDO";
export { FairUseDO } from "./FairUseDO";
export { MetricsDO } from "./MetricsDO";
