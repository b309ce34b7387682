CREATE TABLE `build_log_entries` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`build_id` integer NOT NULL,
	`seq` integer NOT NULL,
	`entry` text NOT NULL,
	FOREIGN KEY (`build_id`) REFERENCES `repository_builds`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `build_log_entries_seq_unique` ON `build_log_entries` (`build_id`,`seq`);--> statement-breakpoint
CREATE TABLE `build_triggers` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`uuid` text NOT NULL,
	`repository_id` integer NOT NULL,
	`service` text NOT NULL,
	`is_active` integer DEFAULT false NOT NULL,
	`enabled` integer DEFAULT true NOT NULL,
	`disabled_reason` text,
	`connected_user_id` integer,
	`pull_robot_id` integer,
	`config` text DEFAULT '{}' NOT NULL,
	`public_key` text,
	`sealed_private_key` text,
	`sealed_secret` text,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`repository_id`) REFERENCES `repositories`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`connected_user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null,
	FOREIGN KEY (`pull_robot_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `build_triggers_uuid_unique` ON `build_triggers` (`uuid`);--> statement-breakpoint
CREATE INDEX `build_triggers_repository_idx` ON `build_triggers` (`repository_id`);--> statement-breakpoint
CREATE TABLE `connector_jobs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`uuid` text NOT NULL,
	`kind` text NOT NULL,
	`subject` text NOT NULL,
	`repository_id` integer,
	`state` text DEFAULT 'queued' NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`available_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	`connector_id` integer,
	`lease_token` text,
	`lease_expires_at` integer,
	`error` text,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`repository_id`) REFERENCES `repositories`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`connector_id`) REFERENCES `connectors`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `connector_jobs_uuid_unique` ON `connector_jobs` (`uuid`);--> statement-breakpoint
CREATE UNIQUE INDEX `connector_jobs_open_unique` ON `connector_jobs` (`kind`,`subject`) WHERE state in ('queued', 'leased');--> statement-breakpoint
CREATE INDEX `connector_jobs_state_idx` ON `connector_jobs` (`state`,`available_at`);--> statement-breakpoint
CREATE INDEX `connector_jobs_repository_idx` ON `connector_jobs` (`repository_id`);--> statement-breakpoint
CREATE INDEX `connector_jobs_connector_idx` ON `connector_jobs` (`connector_id`);--> statement-breakpoint
CREATE TABLE `connectors` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`uuid` text NOT NULL,
	`name` text NOT NULL,
	`token_hash` text NOT NULL,
	`kinds` text DEFAULT '["build","scan"]' NOT NULL,
	`created_by` integer,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	`last_seen_at` integer,
	`info` text DEFAULT '{}' NOT NULL,
	FOREIGN KEY (`created_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `connectors_uuid_unique` ON `connectors` (`uuid`);--> statement-breakpoint
CREATE UNIQUE INDEX `connectors_token_unique` ON `connectors` (`token_hash`);--> statement-breakpoint
CREATE TABLE `filedrops` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`uuid` text NOT NULL,
	`user_id` integer NOT NULL,
	`mime_type` text NOT NULL,
	`object_key` text NOT NULL,
	`size` integer,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	`expires_at` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `filedrops_uuid_unique` ON `filedrops` (`uuid`);--> statement-breakpoint
CREATE INDEX `filedrops_expiry_idx` ON `filedrops` (`expires_at`);--> statement-breakpoint
CREATE TABLE `manifest_scans` (
	`digest` text PRIMARY KEY NOT NULL,
	`status` text DEFAULT 'queued' NOT NULL,
	`indexer_state` text,
	`summary` text,
	`report_key` text,
	`error` text,
	`queued_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	`scanned_at` integer
);
--> statement-breakpoint
CREATE INDEX `manifest_scans_status_idx` ON `manifest_scans` (`status`);--> statement-breakpoint
CREATE TABLE `repository_builds` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`uuid` text NOT NULL,
	`repository_id` integer NOT NULL,
	`phase` text DEFAULT 'waiting' NOT NULL,
	`display_name` text NOT NULL,
	`job_config` text DEFAULT '{}' NOT NULL,
	`resource_key` text,
	`pull_robot_id` integer,
	`trigger_id` integer,
	`performer_id` integer,
	`started_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	`completed_at` integer,
	`error` text,
	`manifest_digests` text DEFAULT '[]' NOT NULL,
	`log_count` integer DEFAULT 0 NOT NULL,
	FOREIGN KEY (`repository_id`) REFERENCES `repositories`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`pull_robot_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null,
	FOREIGN KEY (`trigger_id`) REFERENCES `build_triggers`(`id`) ON UPDATE no action ON DELETE set null,
	FOREIGN KEY (`performer_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `repository_builds_uuid_unique` ON `repository_builds` (`uuid`);--> statement-breakpoint
CREATE INDEX `repository_builds_repository_idx` ON `repository_builds` (`repository_id`,`started_at`);--> statement-breakpoint
CREATE INDEX `repository_builds_trigger_idx` ON `repository_builds` (`trigger_id`);