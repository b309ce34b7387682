CREATE TABLE `repo_mirror_configs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`repository_id` integer NOT NULL,
	`robot_user_id` integer,
	`is_enabled` integer DEFAULT true NOT NULL,
	`external_reference` text NOT NULL,
	`sealed_username` text,
	`sealed_password` text,
	`external_registry_config` text DEFAULT '{}' NOT NULL,
	`rule_value` text NOT NULL,
	`sync_interval` integer NOT NULL,
	`sync_start_date` integer,
	`sync_expiration_date` integer,
	`sync_retries_remaining` integer DEFAULT 3 NOT NULL,
	`sync_status` text DEFAULT 'NEVER_RUN' NOT NULL,
	`sync_transaction_id` text NOT NULL,
	`skopeo_timeout` integer DEFAULT 300 NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`repository_id`) REFERENCES `repositories`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`robot_user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `repo_mirror_configs_repository_unique` ON `repo_mirror_configs` (`repository_id`);--> statement-breakpoint
CREATE INDEX `repo_mirror_configs_due_idx` ON `repo_mirror_configs` (`sync_start_date`);--> statement-breakpoint
CREATE INDEX `repo_mirror_configs_robot_idx` ON `repo_mirror_configs` (`robot_user_id`);