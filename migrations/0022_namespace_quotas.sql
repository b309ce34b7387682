CREATE TABLE `namespace_quotas` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`namespace_id` integer NOT NULL,
	`limit_bytes` integer NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`namespace_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `namespace_quotas_namespace_unique` ON `namespace_quotas` (`namespace_id`);--> statement-breakpoint
CREATE TABLE `quota_limits` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`quota_id` integer NOT NULL,
	`type` text NOT NULL,
	`threshold_percent` integer NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`quota_id`) REFERENCES `namespace_quotas`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `quota_limits_quota_idx` ON `quota_limits` (`quota_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `quota_limits_one_reject` ON `quota_limits` (`quota_id`) WHERE type = 'Reject';