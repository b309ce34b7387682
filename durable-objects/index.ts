// Class names match `class_name` in wrangler.toml.
export { RepositoryDO } from "./RepositoryDO";
export { UploadSessionDO } from "./UploadSessionDO";
