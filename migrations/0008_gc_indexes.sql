CREATE INDEX `blobs_storage_key_idx` ON `blobs` (`storage_key`);--> statement-breakpoint
CREATE INDEX `manifests_digest_idx` ON `manifests` (`digest`);